"""Hot reload in-process with the real committed models (app/model_registry.py, version_scan.py).

``MODEL_POLL_S=0`` here: each test runs the poller's step (``ModelRegistry.reconcile``) itself on
the app's event loop, so every rule is checked deterministically. The same behaviour under load
against a real uvicorn process is ``tests/process/test_hot_swap.py``. XLA off: loads take ~2 s instead of ~8 s.
"""

from __future__ import annotations

import gc
import logging
import shutil
import threading
import time
import weakref
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.explain.gradient import explainers
from app.main import create_app
from app.metrics import ServiceMetrics
from app.model_server import Runner
from app.service import default_runner_factory
from model_contract.manifest import MANIFEST_FILE, manifest_sha256
from tests.api.conftest import metric_samples, sample
from tests.api.model_dirs import COMMITTED, FAST, TEXT, poll, put_version, reloads, runtime, states


def test_hot_reload_rules(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    put_version(tmp_path, "2", source=2)
    with TestClient(create_app(Settings(model_dir=tmp_path, **FAST))) as c:  # type: ignore[arg-type]
        assert states(c) == {"2": "ready", "default": "2"}
        # Incomplete (no manifest yet): ignored, however often we look.
        v3 = put_version(tmp_path, "3", manifest=False)
        poll(c, 3)
        assert states(c) == {"2": "ready", "default": "2"}
        # The manifest arrives: loaded once its files held still for one poll.
        shutil.copy(COMMITTED / "3" / MANIFEST_FILE, v3 / MANIFEST_FILE)
        poll(c)
        assert states(c)["default"] == "2"
        poll(c)
        assert states(c) == {"3": "ready", "default": "3"}  # v2 drained, unloaded (latest)
        assert reloads(c) == {"loaded": 2, "failed": 0, "unloaded": 1}
        samples = metric_samples(c)
        assert sample(samples, "sentiment_model_info", version="3", device="/CPU:0") == 1
        assert sample(samples, "sentiment_model_info", version="2", device="/CPU:0") == 0
        # A broken new version: one error line, failed in /models, the old one keeps serving.
        v4 = put_version(tmp_path, "4")
        good = (v4 / "saved_model.pb").read_bytes()
        (v4 / "saved_model.pb").write_bytes(good[:-100])
        app_logger = logging.getLogger("app")  # does not propagate (app/logging_setup.py)
        app_logger.addHandler(caplog.handler)
        try:
            caplog.clear()
            poll(c, 2)
        finally:
            app_logger.removeHandler(caplog.handler)
        seen = states(c)
        assert seen["default"] == "3" and seen["4"].startswith("failed: ")
        assert "saved_model.pb" in seen["4"]
        errors = [r for r in caplog.records if r.levelname == "ERROR"]
        assert len(errors) == 1 and "model version 4 refused (still serving 3)" in errors[0].message
        assert c.post("/predict", json={"text": TEXT}).json()["model_version"] == "3"
        poll(c, 3)
        assert reloads(c) == {"loaded": 2, "failed": 1, "unloaded": 1}  # not retried
        # Repaired (its files changed): tried again, and served.
        (v4 / "saved_model.pb").write_bytes(good)
        poll(c, 2)
        assert states(c) == {"4": "ready", "default": "4"}
        assert reloads(c) == {"loaded": 3, "failed": 1, "unloaded": 2}
        # The last ready version is never unloaded, even when its folder goes.
        for name in ("2", "3", "4"):
            shutil.rmtree(tmp_path / name)
        poll(c, 2)
        assert states(c) == {"4": "ready", "default": "4"}
        assert c.get("/readyz").status_code == 200
        assert c.post("/predict", json={"text": TEXT}).status_code == 200


class GatedRunner:
    """The real runner, whose model calls can be held at a gate (one per version)."""

    def __init__(self, inner: Runner) -> None:
        self.inner, self.device, self.xla = inner, inner.device, inner.xla
        self.kernel = inner.kernel
        self.gate = threading.Event()
        self.gate.set()
        self.entered = threading.Event()

    def predict(self, ids: np.ndarray) -> np.ndarray:
        self.entered.set()
        assert self.gate.wait(30)
        return self.inner.predict(ids)

    def warmup(self) -> None:
        self.inner.warmup()


def test_removed_version_finishes_accepted_work_and_404s_new_pins(tmp_path: Path) -> None:
    put_version(tmp_path, "2", source=2)
    put_version(tmp_path, "3")
    settings = Settings(model_dir=tmp_path, model_versions="latest:2", **FAST)  # type: ignore[arg-type]
    runners: dict[str, GatedRunner] = {}

    def factory(path: Path, maxlen: int) -> Runner:
        runners[path.name] = GatedRunner(default_runner_factory(settings)(path, maxlen))
        return runners[path.name]

    with TestClient(create_app(settings, runner_factory=factory)) as c, ThreadPoolExecutor(1) as ex:
        runners["2"].gate.clear()
        runners["2"].entered.clear()
        pinned = ex.submit(c.post, "/predict", json={"text": TEXT, "model_version": "2"})
        assert runners["2"].entered.wait(30)  # in the model call of version 2
        shutil.rmtree(tmp_path / "2")
        unloading = c.portal.start_task_soon(runtime(c).models.reconcile)  # type: ignore[union-attr]
        deadline = time.monotonic() + 30  # the reconcile task runs on the app's loop: wait for it
        while states(c).get("2") != "draining":
            assert time.monotonic() < deadline, states(c)
            time.sleep(0.01)
        late = c.post("/predict", json={"text": TEXT, "model_version": "2"})
        assert late.status_code == 404 and late.json()["code"] == "model_version_not_loaded"
        assert c.post("/predict", json={"text": TEXT}).json()["model_version"] == "3"
        runners["2"].gate.set()
        accepted = pinned.result(30)
        assert accepted.status_code == 200 and accepted.json()["model_version"] == "2"
        unloading.result(30)
        assert states(c) == {"3": "ready", "default": "3"}


def test_sigterm_drain_covers_every_version() -> None:
    with TestClient(create_app(Settings(model_versions="2,3", **FAST))) as c:  # type: ignore[arg-type]
        rt = runtime(c)
        servers = [rt.models.get("2"), rt.models.get("3")]
        rt.begin_drain()  # as the SIGTERM handler does (SHUTDOWN_DELAY_S: still answering)
        assert c.get("/readyz").status_code == 503
        for pin in ("2", "3", None):
            response = c.post("/predict", json={"text": TEXT, "model_version": pin})
            assert response.status_code == 200
        assert {s.state for s in servers if s} == {"draining"}
    assert {s.state for s in servers if s} == {"stopped"}  # the lifespan drained both


def test_queue_depth_is_the_sum_over_versions() -> None:
    metrics = ServiceMetrics()
    v2, v3 = metrics.for_version("2"), metrics.for_version("3")
    v2.on_depth(3)
    v3.on_depth(4)
    assert metrics.registry.get_sample_value("sentiment_queue_depth") == 7
    metrics.set_depth("2", None)  # version 2 unloaded
    assert metrics.registry.get_sample_value("sentiment_queue_depth") == 4


def test_model_sha256_pins_one_artifact(tmp_path: Path) -> None:
    put_version(tmp_path, "2", source=2)
    put_version(tmp_path, "3")
    pin = manifest_sha256(tmp_path / "2")
    settings = Settings(model_dir=tmp_path, model_sha256=pin, **FAST)  # type: ignore[arg-type]
    with TestClient(create_app(settings)) as c:
        seen = states(c)  # latest: the highest version that matches the pin
        assert seen["default"] == "2" and "MODEL_SHA256" in seen["3"]
        put_version(tmp_path, "4")
        poll(c, 2)
        seen = states(c)
        assert seen["default"] == "2" and "MODEL_SHA256" in seen["4"]
        assert reloads(c) == {"loaded": 1, "failed": 2, "unloaded": 0}


def test_an_unreadable_model_dir_changes_nothing(tmp_path: Path) -> None:
    model_dir = tmp_path / "models"
    model_dir.mkdir()
    put_version(model_dir, "2", source=2)
    put_version(model_dir, "3")
    settings = Settings(model_dir=model_dir, model_versions="latest:2", **FAST)  # type: ignore[arg-type]
    with TestClient(create_app(settings)) as c:
        model_dir.rename(tmp_path / "away")  # a volume gone away is not "every version removed"
        with pytest.raises(FileNotFoundError):
            poll(c)
        assert states(c) == {"3": "ready", "2": "ready", "default": "3"}
        (tmp_path / "away").rename(model_dir)
        poll(c, 2)
        assert states(c) == {"3": "ready", "2": "ready", "default": "3"}


def test_an_unloaded_version_drops_its_gradient_explainer(tmp_path: Path) -> None:
    put_version(tmp_path, "2", source=2)
    put_version(tmp_path, "3")
    opts = {**FAST, "model_dir": tmp_path, "model_versions": "latest:2"}
    settings = Settings(**opts, explain_gradient_versions=2)  # type: ignore[arg-type]
    with TestClient(create_app(settings)) as c:
        body = {"text": TEXT, "method": "gradient", "model_version": "2"}
        assert c.post("/explain", json=body).json()["model_version"] == "2"
        (v2,) = explainers(c.app)  # type: ignore[arg-type]
        made = v2.explainer.result()  # type: ignore[union-attr]
        thread, server = made._batcher.thread, weakref.ref(v2)  # type: ignore[union-attr]
        del v2, made
        shutil.rmtree(tmp_path / "2")
        poll(c)  # no /explain after it: the unload alone frees the explainer and the model
        assert states(c) == {"3": "ready", "default": "3"}
        assert explainers(c.app) == {}  # type: ignore[arg-type]
        assert thread is not None and not thread.is_alive()
        gc.collect()
        assert server() is None, gc.get_referrers(server())
        body = {"text": TEXT, "method": "gradient"}
        assert c.post("/explain", json=body).json()["model_version"] == "3"
        assert [s.version for s in explainers(c.app)] == ["3"]  # type: ignore[arg-type]
