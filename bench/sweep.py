"""MAX_BATCH_SIZE x MAX_BATCH_DELAY_MS sweep that picks the service defaults.

Every point's server runs at once (idle servers cost no CPU; ~0.7 GiB each) and the load visits
them round-robin, ``rounds`` times, so the machine's noise — it is shared — hits all points
alike; medians are reported. Per point: c=64 throughput and p99, c=16 p99, c=1 p50 (what a
batching delay costs a lone request). The pick: the highest c=64 throughput among points whose
c=16 p99 meets the 50 ms goal and whose c=1 p50 is within 1 ms of the best — a delay that makes a
lone request wait is not free, whatever it buys under load.

    python -m bench.sweep [--model-dir DIR] [--batch 16 32 64 128] [--delay 0 2 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from bench import measure
from bench.reviews import load_reviews, write_bodies
from bench.server import Server

BATCH_SIZES = [16, 32, 64, 128]
DELAYS_MS = [0.0, 2.0, 5.0]
P99_GOAL_MS = 50.0
# A delay that costs a lone request more than this over the best point is not "free".
C1_SLACK_MS = 1.0


def pick(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Highest c=64 throughput among points that meet the latency goals at low and mid load."""
    if not rows:
        return None
    best_c1 = min(r["c1_p50_ms"] for r in rows)
    ok = [
        r
        for r in rows
        if r["c16_p99_ms"] <= P99_GOAL_MS and r["c1_p50_ms"] <= best_c1 + C1_SLACK_MS
    ]
    return max(ok or rows, key=lambda r: r["c64_rps"])


def _measure_point(srv: Server, bodies: Path, n64: int, n16: int) -> dict[str, float]:
    r64 = measure.loadgen(srv.url, bodies, 64, n64, 30.0)
    s0, k0 = srv.batch_stats()
    r16 = measure.loadgen(srv.url, bodies, 16, n16, 30.0)
    s1, k1 = srv.batch_stats()
    r1 = measure.loadgen(srv.url, bodies, 1, 200, 30.0)
    bad = sum(v for r in (r64, r16, r1) for k, v in r["statuses"].items() if k != "200")
    return {
        "c64_rps": r64["throughput_rps"],
        "c64_p99_ms": r64["latency_ms"]["p99"],
        "c16_p99_ms": r16["latency_ms"]["p99"],
        "c16_mean_batch": (s1 - s0) / (k1 - k0) if k1 > k0 else 0.0,
        "c1_p50_ms": r1["latency_ms"]["p50"],
        "errors": bad,
    }


def run_sweep(
    app: str,
    env: dict[str, Any],
    bodies: Path,
    batches: list[int] | None = None,
    delays: list[float] | None = None,
    rounds: int = 2,
    n64: int = 2000,
    n16: int = 1000,
    log=print,
) -> dict[str, Any]:
    points = [(b, d) for b in batches or BATCH_SIZES for d in delays or DELAYS_MS]
    samples: dict[tuple[int, float], list[dict[str, float]]] = {p: [] for p in points}
    with ExitStack() as stack:
        servers = {}
        for b, d in points:
            point_env = {**env, "MAX_BATCH_SIZE": str(b), "MAX_BATCH_DELAY_MS": str(d)}
            servers[(b, d)] = stack.enter_context(Server(f"sweep-b{b}-d{d:g}", app, point_env))
        for r in range(rounds):
            for p in points if r % 2 == 0 else points[::-1]:
                samples[p].append(_measure_point(servers[p], bodies, n64, n16))
    rows = []
    for (b, d), ss in samples.items():
        row: dict[str, Any] = {"batch": b, "delay_ms": d}
        for key in ss[0]:
            row[key] = round(statistics.median(s[key] for s in ss), 2)
        row["errors"] = sum(s["errors"] for s in ss)
        rows.append(row)
        log(
            f"  sweep batch={b:<4} delay={d:g} ms: c64 {row['c64_rps']:.0f} req/s "
            f"p99 {row['c64_p99_ms']} ms | c16 p99 {row['c16_p99_ms']} ms | "
            f"c1 p50 {row['c1_p50_ms']} ms"
        )
    return {"rounds": rounds, "rows": rows, "pick": pick(rows)}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model-dir", default=os.environ.get("MODEL_DIR", "model_artifacts/imdb_lstm"))
    ap.add_argument("--service-app", default="app.main:app")
    ap.add_argument("--batch", type=int, nargs="+", default=BATCH_SIZES)
    ap.add_argument("--delay", type=float, nargs="+", default=DELAYS_MS)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args(argv)
    texts, _ = load_reviews(4000)
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        bodies = Path(tmp) / "bodies.jsonl"
        write_bodies(texts, bodies)
        env = {"MODEL_DIR": str(Path(args.model_dir).resolve())}
        out = run_sweep(args.service_app, env, bodies, args.batch, args.delay, args.rounds)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
