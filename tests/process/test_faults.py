"""Injected faults against a real server (``app/chaos.py``) and the wedge watchdog (``app/watchdog.py``).

- a model call that raises: that batch's request gets a clean 500 ``inference_failed``, the next
  request is served, ``sentiment_batch_errors_total`` counts one;
- a model call that hangs: ``/readyz`` 503 ``wedged`` after ``WEDGED_READY_S``, ``/healthz`` 503
  and the process exits (code 70) after ``WEDGED_EXIT_S`` (bounds measured, asserted loosely);
- the production app ignores the cue files and ``FAULT_DIR`` altogether.
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from app.watchdog import EXIT_CODE
from tests.process.servers import metric, run_server

pytestmark = pytest.mark.process
CHAOS = ("--app", "app.chaos:app")


def test_a_model_call_that_raises_fails_its_batch_only(tmp_path: Path) -> None:
    faults = tmp_path / "faults"
    with run_server(tmp_path, *CHAOS, FAULT_DIR=str(faults)) as server:
        assert "FAULT INJECTION ENABLED" in server.log()
        (faults / "raise_once").touch()
        failed = httpx.post(f"{server.url}/predict", json={"text": "a fine film"}, timeout=30)
        served = httpx.post(f"{server.url}/predict", json={"text": "a fine film"}, timeout=30)
        metrics = httpx.get(f"{server.url}/metrics").text
    assert failed.status_code == 500, failed.text
    assert failed.json()["code"] == "inference_failed"
    assert served.status_code == 200
    assert metric(metrics, "sentiment_batch_errors_total") == 1


def test_a_wedged_model_call_turns_readiness_then_liveness_off_and_ends_the_process(
    tmp_path: Path,
) -> None:
    faults = tmp_path / "faults"
    env = {"FAULT_DIR": str(faults), "WEDGED_READY_S": "2", "WEDGED_EXIT_S": "6",
           "REQUEST_TIMEOUT_S": "3"}  # fmt: skip
    with run_server(tmp_path, *CHAOS, **env) as server:
        (faults / "wedge").touch()
        started = time.monotonic()
        stuck = httpx.post(f"{server.url}/predict", json={"text": "a fine film"}, timeout=30)
        assert stuck.status_code == 504, stuck.text  # the request's own deadline
        ready_off = live_off = None
        while server.proc.poll() is None and time.monotonic() - started < 30:
            try:
                if ready_off is None and httpx.get(f"{server.url}/readyz").status_code == 503:
                    ready_off = time.monotonic() - started
                if live_off is None and httpx.get(f"{server.url}/healthz").status_code == 503:
                    live_off = time.monotonic() - started
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        exited = time.monotonic() - started
        code = server.proc.wait(timeout=5)
        log = server.log()
    assert code == EXIT_CODE, log[-2000:]
    assert ready_off is not None and 2 <= ready_off <= 4.5, ready_off  # 3 s of it: the 504 above
    assert exited <= 9, exited  # WEDGED_EXIT_S + the once-a-second check + slack
    assert "wedged; readiness 503" in log and "exiting so that the orchestrator" in log


def test_the_production_app_never_reads_the_cue_files(tmp_path: Path) -> None:
    faults = tmp_path / "faults"
    faults.mkdir()
    (faults / "raise_once").touch()
    with run_server(tmp_path, FAULT_DIR=str(faults)) as server:
        answer = httpx.post(f"{server.url}/predict", json={"text": "a fine film"}, timeout=30)
        assert "FAULT INJECTION" not in server.log()
    assert answer.status_code == 200
    assert (faults / "raise_once").exists()
