"""Open-loop load: requests arrive at a fixed mean rate (Poisson), whether or not the server keeps up.

``bench.loadgen`` is closed-loop (each connection waits for its answer before sending again), so a
slow server slows its own load down. Traffic from many independent users does not: it keeps
arriving. This client schedules Poisson arrivals at ``rate`` req/s for ``seconds`` and measures
each latency from the request's *scheduled* time (no coordinated omission), borrowing an idle
keep-alive connection or opening another one when all are busy. Used by
``deploy/measure_replica.py`` for the per-replica capacity curve of the Kubernetes capacity model.

    python -m bench.openloop --url http://127.0.0.1:8000/predict --bodies b.jsonl --rate 1000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import uvloop

from bench.loadgen import _Conn, build_requests, summarize

MAX_CONNECTIONS = 2048
# The server closes keep-alive connections idle for 5 s (``--timeout-keep-alive``); one idle longer
# than this is closed here instead of reused, so a request never races the server's close (at low
# rates that race, or a write on a closed transport, was counted as a client error).
IDLE_REUSE_S = 3.0


async def _run(
    host: str, port: int, reqs: list[bytes], rate: float, seconds: float, seed: int
) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    rng = random.Random(seed)
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    idle: list[_Conn] = []
    opened = 0
    no_retry_after = 0

    async def connect() -> _Conn:
        nonlocal opened
        opened += 1
        _, proto = await loop.create_connection(_Conn, host, port)
        return proto

    def reusable() -> _Conn | None:
        """The most recently used idle connection that is still open and fresh; others closed."""
        nonlocal opened
        now = time.perf_counter()
        while idle:
            conn = idle.pop()
            closing = conn.transport is None or conn.transport.is_closing()
            if not conn.closed and not closing and now - conn.last_used <= IDLE_REUSE_S:
                return conn
            if conn.transport is not None:
                conn.transport.close()
            opened -= 1
        return None

    async def one(raw: bytes, scheduled: float) -> None:
        nonlocal no_retry_after, opened
        conn = reusable()
        reused = conn is not None
        if conn is None:
            if opened >= MAX_CONNECTIONS:
                statuses["client_limit"] += 1
                return
            try:
                conn = await connect()
            except OSError:
                statuses["conn_error"] += 1
                return
        while True:
            try:
                status, retry_after = await conn.request(raw)
                break
            except (ConnectionError, OSError, TimeoutError, RuntimeError) as exc:
                if conn.transport is not None:
                    conn.transport.close()
                opened -= 1
                # A kept-alive connection the server closed as we wrote (an idle timeout, or
                # "Connection: close" after a 503): the request was never read; like HTTP
                # clients, send it once more on a new connection.
                if reused and not isinstance(exc, TimeoutError):
                    reused = False
                    statuses["resent_on_new_connection"] += 1
                    try:
                        conn = await connect()
                        continue
                    except OSError:
                        pass
                statuses["timeout" if isinstance(exc, TimeoutError) else "conn_error"] += 1
                return
        latencies.append(time.perf_counter() - scheduled)
        statuses[str(status)] += 1
        no_retry_after += status == 503 and not retry_after
        if conn.closed:
            opened -= 1
        else:
            conn.last_used = time.perf_counter()
            idle.append(conn)

    # A few connections up front, so the first second does not measure TCP handshakes.
    idle.extend([await connect() for _ in range(min(64, max(4, int(rate / 50))))])
    ru0 = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    tasks: list[asyncio.Task[None]] = []
    scheduled, i = start, 0
    while True:
        scheduled += rng.expovariate(rate)
        if scheduled > start + seconds:
            break
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(reqs[i % len(reqs)], scheduled)))
        i += 1
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - start
    ru1 = resource.getrusage(resource.RUSAGE_SELF)
    for conn in idle:
        if conn.transport is not None:
            conn.transport.close()
    cpu = ru1.ru_utime + ru1.ru_stime - ru0.ru_utime - ru0.ru_stime
    out = summarize(latencies, statuses, elapsed, cpu, opened, no_retry_after)
    out.pop("concurrency")
    out.update(offered_rps=rate, issued=i, connections_opened=opened)
    return out


def run(
    url: str, bodies: list[bytes], rate: float, seconds: float, seed: int = 0
) -> dict[str, Any]:
    parts = urlsplit(url)
    reqs = build_requests(url, bodies)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    return uvloop.run(_run(host, port, reqs, rate, seconds, seed))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", required=True)
    ap.add_argument("--bodies", type=Path, required=True, help="JSONL, one request body per line")
    ap.add_argument("--rate", type=float, required=True, help="mean arrivals per second")
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    bodies = [line for line in args.bodies.read_bytes().splitlines() if line]
    json.dump(run(args.url, bodies, args.rate, args.seconds, args.seed), sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
