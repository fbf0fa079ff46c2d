"""Closed-loop HTTP/1.1 load generator, run in its own process.

``concurrency`` keep-alive connections each send one request, wait for the answer, send the next,
until a fixed number of requests has been issued (or a deadline passes). It is deliberately lean —
uvloop, a raw asyncio protocol, httptools' C parser and pre-built request bytes — so that on a
2-core box it takes as little CPU as possible from the server it measures. It reports its own CPU
time so every run shows how far the client was from being the bottleneck.

    python -m bench.loadgen --url http://127.0.0.1:8000/predict --bodies b.jsonl -c 64 -n 4000
    python -m bench.loadgen --null-server 8099   # a do-nothing server, to measure the client alone
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httptools
import uvloop

REQUEST_TIMEOUT_S = 30.0


class _Conn(asyncio.Protocol):
    """One keep-alive connection; ``request()`` sends pre-built bytes and awaits the response."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.waiter: asyncio.Future[tuple[int, bool]] | None = None
        self.retry_after = False
        self.closed = False
        self.last_used = time.perf_counter()  # bench.openloop: stale idle connections are dropped

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.parser.feed_data(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError("connection closed"))

    # httptools callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        if name.lower() == b"retry-after":
            self.retry_after = True

    def on_message_complete(self) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result((self.parser.get_status_code(), self.retry_after))

    async def request(self, raw: bytes) -> tuple[int, bool]:
        assert self.transport is not None
        self.retry_after = False
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(raw)
        return await asyncio.wait_for(self.waiter, REQUEST_TIMEOUT_S)


def build_requests(url: str, bodies: list[bytes]) -> list[bytes]:
    parts = urlsplit(url)
    head = (
        f"POST {parts.path or '/'} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
        "Content-Type: application/json\r\nContent-Length: "
    ).encode()
    return [head + str(len(b)).encode() + b"\r\n\r\n" + b for b in bodies]


async def _run(
    host: str,
    port: int,
    reqs: list[bytes],
    concurrency: int,
    total: int,
    warmup: int,
    max_seconds: float,
) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    no_retry_after = 0
    issued = 0
    deadline = float("inf")
    mark: dict[str, float] = {}

    async def connect() -> _Conn:
        _, proto = await loop.create_connection(_Conn, host, port)
        return proto

    async def worker() -> None:
        nonlocal issued, no_retry_after, deadline
        conn = await connect()
        while issued < warmup + total and time.perf_counter() < deadline:
            i = issued
            issued += 1
            t0 = time.perf_counter()
            if i == warmup:  # the clock starts with the first measured request
                ru = resource.getrusage(resource.RUSAGE_SELF)
                mark.update(t=t0, cpu=ru.ru_utime + ru.ru_stime)
                deadline = t0 + max_seconds  # the time bound counts measured requests only
            try:
                status, retry_after = await conn.request(reqs[i % len(reqs)])
            except (ConnectionError, OSError, TimeoutError) as exc:
                key = "timeout" if isinstance(exc, TimeoutError) else "conn_error"
                if i >= warmup:
                    statuses[key] += 1
                conn.transport and conn.transport.close()  # type: ignore[func-returns-value]
                conn = await connect()
                continue
            if i >= warmup:
                latencies.append(time.perf_counter() - t0)
                statuses[str(status)] += 1
                no_retry_after += status == 503 and not retry_after
            if conn.closed:
                conn = await connect()
        if conn.transport is not None:
            conn.transport.close()

    # Warm-up requests open the connections and heat caches; they are not measured (and get a
    # time bound of their own, so a very slow server cannot stall the run).
    deadline = time.perf_counter() + max_seconds
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    ru1 = resource.getrusage(resource.RUSAGE_SELF)
    elapsed = time.perf_counter() - mark.get("t", time.perf_counter())
    cpu = ru1.ru_utime + ru1.ru_stime - mark.get("cpu", 0.0)
    return summarize(latencies, statuses, elapsed, cpu, concurrency, no_retry_after)


def summarize(
    latencies: list[float],
    statuses: Counter[str],
    elapsed: float,
    cpu: float,
    concurrency: int,
    no_retry_after: int,
) -> dict[str, Any]:
    lat = sorted(latencies)
    n = len(lat)

    def pct(p: float) -> float:
        return lat[min(n - 1, int(p / 100 * n))] * 1000 if n else float("nan")

    return {
        "concurrency": concurrency,
        "completed": n,
        "duration_s": round(elapsed, 3),
        "throughput_rps": round(n / elapsed, 1) if elapsed else 0.0,
        "latency_ms": {
            "p50": pct(50),
            "p95": pct(95),
            "p99": pct(99),
            "max": pct(100),
            "mean": (sum(lat) / n * 1000) if n else float("nan"),
        },
        "statuses": dict(statuses),
        "503_without_retry_after": no_retry_after,
        "client_cpu_s": round(cpu, 3),
        "client_cpu_us_per_req": round(cpu / max(1, n) * 1e6, 1),
        "client_cpu_share": round(cpu / elapsed, 3) if elapsed else 0.0,
    }


async def _null_server(port: int) -> None:
    """Answers every request with a fixed small JSON body: the fastest possible 'service'."""
    body = b'{"label":"positive","probability":0.5}'
    resp = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
        + str(len(body)).encode()
        + b"\r\n\r\n"
        + body
    )

    class Proto(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.t = transport
            self.p = httptools.HttpRequestParser(self)

        def data_received(self, data: bytes) -> None:
            self.p.feed_data(data)

        def on_message_complete(self) -> None:
            self.t.write(resp)  # type: ignore[attr-defined]

    server = await asyncio.get_running_loop().create_server(Proto, "127.0.0.1", port)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url")
    ap.add_argument("--bodies", type=Path, help="JSONL file, one request body per line")
    ap.add_argument("-c", "--concurrency", type=int, default=16)
    ap.add_argument("-n", "--requests", type=int, default=2000)
    ap.add_argument("--warmup", type=int, default=None, help="default: 1 per connection")
    ap.add_argument("--max-seconds", type=float, default=120.0)
    ap.add_argument("--null-server", type=int, metavar="PORT")
    args = ap.parse_args(argv)
    if args.null_server:
        uvloop.run(_null_server(args.null_server))
        return
    if not args.url or not args.bodies:
        ap.error("--url and --bodies are required")
    bodies = [line.rstrip(b"\n") for line in args.bodies.read_bytes().splitlines() if line]
    parts = urlsplit(args.url)
    reqs = build_requests(args.url, bodies)
    warmup = args.concurrency if args.warmup is None else args.warmup
    result = uvloop.run(
        _run(
            parts.hostname or "127.0.0.1",
            parts.port or 80,
            reqs,
            args.concurrency,
            args.requests,
            warmup,
            args.max_seconds,
        )
    )
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
