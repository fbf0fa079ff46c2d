"""Issue 9 acceptance figures against a real uvicorn server (started here, stopped group-wide).

    .venv/bin/python -m bench.hostile amplification   # 1 MB 422 bodies: size, time, RSS, /healthz
    .venv/bin/python -m bench.hostile drain           # SIGTERM mid c=32 load, SHUTDOWN_DELAY_S=2

Times are client-measured over loopback (an upper bound on server time).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import tempfile
import threading
import time
from pathlib import Path

import httpx

from tests.process.servers import run_server


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _cpu_ms(pid: int) -> float:
    """User + system CPU time of ``pid`` so far (load-independent, unlike wall time)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def amplification(tries: int) -> None:
    body = ('{"texts":[' + ",".join(["0"] * 524_280) + "]}").encode()
    with tempfile.TemporaryDirectory() as tmp, run_server(Path(tmp)) as server:
        pid = server.proc.pid
        health_ms: list[float] = []
        stop = threading.Event()

        def probe() -> None:
            with httpx.Client(base_url=server.url, timeout=10) as c:
                while not stop.is_set():
                    t = time.perf_counter()
                    c.get("/healthz")
                    health_ms.append((time.perf_counter() - t) * 1000)
                    time.sleep(0.01)

        headers = {"content-type": "application/json"}
        with httpx.Client(base_url=server.url, timeout=30) as c:
            for _ in range(3):  # warm the path once before measuring RSS
                c.post("/predict", content=body, headers=headers)
            thread = threading.Thread(target=probe)
            thread.start()  # baseline: /healthz alone for 1 s
            time.sleep(1.0)
            baseline = list(health_ms)
            health_ms.clear()
            rss_before, cpu_before = _rss_kib(pid), _cpu_ms(pid)
            times, sizes, statuses = [], [], set()
            for _ in range(tries):
                t = time.perf_counter()
                r = c.post("/predict", content=body, headers=headers)
                times.append((time.perf_counter() - t) * 1000)
                sizes.append(len(r.content))
                statuses.add(r.status_code)
            cpu_per_request = (_cpu_ms(pid) - cpu_before) / tries
            stop.set()
            thread.join()
            rss_after = _rss_kib(pid)
    print(f"body {len(body)} bytes, {tries} tries, statuses {sorted(statuses)}")
    print(f"response bytes max {max(sizes)}")
    print(
        f"time ms p50 {statistics.median(times):.1f} p99 {_p(times, 0.99):.1f} max {max(times):.1f}"
    )
    print(f"server CPU ms per request (incl. /healthz probes) {cpu_per_request:.1f}")
    print(f"RSS KiB before {rss_before} after {rss_after} growth {rss_after - rss_before}")
    print(f"/healthz alone: n={len(baseline)} p50 {statistics.median(baseline):.1f} ms")
    print(
        f"/healthz during: n={len(health_ms)} p50 {statistics.median(health_ms):.1f} "
        f"p99 {_p(health_ms, 0.99):.1f} max {max(health_ms):.1f} ms"
    )


async def _drain_once(url: str, proc_signal: object, concurrency: int) -> tuple[int, int, int]:
    """(ok, non-200, transport errors) for load that stops once readiness says 503."""
    routing = asyncio.Event()
    routing.set()
    ok = bad = errors = 0

    async def worker(client: httpx.AsyncClient, i: int) -> None:
        nonlocal ok, bad, errors
        n = 0
        while routing.is_set():  # a load balancer: no new requests once it saw "not ready"
            n += 1
            try:
                r = await client.post(f"{url}/predict", json={"text": f"great film {i} {n}"})
            except httpx.TransportError:
                errors += 1
                continue
            ok, bad = (ok + 1, bad) if r.status_code == 200 else (ok, bad + 1)

    async def balancer(probe: httpx.AsyncClient) -> None:
        while True:
            try:
                ready = (await probe.get(f"{url}/readyz")).status_code == 200
            except httpx.TransportError:
                ready = False
            if not ready:
                routing.clear()
                return
            await asyncio.sleep(0.1)  # a fast LB health check

    limits = httpx.Limits(max_connections=concurrency)
    async with (
        httpx.AsyncClient(timeout=30, limits=limits) as client,
        httpx.AsyncClient(timeout=5) as probe,
    ):
        workers = [asyncio.create_task(worker(client, i)) for i in range(concurrency)]
        lb = asyncio.create_task(balancer(probe))
        await asyncio.sleep(2.0)
        assert callable(proc_signal)
        proc_signal(signal.SIGTERM)
        await lb
        await asyncio.gather(*workers)
    return ok, bad, errors


def drain(runs: int, concurrency: int, delay: str) -> None:
    for run in range(1, runs + 1):
        with (
            tempfile.TemporaryDirectory() as tmp,
            run_server(Path(tmp), SHUTDOWN_DELAY_S=delay) as s,
        ):
            ok, bad, errors = asyncio.run(_drain_once(s.url, s.proc.send_signal, concurrency))
            code = s.proc.wait(60)
        print(f"run {run}: 200={ok} non-200={bad} transport_errors={errors} exit={code}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("what", choices=["amplification", "drain"])
    parser.add_argument("--tries", type=int, default=50)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--delay", default="2", help="SHUTDOWN_DELAY_S for drain")
    args = parser.parse_args()
    if args.what == "amplification":
        amplification(args.tries)
    else:
        drain(args.runs, args.concurrency, args.delay)


if __name__ == "__main__":
    main()
