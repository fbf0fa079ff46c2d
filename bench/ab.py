"""Before/after throughput of a code change, interleaved so machine noise hits both sides alike.

    git archive HEAD app model_contract | tar -x -C /tmp/before   # snapshot the "before" code
    python -m bench.ab --before /tmp/before [--after .] -c 64 --rounds 4
    python -m bench.ab --before . --env-after MAX_BATCH_SIZE=64   # same code, other settings
    python -m bench.ab --before /tmp/before --texts texts.txt   # one text a line, not IMDB reviews

Both servers run at once (an idle server costs nothing) and the load alternates between them
round by round; the medians and their ratio are printed. Each side imports ``app`` and
``model_contract`` from its own root (uvicorn's working directory comes first on sys.path).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
from pathlib import Path
from typing import Any

from bench import measure
from bench.reviews import load_reviews, write_bodies
from bench.server import REPO, Server


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", type=Path, required=True)
    ap.add_argument("--after", type=Path, default=REPO)
    ap.add_argument("--model-dir", default=os.environ.get("MODEL_DIR", "model_artifacts/imdb_lstm"))
    ap.add_argument("--app", default="app.main:app")
    ap.add_argument("-c", "--concurrency", type=int, nargs="+", default=[64])
    ap.add_argument("-n", "--requests", type=int, default=3000)
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--texts", type=Path, help="one request text per line (default: IMDB reviews)")
    ap.add_argument("--env", nargs="*", default=[], help="extra KEY=VALUE for both servers")
    ap.add_argument("--env-before", nargs="*", default=[], help="KEY=VALUE for 'before' only")
    ap.add_argument("--env-after", nargs="*", default=[], help="KEY=VALUE for 'after' only")
    args = ap.parse_args(argv)
    env = {"MODEL_DIR": str(Path(args.model_dir).resolve())}
    env.update(kv.split("=", 1) for kv in args.env)
    if args.texts is not None:
        lines = [t for t in args.texts.read_text(encoding="utf-8").splitlines() if t.strip()]
        texts = [lines[i % len(lines)] for i in range(4000)]
    else:
        texts, _ = load_reviews(4000)
    runs: dict[str, dict[int, list[dict[str, Any]]]] = {"before": {}, "after": {}}
    with tempfile.TemporaryDirectory(prefix="bench-ab-") as tmp:
        bodies = Path(tmp) / "bodies.jsonl"
        write_bodies(texts, bodies)
        env_b = {**env, **dict(kv.split("=", 1) for kv in args.env_before)}
        env_a = {**env, **dict(kv.split("=", 1) for kv in args.env_after)}
        before = Server("before", args.app, env_b, cwd=args.before.resolve()).start()
        try:
            after = Server("after", args.app, env_a, cwd=args.after.resolve()).start()
            try:
                for r in range(args.rounds):
                    order = [("before", before), ("after", after)]
                    for side, srv in order if r % 2 == 0 else order[::-1]:
                        for c in args.concurrency:
                            cpu0 = srv.cpu_s()
                            res = measure.loadgen(srv.url, bodies, c, args.requests, 60.0)
                            res["cpu_ms"] = (srv.cpu_s() - cpu0) * 1000 / res["completed"]
                            runs[side].setdefault(c, []).append(res)
            finally:
                after.stop()
        finally:
            before.stop()
    summary = {}
    for c in args.concurrency:
        row = {}
        for side in ("before", "after"):
            rs = runs[side][c]
            row[side] = {
                "rps_median": statistics.median(x["throughput_rps"] for x in rs),
                "p99_ms_median": statistics.median(x["latency_ms"]["p99"] for x in rs),
                "cpu_ms_per_req_median": statistics.median(x["cpu_ms"] for x in rs),
                "rps_all": [x["throughput_rps"] for x in rs],
                "non_200": sum(v for x in rs for k, v in x["statuses"].items() if k != "200"),
            }
        row["ratio"] = row["after"]["rps_median"] / row["before"]["rps_median"]
        summary[str(c)] = row
        print(
            f"c={c}: before {row['before']['rps_median']:.0f} req/s "
            f"(p99 {row['before']['p99_ms_median']:.1f} ms) -> after "
            f"{row['after']['rps_median']:.0f} req/s (p99 {row['after']['p99_ms_median']:.1f} ms)"
            f"  x{row['ratio']:.2f}; server CPU per request "
            f"{row['before']['cpu_ms_per_req_median']:.3f} -> "
            f"{row['after']['cpu_ms_per_req_median']:.3f} ms"
        )
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
