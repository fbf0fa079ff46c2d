"""Closed-loop V2 gRPC load generator (``ModelInfer``), run in its own process.

The gRPC twin of ``bench.loadgen``: ``concurrency`` callers on one HTTP/2 channel (how gRPC
clients are used) each send a pre-built ``ModelInferRequest`` (one text, ``raw_input_contents``
as ``tritonclient.grpc`` sends it), wait for the answer, send the next, until ``requests`` were
issued. grpcio's asyncio client on uvloop; its own CPU time is reported, as the HTTP one's is.

    python -m bench.grpc_load --target 127.0.0.1:8001 --bodies b.jsonl -c 64 -n 4000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import struct
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import grpc
import uvloop
from tritonclient.grpc import service_pb2 as pb
from tritonclient.grpc import service_pb2_grpc as pb_grpc

from bench.loadgen import summarize

REQUEST_TIMEOUT_S = 30.0


def build_requests(texts: list[str], model: str) -> list[Any]:
    requests = []
    for text in texts:
        raw = text.encode()
        request = pb.ModelInferRequest(model_name=model)
        request.inputs.add(name="text", datatype="BYTES", shape=[1])
        request.raw_input_contents.append(struct.pack("<I", len(raw)) + raw)
        requests.append(request)
    return requests


async def _run(
    target: str, reqs: list[Any], concurrency: int, total: int, warmup: int, max_seconds: float
) -> dict[str, Any]:
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    issued = 0
    mark: dict[str, float] = {}
    deadline = time.perf_counter() + max_seconds
    async with grpc.aio.insecure_channel(target) as channel:
        infer = pb_grpc.GRPCInferenceServiceStub(channel).ModelInfer

        async def worker() -> None:
            nonlocal issued, deadline
            while issued < warmup + total and time.perf_counter() < deadline:
                i = issued
                issued += 1
                t0 = time.perf_counter()
                if i == warmup:  # the clock starts with the first measured request
                    ru = resource.getrusage(resource.RUSAGE_SELF)
                    mark.update(t=t0, cpu=ru.ru_utime + ru.ru_stime)
                    deadline = t0 + max_seconds
                try:
                    await infer(reqs[i % len(reqs)], timeout=REQUEST_TIMEOUT_S)
                    status = "OK"
                except grpc.aio.AioRpcError as exc:
                    status = exc.code().name
                if i >= warmup:
                    latencies.append(time.perf_counter() - t0)
                    statuses[status] += 1

        await asyncio.wait_for(channel.channel_ready(), 30)
        await asyncio.gather(*(worker() for _ in range(concurrency)))
    ru1 = resource.getrusage(resource.RUSAGE_SELF)
    elapsed = time.perf_counter() - mark.get("t", time.perf_counter())
    cpu = ru1.ru_utime + ru1.ru_stime - mark.get("cpu", 0.0)
    # Successful calls count as "200", so one table reads both load generators.
    statuses = Counter({("200" if k == "OK" else k): v for k, v in statuses.items()})
    return summarize(latencies, statuses, elapsed, cpu, concurrency, 0)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--target", required=True, help="host:port of the V2 gRPC server")
    ap.add_argument("--bodies", type=Path, required=True, help="JSONL of {'text': ...} bodies")
    ap.add_argument("--model", default="imdb_lstm")
    ap.add_argument("-c", "--concurrency", type=int, default=16)
    ap.add_argument("-n", "--requests", type=int, default=2000)
    ap.add_argument("--warmup", type=int, default=None, help="default: 1 per caller")
    ap.add_argument("--max-seconds", type=float, default=120.0)
    args = ap.parse_args(argv)
    # Split on newlines only: str.splitlines() also splits inside reviews holding U+2028 or U+0085.
    lines = args.bodies.read_text(encoding="utf-8").split("\n")
    texts = [json.loads(line)["text"] for line in lines if line]
    warmup = args.concurrency if args.warmup is None else args.warmup
    reqs = build_requests(texts, args.model)
    result = uvloop.run(
        _run(args.target, reqs, args.concurrency, args.requests, warmup, args.max_seconds)
    )
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
