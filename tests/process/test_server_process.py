"""A real ``uvicorn app.main:app`` subprocess: overload (503 + Retry-After), SIGTERM drain,
clients disconnecting mid-batch, and /metrics aggregated over two workers.

Everything is bounded by timeouts; assertions are on counts and outcomes, never on speed.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
import time
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.process.servers import (
    START_TIMEOUT_S,
    children,
    group_alive,
    metric,
    post,
    run_server,
)

pytestmark = [
    pytest.mark.process,
    pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals"),
]


def test_full_queue_answers_503_with_retry_after(tmp_path: Path) -> None:
    # Batches of up to 4 are held open 500 ms, but the queue holds only 2 texts: a burst of 20
    # fills it at once and everything beyond must be refused immediately, not queued or hung.
    env = {"MAX_BATCH_SIZE": "4", "MAX_QUEUE_SIZE": "2", "MAX_TEXTS_PER_REQUEST": "2",
           "MAX_BATCH_DELAY_MS": "500"}  # fmt: skip
    with run_server(tmp_path, **env) as server:

        async def burst() -> list[httpx.Response | str]:
            limits = httpx.Limits(max_connections=50)
            async with httpx.AsyncClient(timeout=60, limits=limits) as client:
                jobs = [
                    post(client, f"{server.url}/predict", f"film {i}", f"q{i}") for i in range(20)
                ]
                return await asyncio.gather(*jobs)

        results = asyncio.run(burst())
        responses = [r for r in results if isinstance(r, httpx.Response)]
        assert len(responses) == 20, results
        statuses = [r.status_code for r in responses]
        assert set(statuses) <= {200, 503}
        assert statuses.count(200) >= 1
        refused = [r for r in responses if r.status_code == 503]
        assert refused, "a full queue must refuse"
        for r in refused:
            assert r.headers["retry-after"] == "1"
            assert r.json()["code"] == "queue_full"
        metrics = httpx.get(f"{server.url}/metrics", timeout=10).text
        assert metric(metrics, "sentiment_rejected_total", reason="queue_full") == len(refused)
        assert metric(metrics, "sentiment_requests_total", route="/predict", status="503") == len(
            refused
        )


def test_sigterm_during_burst_loses_no_accepted_request(tmp_path: Path) -> None:
    # A long batch window keeps the whole first wave queued inside the server when SIGTERM lands.
    env = {"MAX_BATCH_SIZE": "64", "MAX_QUEUE_SIZE": "256", "MAX_BATCH_DELAY_MS": "5000",
           "LOG_LEVEL": "debug"}  # fmt: skip
    n_first, n_second = 50, 20
    with run_server(tmp_path, **env) as server:

        async def scenario() -> tuple[
            list[httpx.Response | str], list[httpx.Response | str], object
        ]:
            limits = httpx.Limits(max_connections=100)
            async with (
                httpx.AsyncClient(timeout=60, limits=limits) as client,
                httpx.AsyncClient(timeout=10) as probe,
            ):
                first = [
                    asyncio.create_task(
                        post(client, f"{server.url}/predict", f"great {i}", f"A{i}")
                    )
                    for i in range(n_first)
                ]
                deadline = time.monotonic() + 30
                while True:  # every first-wave text is queued inside the server
                    text = (await probe.get(f"{server.url}/metrics")).text
                    if metric(text, "sentiment_queue_depth") == n_first:
                        break
                    assert time.monotonic() < deadline, "first wave never fully queued"
                    await asyncio.sleep(0.02)
                server.proc.send_signal(signal.SIGTERM)
                try:  # readiness flips at once (or the connection is already being closed)
                    ready: object = (await probe.get(f"{server.url}/readyz")).status_code
                except httpx.TransportError as exc:
                    ready = type(exc).__name__
                async with httpx.AsyncClient(timeout=10) as late:
                    second = await asyncio.gather(
                        *(
                            post(late, f"{server.url}/predict", f"late {i}", f"B{i}")
                            for i in range(n_second)
                        )
                    )
                return list(await asyncio.gather(*first)), list(second), ready

        first, second, ready = asyncio.run(asyncio.wait_for(scenario(), 120))
        assert server.proc.wait(60) == 0, server.log()[-3000:]
        log = server.log()

    assert ready != 200
    # Every request of the first wave was accepted before SIGTERM: all must be answered.
    assert [r.status_code if isinstance(r, httpx.Response) else r for r in first] == [200] * n_first
    # Late requests may be refused (connection level or 503), but any that reached the app
    # (logged on arrival) must have been answered.
    received = set(re.findall(r"request received id=(B\d+)", log))
    for i, outcome in enumerate(second):
        if f"B{i}" in received:
            assert isinstance(outcome, httpx.Response), (f"B{i}", outcome)
        if isinstance(outcome, httpx.Response):
            assert outcome.status_code in (200, 503), outcome.text
    assert "draining" in log
    assert "shutdown complete" in log
    assert "great 1" not in log  # review text is never logged, even at debug level


def test_clients_disconnecting_mid_batch_do_not_break_it(tmp_path: Path) -> None:
    # One long batch window holds 20 requests in the queue; half the clients hang up while
    # queued. The batch they were in still runs, and everyone who stayed gets the right answer.
    env = {"MAX_BATCH_SIZE": "64", "MAX_BATCH_DELAY_MS": "3000"}
    n = 10
    texts = [f"A wonderful, moving film with brilliant performances, take {i}." for i in range(n)]
    with run_server(tmp_path, **env) as server:
        url = f"{server.url}/predict"

        async def scenario() -> list[httpx.Response | str]:
            limits = httpx.Limits(max_connections=50)
            async with (
                httpx.AsyncClient(timeout=60, limits=limits) as stay,
                httpx.AsyncClient(timeout=60, limits=limits) as leave,
                httpx.AsyncClient(timeout=10) as probe,
            ):
                stayers = [
                    asyncio.create_task(post(stay, url, text, f"S{i}"))
                    for i, text in enumerate(texts)
                ]
                leavers = [
                    asyncio.create_task(post(leave, url, f"a dreadful bore {i}", f"L{i}"))
                    for i in range(n)
                ]
                deadline = time.monotonic() + 30
                while True:
                    depth = metric((await probe.get(f"{server.url}/metrics")).text,
                                    "sentiment_queue_depth")  # fmt: skip
                    if depth == 2 * n:
                        break
                    assert time.monotonic() < deadline, "requests never queued"
                    await asyncio.sleep(0.02)
                for task in leavers:  # closes their connections while the batch is still open
                    task.cancel()
                await asyncio.gather(*leavers, return_exceptions=True)
                return list(await asyncio.gather(*stayers))

        stayed = asyncio.run(asyncio.wait_for(scenario(), 120))
        assert [r.status_code if isinstance(r, httpx.Response) else r for r in stayed] == [200] * n
        # The same answers as an undisturbed request for the same texts.
        alone = httpx.post(url, json={"texts": texts}, timeout=30).json()["predictions"]
        for response, expected in zip(stayed, alone, strict=True):
            assert isinstance(response, httpx.Response)
            assert response.json()["label"] == expected["label"]
            assert abs(response.json()["probability"] - expected["probability"]) < 1e-5
        assert httpx.get(f"{server.url}/readyz", timeout=10).status_code == 200
        metrics = httpx.get(f"{server.url}/metrics", timeout=10).text
        assert metric(metrics, "sentiment_requests_total", route="/predict", status="500") == 0
        log = server.log()
    assert "Traceback" not in log and "ERROR" not in log, log[-3000:]


def test_two_workers_metrics_aggregate_across_processes(tmp_path: Path) -> None:
    # PROMETHEUS_MULTIPROC_DIR + --workers 2: whichever worker answers the scrape, /metrics
    # reports the sum over both (each request on a new connection, so both workers serve).
    metrics_dir = tmp_path / "prom"
    metrics_dir.mkdir()
    n = 40
    with run_server(
        tmp_path, "--workers", "2", PROMETHEUS_MULTIPROC_DIR=str(metrics_dir)
    ) as server:
        supervisor = server.proc.pid
        workers = children(supervisor)
        deadline = time.monotonic() + START_TIMEOUT_S
        # Both workers past warm-up: each sets its sentiment_model_info series when ready, and
        # the aggregated scrape shows them all (20 readiness 200s in a row could all come from
        # the first worker on a loaded machine).
        while len(_model_info_pids(httpx.get(f"{server.url}/metrics", timeout=10).text)) < 2:
            assert time.monotonic() < deadline, server.log()[-3000:]
            time.sleep(0.1)
        labels = []
        for i in range(n):
            r = httpx.post(f"{server.url}/predict", json={"text": f"great fun {i}"}, timeout=30)
            assert r.status_code == 200, r.text
            labels.append(r.json()["label"])
        for _ in range(5):  # every scrape, from either worker, sees both workers' counts
            text = httpx.get(f"{server.url}/metrics", timeout=10).text
            assert metric(text, "sentiment_requests_total", route="/predict", status="200") == n
            by_label = sum(
                metric(text, "sentiment_predictions_total", label=lab)
                for lab in ("positive", "negative")
            )
            assert by_label == n
            assert metric(text, "sentiment_batch_size_count") >= 1
            pids = _model_info_pids(text)
            assert len(pids) == 2, pids  # one live series per worker process
        assert metric(text, "sentiment_predictions_total", label="positive") == labels.count(
            "positive"
        )
        assert len(workers) >= 2, workers
    # Stopping the server stopped its workers too (they used to be orphaned, running for good).
    for pid in workers:
        assert not _alive(pid), f"worker {pid} outlived its server"
    assert not group_alive(supervisor)


def _model_info_pids(text: str) -> set[str]:
    return {
        s.labels["pid"]
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == "sentiment_model_info"
    }


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped by its parent) is not running.
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(") ", 1)[1].startswith("Z"))
