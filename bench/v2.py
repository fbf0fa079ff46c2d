"""V2 REST and V2 gRPC against ``POST /predict``, in one run, on one server process.

    python -m bench.v2                       # c = 1, 16, 64; 3 rounds; results/v2_protocols.*
    python -m bench.v2 --levels 1,16,64 --rounds 3 --requests 3000

One ``python -m app.serve`` with GRPC_PORT set serves all three (the same batcher and model).
The same real IMDB test reviews, one per request, go to ``/predict`` (``{"text": ...}``), to
``/v2/models/imdb_lstm/infer`` (a JSON V2 request, JSON outputs) and to gRPC ``ModelInfer``.
HTTP load comes from ``bench.loadgen``, gRPC load from ``bench.grpc_load`` (each its own process).
Each round runs every level with the three protocols in a rotated order, so a drift of the
machine's load (a shared 2-core box) does not favour one; the table shows each protocol's median
over the rounds and its ratio to ``/predict``'s throughput, with the load average before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from app.serve import APP
from bench import measure
from bench.reviews import load_reviews, write_bodies
from bench.server import REPO, Server, free_port

PROTOCOLS = ("predict", "v2_rest", "v2_grpc")
RESULTS = REPO / "bench" / "results"


def write_v2_bodies(texts: list[str], path: Path) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for text in texts:
            tensor = {"name": "text", "shape": [1], "datatype": "BYTES", "data": [text]}
            fh.write(json.dumps({"inputs": [tensor]}, ensure_ascii=False) + "\n")


def grpc_load(target: str, bodies: Path, c: int, n: int, max_s: float) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "bench.grpc_load", "--target", target, "--bodies", str(bodies)]
    cmd += ["-c", str(c), "-n", str(n), "--max-seconds", str(max_s)]
    out = subprocess.run(
        cmd, cwd=REPO, check=True, capture_output=True, text=True, timeout=max_s + 120
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def requests_for(c: int, base: int) -> int:
    return max(300, base // 5) if c == 1 else base


def run(args: argparse.Namespace) -> dict[str, Any]:
    texts, source = load_reviews(args.reviews, max_chars=20_000)
    levels = [int(x) for x in args.levels.split(",")]
    tmp = Path(tempfile.mkdtemp(prefix="bench-v2-"))
    write_bodies(texts, tmp / "predict.jsonl")
    write_v2_bodies(texts, tmp / "v2.jsonl")
    grpc_port = free_port()
    runs: dict[str, dict[int, list[dict[str, Any]]]] = {
        p: {c: [] for c in levels} for p in PROTOCOLS
    }
    load_before = os.getloadavg()
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    with Server("v2", APP, env={"GRPC_PORT": str(grpc_port)}) as server:
        base = f"http://127.0.0.1:{server.port}"
        for r in range(args.rounds):
            for c in levels:
                order = PROTOCOLS[r % 3 :] + PROTOCOLS[: r % 3]
                for proto in order:
                    n = requests_for(c, args.requests)
                    cpu0 = server.cpu_s()
                    if proto == "predict":
                        res = measure.loadgen(f"{base}/predict", tmp / "predict.jsonl", c, n, 60.0)
                    elif proto == "v2_rest":
                        url = f"{base}/v2/models/imdb_lstm/infer"
                        res = measure.loadgen(url, tmp / "v2.jsonl", c, n, 60.0)
                    else:
                        res = grpc_load(f"127.0.0.1:{grpc_port}", tmp / "predict.jsonl", c, n, 60.0)
                    res["server_cpu_ms_per_req"] = round(
                        (server.cpu_s() - cpu0) * 1000 / max(res["completed"], 1), 3
                    )
                    runs[proto][c].append(res)
                    lat = res["latency_ms"]
                    print(
                        f"round {r + 1} c={c:<3} {proto:8} {res['throughput_rps']:8.1f} req/s  "
                        f"p50 {lat['p50']:6.2f} ms  p99 {lat['p99']:6.2f} ms  {res['statuses']}",
                        flush=True,
                    )
    return {
        "command": "python -m bench.v2 " + " ".join(sys.argv[1:]),
        "time_utc": started,
        "git": subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
        ).stdout.strip(),
        "reviews": f"{len(texts)} from {Path(source).name}",
        "cpus": os.cpu_count(),
        "loadavg_before": [round(x, 2) for x in load_before],
        "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        "runs": {p: {str(c): v for c, v in by_c.items()} for p, by_c in runs.items()},
    }


def summary(results: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for c, _ in results["runs"]["predict"].items():
        row: dict[str, Any] = {"c": int(c)}
        for proto in PROTOCOLS:
            runs = results["runs"][proto][c]
            row[proto] = {
                "rps": statistics.median(r["throughput_rps"] for r in runs),
                "p50": statistics.median(r["latency_ms"]["p50"] for r in runs),
                "p99": statistics.median(r["latency_ms"]["p99"] for r in runs),
                "server_cpu_ms": statistics.median(r["server_cpu_ms_per_req"] for r in runs),
                "client_cpu_share": statistics.median(r["client_cpu_share"] for r in runs),
                "errors": sum(sum(v for k, v in r["statuses"].items() if k != "200") for r in runs),
            }
        for proto in PROTOCOLS[1:]:
            row[proto]["ratio"] = row[proto]["rps"] / row["predict"]["rps"]
        rows.append(row)
    return rows


def rounds(results: dict[str, Any]) -> int:
    return len(next(iter(results["runs"]["predict"].values())))


def markdown(results: dict[str, Any]) -> str:
    lines = [
        f"`{results['command']}` at {results['time_utc']} ({results['git']}), {results['reviews']}, "
        f"{results['cpus']} cores, load average {results['loadavg_before'][0]:.1f} before and "
        f"{results['loadavg_after'][0]:.1f} after; medians of {rounds(results)} rounds.",
        "",
        "| c | /predict req/s | V2 REST req/s (ratio) | V2 gRPC req/s (ratio) | p50 ms /predict · REST · gRPC | p99 ms /predict · REST · gRPC | server CPU ms/req /predict · REST · gRPC | load-generator CPU (cores) HTTP · gRPC |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in summary(results):
        p, r, g = row["predict"], row["v2_rest"], row["v2_grpc"]
        lines.append(
            f"| {row['c']} | {p['rps']:,.0f} | {r['rps']:,.0f} ({r['ratio']:.2f}) | {g['rps']:,.0f} ({g['ratio']:.2f}) "
            f"| {p['p50']:.2f} · {r['p50']:.2f} · {g['p50']:.2f} | {p['p99']:.2f} · {r['p99']:.2f} · {g['p99']:.2f} "
            f"| {p['server_cpu_ms']:.2f} · {r['server_cpu_ms']:.2f} · {g['server_cpu_ms']:.2f} "
            f"| {p['client_cpu_share']:.2f} · {g['client_cpu_share']:.2f} |"
        )
    errors = {proto: sum(row[proto]["errors"] for row in summary(results)) for proto in PROTOCOLS}
    lines += ["", f"Non-200 answers: {errors}."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--levels", default="1,16,64")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--requests", type=int, default=3000, help="per run (c=1: a fifth)")
    ap.add_argument("--reviews", type=int, default=2000)
    ap.add_argument("--out", type=Path, default=RESULTS / "v2_protocols.json")
    args = ap.parse_args(argv)
    results = run(args)
    args.out.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    text = markdown(results)
    args.out.with_suffix(".md").write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
