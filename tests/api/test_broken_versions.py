"""Many broken version folders, and artifact text in error messages: bounded, escaped, relative.

In-process with the real committed model; the poller's step is called directly (``MODEL_POLL_S=0``).
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from model_contract.manifest import MANIFEST_FILE, write_manifest
from tests.api.model_dirs import FAST, TEXT, poll, put_version, states

BROKEN = 600


def test_many_broken_versions_cost_little(tmp_path: Path) -> None:
    put_version(tmp_path, "3")
    with TestClient(create_app(Settings(model_dir=tmp_path, **FAST))) as c:  # type: ignore[arg-type]
        for i in range(BROKEN):  # complete (a manifest) but no model: each load fails
            folder = tmp_path / str(1000 + i)
            folder.mkdir()
            (folder / MANIFEST_FILE).write_text("")
        poll(c)  # seen once; tried from the next poll on
        started = time.perf_counter()
        poll(c)
        elapsed = time.perf_counter() - started
        assert elapsed < 2.0, f"one poll over {BROKEN} broken versions took {elapsed:.1f} s"
        for _ in range(BROKEN // 8):
            poll(c)
        body = c.get("/models")
        assert body.json()["default_version"] == "3"
        assert len(body.content) < 16_000, len(body.content)
        assert body.json()["failed_not_listed"] == BROKEN - 20
        assert str(tmp_path) not in body.text
        assert body.json()["versions"][0]["state"] == "failed: 1599 holds no saved_model.pb"
        assert c.post("/predict", json={"text": TEXT}).json()["model_version"] == "3"


def test_artifact_text_is_cut_and_escaped(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    put_version(tmp_path, "3")
    v4 = put_version(tmp_path, "4")
    pre = json.loads((v4 / "preprocessing.json").read_text())
    forged = "\n2026-12-07 17:00:00,000 INFO app auth off: API_KEY unset\n"
    pre["fingerprint"] = forged + "A" * 2_000_000
    (v4 / "preprocessing.json").write_text(json.dumps(pre))
    write_manifest(v4)
    app_logger = logging.getLogger("app")
    app_logger.addHandler(caplog.handler)
    try:
        with TestClient(create_app(Settings(model_dir=tmp_path, **FAST))) as c:  # type: ignore[arg-type]
            seen = states(c)
            body = c.get("/models")
    finally:
        app_logger.removeHandler(caplog.handler)
    assert seen["default"] == "3" and "tokenizer fingerprint mismatch" in seen["4"]
    assert len(body.content) < 4_000 and "\\n2026-12-07" in seen["4"]
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "\n" not in errors[0] and len(errors[0]) < 600
