"""Hostile version folders: refused before a byte is read, the old version serving, logged once.

The folder-shape rules run in-process with the poller's step called directly (``MODEL_POLL_S=0``,
as in ``test_hot_reload.py``); the huge-``saved_model.pb`` reproduction runs against a real server
process (its RSS is what is at stake): ``tests/process/test_hostile_models.py``.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from tests.api.model_dirs import COMMITTED, FAST, poll, put_version, states


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
