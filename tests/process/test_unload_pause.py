"""Unloading a model version does not stop the event loop: no full garbage collection at a swap.

A real server under a steady trickle of ``/predict`` swaps versions 2 -> 3 -> 2 (folders renamed
in and out of ``MODEL_DIR``). Each unload logs the time its collection held the event loop
(``collected in X ms``): the old code unfroze every object (TensorFlow's ~370k) and collected them
all, 150-900 ms per unload; now only the generations holding the model versions are collected
(~5 ms on the 2-core box). The bound asserted is 50 ms, not the 20 ms docs/reliability.md states
from ``bench.swap_lag``, so that a loaded CI machine descheduling the process for a moment does
not fail it; the old behaviour fails it on every unload. The loop-lag metric is checked too: it is
exported, and its samples taken while unloading stay under 100 ms.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.api.model_dirs import COMMITTED
from tests.process.servers import metric, run_server

pytestmark = pytest.mark.process
LAG = "sentiment_event_loop_lag_seconds_bucket"


def _wait_versions(url: str, versions: list[str], limit: float = 120.0) -> None:
    deadline = time.monotonic() + limit
    while [v["version"] for v in httpx.get(f"{url}/models").json()["versions"]] != versions:
        assert time.monotonic() < deadline, httpx.get(f"{url}/models").json()
        time.sleep(0.05)


def _over(text: str, seconds: str) -> float:
    """Loop-lag samples above ``seconds`` (a bucket bound) so far."""
    return metric(text, LAG, le="+Inf") - metric(text, LAG, le=seconds)


def test_an_unload_holds_the_event_loop_briefly(tmp_path: Path) -> None:
    model_dir = tmp_path / "models"
    shutil.copytree(COMMITTED / "2", model_dir / "2")
    shutil.copytree(COMMITTED / "3", model_dir / ".3")
    with run_server(tmp_path, MODEL_DIR=str(model_dir), MODEL_POLL_S="0.2") as server:
        stop, statuses = threading.Event(), []

        def trickle() -> None:
            with httpx.Client(base_url=server.url, timeout=60) as client:
                while not stop.is_set():
                    statuses.append(client.post("/predict", json={"text": "fine film"}).status_code)
                    time.sleep(0.01)

        thread = threading.Thread(target=trickle)
        thread.start()
        try:
            over_unloading = 0.0
            for src, dst, left in ((".3", "3", "3"), ("3", ".3", "2")):
                os.rename(model_dir / src, model_dir / dst)
                deadline = time.monotonic() + 120
                while httpx.get(f"{server.url}/models").json()["default_version"] != left:
                    assert time.monotonic() < deadline
                    time.sleep(0.02)
                before = httpx.get(f"{server.url}/metrics").text  # loaded: only the unload is left
                _wait_versions(server.url, [left])
                time.sleep(0.3)
                over_unloading += _over(httpx.get(f"{server.url}/metrics").text, "0.1")
                over_unloading -= _over(before, "0.1")
        finally:
            stop.set()
            thread.join()
        log = server.log()
    pauses = [float(ms) for ms in re.findall(r"collected in ([\d.]+) ms on the event loop", log)]
    assert len(pauses) == 2, log[-3000:]
    assert max(pauses) < 50.0, pauses
    assert over_unloading == 0, "the event loop stopped for over 100 ms while unloading"
    assert statuses and set(statuses) == {200}, set(statuses)
