"""Hot reload under load against a real uvicorn process: zero failed requests across a swap.

``MODEL_DIR`` starts with a copy of version 2; 16 clients post reviews without pause while
version 3 arrives (first without its manifest: ignored; then the manifest: loaded, warmed up and
made the default), version 2's folder is removed, and a broken version 4 appears (refused, the
default keeps serving). Every answer must be a 200 from version 2 or 3 with exactly the
probability that version gives for that text, and each client must see 2 ... 2 3 ... 3.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from model_contract.manifest import MANIFEST_FILE
from tests.api.model_dirs import COMMITTED
from tests.process.servers import Server, metric, run_server

pytestmark = pytest.mark.process

CLIENTS = 16
TEXTS = [
    "A wonderful, moving film with brilliant performances. I loved every minute of it.",
    "A dull, boring mess. Terrible acting, awful script, a complete waste of time.",
    "Not bad at all, though the ending dragged.",
    "The plot was predictable but the music was great!",
    "I expected more from this director; the second half falls apart.",
    "Funny, warm and surprisingly clever. Bring the whole family.",
    "Two hours of my life I will never get back.",
    "An okay thriller with one great scene and a lot of filler. " * 12,
]
Answer = tuple[int, int, str, float]  # (client, text index, model_version, probability)


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _reference(url: str) -> dict[int, float]:
    """What the only loaded version answers for each text (one at a time)."""
    with httpx.Client(timeout=30) as client:
        return {i: client.post(f"{url}/predict", json={"text": t}).json()["probability"]
                for i, t in enumerate(TEXTS)}  # fmt: skip


Models = dict[str, Any]  # a GET /models body


async def _wait(what: Callable[[Models], bool], client: httpx.AsyncClient, limit: float) -> Models:
    deadline = time.monotonic() + limit
    while True:
        body: Models = (await client.get("/models")).json()
        if what(body):
            return body
        assert time.monotonic() < deadline, body
        await asyncio.sleep(0.05)


async def _scenario(server: Server, model_dir: Path) -> tuple[list[Answer], list[str], Models]:
    answers: list[Answer] = []
    failures: list[str] = []
    stop = asyncio.Event()
    limits = httpx.Limits(max_connections=CLIENTS + 4)

    async def load(client: httpx.AsyncClient, n: int) -> None:
        i = n
        while not stop.is_set():
            i = (i + 1) % len(TEXTS)
            try:
                r = await client.post("/predict", json={"text": TEXTS[i]})
            except httpx.HTTPError as exc:
                failures.append(f"client {n}: {type(exc).__name__}")
                continue
            if r.status_code != 200:
                failures.append(f"client {n}: {r.status_code} {r.text[:200]}")
                continue
            body = r.json()
            answers.append((n, i, body["model_version"], body["probability"]))

    async with httpx.AsyncClient(base_url=server.url, timeout=60, limits=limits) as client:
        tasks = [asyncio.create_task(load(client, n)) for n in range(CLIENTS)]
        pid, stats = server.proc.pid, dict[str, Any]()
        await asyncio.sleep(1.0)
        # Version 3 without its manifest, appearing atomically: ignored however long it sits.
        staging = model_dir / ".3.staging"
        await asyncio.to_thread(shutil.copytree, COMMITTED / "3", staging)
        (staging / MANIFEST_FILE).unlink()
        os.rename(staging, model_dir / "3")
        await asyncio.sleep(1.5)  # ~7 polls
        body = (await client.get("/models")).json()
        assert [v["version"] for v in body["versions"]] == ["2"], body
        # Its manifest arrives (renamed into place): checked, loaded, warmed up, made default.
        shutil.copy(COMMITTED / "3" / MANIFEST_FILE, model_dir / "3" / ".manifest.tmp")
        stats["rss_before_kib"] = _rss_kib(pid)
        started = time.monotonic()
        os.rename(model_dir / "3" / ".manifest.tmp", model_dir / "3" / MANIFEST_FILE)
        peak, switched = 0, None
        while switched is None or time.monotonic() - switched < 2.0:  # and 2 s after
            peak = max(peak, _rss_kib(pid))
            if switched is None and (await client.get("/models")).json()["default_version"] == "3":
                switched = time.monotonic()
                stats["swap_s"] = switched - started
            assert time.monotonic() - started < 180, "no switch to version 3"
            await asyncio.sleep(0.05)
        stats["rss_peak_kib"], stats["rss_after_kib"] = peak, _rss_kib(pid)
        await _wait(lambda b: [v["version"] for v in b["versions"]] == ["3"], client, 30)
        # The old folder goes; then a broken version 4 (a file that no longer matches).
        await asyncio.to_thread(shutil.rmtree, model_dir / "2")
        staging = model_dir / ".4.staging"
        await asyncio.to_thread(shutil.copytree, COMMITTED / "3", staging)
        (staging / "word_index.json").write_text("{}")
        os.rename(staging, model_dir / "4")
        body = await _wait(
            lambda b: any(v["state"].startswith("failed: ") for v in b["versions"]), client, 30
        )
        stats["models"] = body
        await asyncio.sleep(1.0)  # still serving version 3, under load
        stop.set()
        await asyncio.gather(*tasks)
    return answers, failures, stats


def test_zero_failed_requests_across_a_swap(tmp_path: Path) -> None:
    model_dir = tmp_path / "models"
    shutil.copytree(COMMITTED / "2", model_dir / "2")
    with run_server(tmp_path, MODEL_DIR=str(model_dir), MODEL_POLL_S="0.2") as server:
        before = httpx.get(f"{server.url}/metrics").text
        assert metric(before, "sentiment_model_info", version="2", device="/CPU:0") == 1
        expected = {"2": _reference(server.url)}
        answers, failures, stats = asyncio.run(_scenario(server, model_dir))
        expected["3"] = _reference(server.url)
        after = httpx.get(f"{server.url}/metrics").text
        log = server.log()
    print(
        f"\nswap: {len(answers)} answers, {stats['swap_s']:.1f} s from manifest to default=3; "
        f"RSS before {stats['rss_before_kib'] / 1024:.0f} MiB, peak "
        f"{stats['rss_peak_kib'] / 1024:.0f} MiB, 2 s after {stats['rss_after_kib'] / 1024:.0f} MiB"
    )
    assert not failures, failures[:20]
    assert {version for _, _, version, _ in answers} == {"2", "3"}
    for client, text, version, probability in answers:
        assert abs(probability - expected[version][text]) < 1e-5, (client, text, version)
    for n in range(CLIENTS):  # one switch per client, never back
        seen = [version for c, _, version, _ in answers if c == n]
        assert seen == sorted(seen) and seen[-1] == "3", (n, seen)
    versions = {v["version"]: v for v in stats["models"]["versions"]}
    assert stats["models"]["default_version"] == "3" and set(versions) == {"3", "4"}
    assert "word_index.json" in versions["4"]["state"] and versions["3"]["state"] == "ready"
    assert metric(after, "sentiment_model_info", version="3", device="/CPU:0") == 1
    assert metric(after, "sentiment_model_info", version="2", device="/CPU:0") == 0
    for result, count in (("loaded", 2), ("unloaded", 1), ("failed", 1)):
        assert metric(after, "sentiment_model_reloads_total", result=result) == count, result
    for status in ("500", "503", "504"):
        assert metric(after, "sentiment_requests_total", route="/predict", status=status) == 0
    assert "Traceback" not in log
    assert log.count("model version 4 refused") == 1, log[-3000:]
