"""``make bench``: the service against its baselines, all measured in this one run.

    python -m bench.run [--quick] [--no-sweep] [--model-dir DIR] [--name latest]

Steps (each server is a real uvicorn subprocess with the README's serve settings, each load run a
separate load-generator process): client self-check, model-only ceiling, HTTP ceiling, the service,
the service with batching off, the naive reference, an overload run with a small queue, and the
batch-size x max-delay sweep. Writes bench/results/<name>.md and .json and prints the tables.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import measure, report
from bench.reviews import load_reviews, write_bodies
from bench.server import REPO, Server
from bench.sweep import run_sweep
from bench.targets import Target, run_targets
from model_contract.artifact import resolve_version_dir

LEVELS = [1, 16, 64, 256]
STEPS = ["client", "model", "ceiling", "service", "last", "nobatch", "naive", "overload", "sweep"]
RESULTS = REPO / "bench" / "results"


def log(msg: str) -> None:
    print(msg, flush=True)


def plan(quick: bool) -> dict[str, Any]:
    """Request counts per concurrency level: bounded, and long enough for a stable p99."""
    if quick:
        return {
            "n": lambda c: max(300, 8 * c),
            "naive_n": lambda c: max(30, 2 * c),
            "seconds": 20.0,
            "naive_seconds": 12.0,
            "model_seconds": 1.5,
            "overload_n": 1500,
            "overload_rounds": 2,
            "naive_levels": [1, 16, 64],
            "rounds": 1,
            "sweep_rounds": 1,
        }
    return {
        "n": lambda c: max(1500, 30 * c),
        "naive_n": lambda c: max(60, 3 * c),
        "seconds": 30.0,
        "naive_seconds": 20.0,
        "model_seconds": 4.0,
        "overload_n": 4000,
        "overload_rounds": 3,
        "naive_levels": LEVELS,
        "rounds": 2,
        "sweep_rounds": 2,
    }


def run_overload(
    app: str, env: dict[str, Any], bodies: Path, n: int, rounds: int
) -> dict[str, Any]:
    """Concurrency 256 against a tiny queue: every request must get 200 or 503 + Retry-After."""
    small = {**env, "MAX_QUEUE_SIZE": "16", "MAX_TEXTS_PER_REQUEST": "16"}
    out: dict[str, Any] = {"env": small, "rounds": []}
    with Server("overload", app, small) as srv:
        for r in range(rounds):
            srv.rss_samples.clear()
            res = measure.loadgen(srv.url, bodies, 256, n, 60.0)
            res["rss_mib_max"] = round(max(srv.rss_samples or [0.0]), 1)
            res["rss_mib_end"] = round(srv.rss_mib(), 1)
            out["rounds"].append(res)
            log(
                f"  overload round {r + 1}: {res['throughput_rps']:.0f} req/s "
                f"statuses={res['statuses']} no-Retry-After={res['503_without_retry_after']} "
                f"rss max={res['rss_mib_max']} MiB"
            )
        out["peak_rss_mib"] = round(srv.peak_rss_mib(), 1)
    return out


def client_cross_check(bodies: Path, n: int) -> dict[str, Any]:
    """hey (Go) and bench.loadgen in turn against the HTTP ceiling at c=64, twice each."""
    hey, mine = [], []
    with Server("client_check", "bench.http_ceiling:app", {}) as srv:
        first_body = bodies.read_bytes().split(b"\n", 1)[0]
        for _ in range(2):
            rps = measure.hey_rps(srv.url, first_body, 64, max(2000, n))
            if rps is not None:
                hey.append(rps)
            mine.append(measure.loadgen(srv.url, bodies, 64, max(2000, n))["throughput_rps"])
    out = {"loadgen_http_ceiling_c64_rps": statistics.median(mine)}
    out["hey_http_ceiling_c64_rps"] = statistics.median(hey) if hey else None
    log(f"client cross-check on the HTTP ceiling, c=64: hey {hey} vs bench.loadgen {mine} req/s")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer requests, no sweep (~3 min)")
    ap.add_argument("--no-sweep", action="store_true")
    ap.add_argument("--model-dir", default=os.environ.get("MODEL_DIR", "model_artifacts/imdb_lstm"))
    ap.add_argument("--service-app", default="app.main:app")
    ap.add_argument("--name", default="latest", help="results file stem under bench/results/")
    ap.add_argument(
        "--only",
        nargs="*",
        help="subset of: " + " ".join(STEPS),
    )
    args = ap.parse_args(argv)
    model_dir = str(Path(args.model_dir).resolve())
    p = plan(args.quick)
    default = [s for s in STEPS if s != "sweep" or not (args.quick or args.no_sweep)]
    steps = set(args.only or default)
    started = time.perf_counter()
    env = {"MODEL_DIR": model_dir}
    texts, source = load_reviews(4000 if not args.quick else 2000)
    results: dict[str, Any] = {
        "machine": measure.machine_info(),
        "model_dir": model_dir,
        "model_version": resolve_version_dir(Path(model_dir)).name,
        "reviews": {"source": source, "n": len(texts)},
        "quick": args.quick,
        "targets": {},
    }
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        bodies = Path(tmp) / "bodies.jsonl"
        write_bodies(texts, bodies)
        if "client" in steps:
            results["client_check"] = measure.client_check(bodies, 20000)
            log(
                f"client check: {results['client_check']['throughput_rps']:.0f} req/s against "
                "a null server at c=64"
            )
        if "model" in steps:
            results["model_ceiling"] = measure.model_ceiling(model_dir, p["model_seconds"])
            log("model ceiling: " + json.dumps(results["model_ceiling"]))
            results["model_service_path"] = measure.model_ceiling(
                model_dir, p["model_seconds"], path="service"
            )
            log("model, service path: " + json.dumps(results["model_service_path"]))
        targets = [
            Target("http_ceiling", "bench.http_ceiling:app", {}, LEVELS, p["n"], p["seconds"]),
            Target("service", args.service_app, env, LEVELS, p["n"], p["seconds"]),
            # The same server scoring only the last 80 tokens (the seed's input): the cost of
            # whole-review scoring is the ratio of the two rows.
            Target(
                "service_last",
                args.service_app,
                {**env, "SCORING": "last"},
                LEVELS,
                p["n"],
                p["seconds"],
            ),
            Target(
                "service_nobatch",
                args.service_app,
                {**env, "MAX_BATCH_SIZE": "1"},
                LEVELS,
                p["n"],
                p["seconds"],
            ),
            Target(
                "naive",
                "bench.naive_service:app",
                env,
                p["naive_levels"],
                p["naive_n"],
                p["naive_seconds"],
            ),
        ]
        chosen = [t for t, step in zip(targets, STEPS[2:7], strict=True) if step in steps]
        if chosen:
            results["targets"] = run_targets(chosen, bodies, p["rounds"], log=log)
        if "ceiling" in steps and "client" in steps:
            results["client_check"].update(client_cross_check(bodies, p["n"](64)))
        if "overload" in steps:
            results["overload"] = run_overload(
                args.service_app, env, bodies, p["overload_n"], p["overload_rounds"]
            )
        if "sweep" in steps:
            results["sweep"] = run_sweep(
                args.service_app, env, bodies, rounds=p["sweep_rounds"], log=log
            )
    results["machine"]["loadavg_end"] = Path("/proc/loadavg").read_text().split()[:3]
    results["wall_s"] = round(time.perf_counter() - started, 1)
    results["checks"] = report.targets(results)
    md = report.markdown(results)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{args.name}.json").write_text(json.dumps(results, indent=2) + "\n")
    (RESULTS / f"{args.name}.md").write_text(md)
    print("\n" + md)
    log(f"wrote bench/results/{args.name}.md and .json in {results['wall_s']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
