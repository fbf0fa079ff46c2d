"""Profile the service's request path under load with py-spy and print the hottest functions.

    python -m bench.profile [--model-dir DIR] [-c 64] [--seconds 15] [--env KEY=VALUE ...]
    python -m bench.profile --protocol v2_grpc     # or v2_rest: the V2 routes (bench.v2's loads)

Starts the service (real uvicorn subprocess), drives it with the load generator, samples it with
``py-spy record --format raw`` (all threads, GIL holders and idle excluded), and aggregates the
collapsed stacks into self and inclusive sample shares per function.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
import threading
from collections import Counter
from pathlib import Path
from typing import Any

from bench import measure
from bench.reviews import load_reviews, write_bodies
from bench.server import Server, free_port
from bench.v2 import grpc_load, write_v2_bodies

PY_SPY = Path(os.environ.get("VIRTUAL_ENV", ".venv")) / "bin" / "py-spy"


def aggregate(raw: str, top: int) -> tuple[list[tuple[str, float]], list[tuple[str, float]]]:
    self_c: Counter[str] = Counter()
    incl: Counter[str] = Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = stack.split(";")
        self_c[frames[-1]] += n
        for f in set(frames):
            incl[f] += n

    def share(c: Counter[str]) -> list[tuple[str, float]]:
        return [(f, n / max(total, 1)) for f, n in c.most_common(top)]

    return share(self_c), share(incl)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model-dir", default=os.environ.get("MODEL_DIR", "model_artifacts/imdb_lstm"))
    ap.add_argument("--app", default="app.main:app")
    ap.add_argument("-c", "--concurrency", type=int, default=64)
    ap.add_argument("--seconds", type=int, default=15)
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--env", nargs="*", default=[], help="extra KEY=VALUE for the server")
    ap.add_argument("--gil", action="store_true", help="only samples holding the GIL")
    ap.add_argument("--save", type=Path, help="keep the collapsed stacks here")
    ap.add_argument("--protocol", choices=["predict", "v2_rest", "v2_grpc"], default="predict")
    args = ap.parse_args(argv)
    env = {"MODEL_DIR": str(Path(args.model_dir).resolve())}
    grpc_port = free_port()
    if args.protocol == "v2_grpc":
        env["GRPC_PORT"] = str(grpc_port)
    env.update(kv.split("=", 1) for kv in args.env)
    texts, _ = load_reviews(4000)
    with (
        tempfile.TemporaryDirectory(prefix="bench-prof-") as tmp,
        Server("profile", args.app, env) as srv,
    ):
        bodies = Path(tmp) / "bodies.jsonl"
        write_bodies(texts, bodies)
        v2_bodies = Path(tmp) / "v2.jsonl"
        write_v2_bodies(texts, v2_bodies)
        c, n, max_s = args.concurrency, 10**7, args.seconds + 3
        v2_url = srv.url.replace("/predict", "/v2/models/imdb_lstm/infer")
        result: dict[str, Any] = {}

        def drive() -> None:
            if args.protocol == "v2_grpc":
                result.update(grpc_load(f"127.0.0.1:{grpc_port}", bodies, c, n, max_s))
            elif args.protocol == "v2_rest":
                result.update(measure.loadgen(v2_url, v2_bodies, c, n, max_s))
            else:
                result.update(measure.loadgen(srv.url, bodies, c, n, max_s))

        load = threading.Thread(target=drive)
        load.start()
        out = Path(tmp) / "stacks.txt"
        assert srv.proc is not None
        cmd = [
            str(PY_SPY),
            "record",
            "--pid",
            str(srv.proc.pid),
            "--duration",
            str(args.seconds),
            "--rate",
            "250",
            "--format",
            "raw",
            "--output",
            str(out),
            "--nonblocking",
        ]
        if args.gil:
            cmd.append("--gil")
        subprocess.run(cmd, check=True, capture_output=True)
        load.join()
        raw = out.read_text()
        if args.save:
            args.save.write_text(raw)
        self_s, incl_s = aggregate(raw, args.top)
    print(
        f"load: {result.get('throughput_rps')} req/s at c={args.concurrency}, "
        f"p99 {result.get('latency_ms', {}).get('p99', 0):.1f} ms"
    )
    print("\nself time (share of samples):")
    for f, s in self_s:
        print(f"  {s:6.1%}  {f}")
    print("\ninclusive time:")
    for f, s in incl_s:
        print(f"  {s:6.1%}  {f}")


if __name__ == "__main__":
    main()
