"""Several model versions and hot reload, in-process with the real committed models.

``MODEL_POLL_S=0`` here: each test runs the poller's step (``ModelRegistry.reconcile``) itself on
the app's event loop, so every rule is checked deterministically. The same behaviour under load
against a real uvicorn process is ``test_hot_swap.py``. XLA off: loads take ~2 s instead of ~8 s.
"""

from __future__ import annotations

import logging
import shutil
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from app.metrics import ServiceMetrics
from app.model_server import Runner
from app.service import Runtime, default_runner_factory
from model_contract.manifest import MANIFEST_FILE, manifest_sha256
from tests.api.conftest import metric_samples, sample

COMMITTED = Settings().resolved_model_dir()
TEXT = "A wonderful, moving film with brilliant performances. I loved every minute of it."
FAST = {"xla": False, "warmup_batches": 1, "model_poll_s": 0}


def put_version(model_dir: Path, name: str, source: int = 3, manifest: bool = True) -> Path:
    """A copy of committed version ``source`` as ``model_dir/name``, appearing atomically."""
    staging = model_dir / f".{name}.staging"
    shutil.copytree(COMMITTED / str(source), staging)
    if not manifest:
        (staging / MANIFEST_FILE).unlink()
    return staging.rename(model_dir / name)


def runtime(client: TestClient) -> Runtime:
    rt: Runtime = client.app.state.runtime  # type: ignore[attr-defined]
    return rt


def poll(client: TestClient, times: int = 1) -> None:
    for _ in range(times):
        client.portal.call(runtime(client).models.reconcile)  # type: ignore[union-attr]


def states(client: TestClient) -> dict[str, str]:
    body = client.get("/models").json()
    return {v["version"]: v["state"] for v in body["versions"]} | {
        "default": body["default_version"]
    }


def reloads(client: TestClient) -> dict[str, float]:
    samples = metric_samples(client)
    return {
        r: sample(samples, "sentiment_model_reloads_total", result=r)
        for r in ("loaded", "failed", "unloaded")
    }


@pytest.fixture(scope="module")
def two_versions() -> Iterator[TestClient]:
    with TestClient(create_app(Settings(model_versions="2,3", **FAST))) as c:  # type: ignore[arg-type]
        yield c


def test_models_lists_versions_and_the_default(two_versions: TestClient) -> None:
    body = two_versions.get("/models").json()
    assert body["default_version"] == "3" and body["policy"] == "2,3" and body["poll_s"] == 0
    assert [v["version"] for v in body["versions"]] == ["3", "2"]
    for row in body["versions"]:
        assert row["state"] == "ready" and row["default"] is (row["version"] == "3")
        assert len(row["manifest_sha256"]) == 64 and len(row["tokenizer_fingerprint"]) == 64
        assert 0.8 < row["test_accuracy"] < 1
    assert two_versions.get("/model").json()["version"] == "3"
    assert two_versions.get("/readyz").status_code == 200
    samples = metric_samples(two_versions)
    assert sample(samples, "sentiment_model_info", version="3", device="/CPU:0") == 1
    assert sample(samples, "sentiment_model_info", version="2", device="/CPU:0") == 0


@pytest.mark.parametrize(
    "route", ["/predict", "/predict/probability", "/predict/label", "/explain"]
)
def test_a_request_can_pin_a_version(two_versions: TestClient, route: str) -> None:
    answers = {}
    for pin in (None, "2", "3"):
        body: dict[str, Any] = {"text": TEXT} | ({} if pin is None else {"model_version": pin})
        response = two_versions.post(route, json=body)
        assert response.status_code == 200, response.text
        answers[pin] = response.json()
    assert answers[None]["model_version"] == answers["3"]["model_version"] == "3"
    assert answers["2"]["model_version"] == "2"
    assert answers[None] == answers["3"]
    if "probability" in answers["2"]:  # really scored by another model
        assert abs(answers["2"]["probability"] - answers["3"]["probability"]) > 1e-3
    batch = two_versions.post(route, json={"texts": [TEXT, "awful"], "model_version": "2"})
    if route != "/explain":
        assert batch.status_code == 200 and batch.json()["model_version"] == "2"


@pytest.mark.parametrize("route", ["/predict", "/predict/label", "/explain"])
def test_unloaded_version_is_404_naming_the_loaded_ones(
    two_versions: TestClient, route: str
) -> None:
    before = metric_samples(two_versions)
    response = two_versions.post(route, json={"text": TEXT, "model_version": "1"})
    assert response.status_code == 404
    assert response.json() == {
        "detail": "model version 1 is not loaded; loaded: 2, 3",
        "code": "model_version_not_loaded",
    }
    after = metric_samples(two_versions)
    reason = {"reason": "model_version_not_loaded"}
    assert sample(after, "sentiment_rejected_total", **reason) == (
        sample(before, "sentiment_rejected_total", **reason) + 1
    )
    assert two_versions.get("/no/such/path").json()["code"] == "not_found"  # a plain 404


@pytest.mark.parametrize("pin", ["abc", "0", "02", "", "1" * 10, 2, True, 2.0, -1, None, ["2"]])
def test_malformed_version_is_422(two_versions: TestClient, pin: Any) -> None:
    body = {"text": TEXT, "model_version": pin}
    response = two_versions.post("/predict", json=body)
    if pin is None:  # JSON null: the same as leaving it out
        assert response.status_code == 200
        return
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["loc"] == ["body", "model_version"]


def test_startup_skips_a_broken_highest_version(tmp_path: Path) -> None:
    put_version(tmp_path, "2", source=2)
    broken = put_version(tmp_path, "3")
    (broken / "word_index.json").write_text("{}")  # no longer matches the manifest
    with TestClient(create_app(Settings(model_dir=tmp_path, **FAST))) as c:  # type: ignore[arg-type]
        seen = states(c)
        assert seen["default"] == "2" and seen["2"] == "ready"
        assert seen["3"].startswith("failed: ") and "word_index.json" in seen["3"]
        assert reloads(c) == {"loaded": 1, "failed": 1, "unloaded": 0}
        poll(c, 3)  # unchanged files: not tried again
        assert reloads(c)["failed"] == 1


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
        late = c.post("/predict", json={"text": TEXT, "model_version": "2"})
        assert late.status_code == 404 and late.json()["code"] == "model_version_not_loaded"
        assert states(c)["2"] == "draining"
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
