"""Hostile version folders: refused before a byte is read, the old version serving, logged once.

The huge-``saved_model.pb`` reproduction runs against a real server process (its RSS is what is
at stake); the folder-shape rules run in-process with the poller's step called directly
(``MODEL_POLL_S=0``, as in ``test_hot_reload.py``).
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from tests.api.model_dirs import COMMITTED, FAST, TEXT, poll, put_version, states
from tests.api.servers import ROOT, run_server, wait_for

HUGE = "1500M"  # the red-team file: TensorFlow used to read it whole (5.3 GB peak RSS)


def _kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} for {pid}")


def huge_version(model_dir: Path, name: str, size: str = HUGE) -> Path:
    """A copy of v3 with a sparse ``saved_model.pb`` of ``size`` and a manifest that matches it."""
    staging = put_version(model_dir, f".{name}.copy")
    subprocess.run(["truncate", "-s", size, str(staging / "saved_model.pb")], check=True)
    subprocess.run(
        [sys.executable, "-m", "model_contract.manifest", str(staging)],
        cwd=ROOT, check=True, capture_output=True,
    )  # fmt: skip
    return staging.rename(model_dir / name)


def test_huge_saved_model_refused_unread(tmp_path: Path) -> None:
    model_dir = tmp_path / "models"
    model_dir.mkdir()
    put_version(model_dir, "3")
    env = {"MODEL_DIR": str(model_dir), "MODEL_POLL_S": "0.2", "XLA": "0", "WARMUP_BATCHES": "1"}
    with run_server(tmp_path, **env) as server, httpx.Client(base_url=server.url, timeout=30) as c:
        assert c.post("/predict", json={"text": TEXT}).status_code == 200
        pid = server.proc.pid
        before = _kib(pid, "VmRSS")
        huge_version(model_dir, "7")

        def refused() -> bool:
            rows = {v["version"]: v["state"] for v in c.get("/models").json()["versions"]}
            return str(rows.get("7", "")).startswith("failed")

        wait_for(refused, 120)
        time.sleep(1.0)  # five more polls: a failed version is not tried again
        growth_mib = (_kib(pid, "VmHWM") - before) / 1024
        print(f"peak RSS growth while refusing a {HUGE} saved_model.pb: {growth_mib:.1f} MiB")
        assert growth_mib < 50
        body = c.get("/models").json()
        assert body["default_version"] == "3"
        state = {v["version"]: v["state"] for v in body["versions"]}["7"]
        assert "saved_model.pb is 1,572,864,000 bytes" in state and "MODEL_MAX_GRAPH_BYTES" in state
        assert c.post("/predict", json={"text": TEXT}).json()["model_version"] == "3"
        errors = [line for line in server.log().splitlines() if " ERROR " in line]
        assert len(errors) == 1 and "model version 7 refused (still serving 3)" in errors[0]


@contextmanager
def app_errors(caplog: pytest.LogCaptureFixture) -> Iterator[list[logging.LogRecord]]:
    """ERROR records of the ``app`` logger (which does not propagate) while the block runs."""
    app_logger = logging.getLogger("app")
    app_logger.addHandler(caplog.handler)
    caplog.clear()
    records: list[logging.LogRecord] = []
    try:
        yield records
    finally:
        app_logger.removeHandler(caplog.handler)
        records += [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_folder_shape_limits(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    put_version(tmp_path, "3")
    settings = Settings(model_dir=tmp_path, model_max_files=64, **FAST)  # type: ignore[arg-type]
    with TestClient(create_app(settings)) as c:
        os.symlink("/usr/share", tmp_path / "50")  # outside MODEL_DIR: a whole tree, unread
        crowded = put_version(tmp_path, "40", manifest=True)
        for i in range(80):
            (crowded / f"extra-{i}").touch()
        (tmp_path / "39").symlink_to(tmp_path / "3")  # inside MODEL_DIR: served like a folder
        with app_errors(caplog) as errors:
            started = time.perf_counter()
            poll(c, 4)
            elapsed = time.perf_counter() - started
        seen = states(c)
        assert "symlink to a place outside MODEL_DIR" in seen["50"]
        assert "more than 64 entries (MODEL_MAX_FILES=64)" in seen["40"]
        assert seen["default"] == "39" and seen["39"] == "ready"
        assert sorted(r.getMessage().split(" refused")[0] for r in errors) == [
            "model version 40",
            "model version 50",
        ]
        assert elapsed < 10, f"4 polls took {elapsed:.1f} s"
        # Fixed (the extra files gone): its files changed, so it is tried again and served.
        for i in range(80):
            (crowded / f"extra-{i}").unlink()
        poll(c, 2)
        assert states(c) == {"40": "ready", "50": seen["50"], "default": "40"}


def test_symlink_inside_a_version_is_refused(tmp_path: Path) -> None:
    put_version(tmp_path, "3")
    v4 = put_version(tmp_path, "4")
    (v4 / "word_index.json").unlink()
    (v4 / "word_index.json").symlink_to(COMMITTED / "3" / "word_index.json")
    with TestClient(create_app(Settings(model_dir=tmp_path, **FAST))) as c:  # type: ignore[arg-type]
        seen = states(c)
        assert seen["default"] == "3" and "holds a symlink ('word_index.json')" in seen["4"]
