"""Profile the service's request path under load with py-spy and print the hottest functions.

    python -m bench.profile [--model-dir DIR] [-c 64] [--seconds 15] [--env KEY=VALUE ...]
                            [--flamegraph docs/x.svg] [--cwd CHECKOUT]
    python -m bench.profile --protocol v2_grpc     # or v2_rest: the V2 routes (bench.v2's loads)

Starts the service (real uvicorn subprocess), drives it with the load generator, samples it with
``py-spy record --format raw`` (all threads, GIL holders and idle excluded), and aggregates the
collapsed stacks into self and inclusive sample shares per function, then into the stage table
of ``bench.flame``: the event-loop thread's samples by stage, scaled by that thread's CPU per
request over the same window. ``--flamegraph`` then records an SVG under the same load.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench import flame, measure
from bench.reviews import load_reviews, write_bodies
from bench.server import Server, free_port, http_get
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
    ap.add_argument("--flamegraph", type=Path, help="also record an SVG flame graph here")
    ap.add_argument("--cwd", type=Path, help="serve another checkout (e.g. main's snapshot)")
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
        Server(
            "profile", args.app, env, **({"cwd": args.cwd.resolve()} if args.cwd else {})
        ) as srv,
    ):
        bodies = Path(tmp) / "bodies.jsonl"
        write_bodies(texts, bodies)
        v2_bodies = Path(tmp) / "v2.jsonl"
        write_v2_bodies(texts, v2_bodies)
        c, n = args.concurrency, 10**7
        load_s = args.seconds * (2 if args.flamegraph else 1) + 4
        v2_url = srv.url.replace("/predict", "/v2/models/imdb_lstm/infer")
        result: dict[str, Any] = {}

        def drive() -> None:
            if args.protocol == "v2_grpc":
                result.update(grpc_load(f"127.0.0.1:{grpc_port}", bodies, c, n, load_s))
            elif args.protocol == "v2_rest":
                result.update(measure.loadgen(v2_url, v2_bodies, c, n, load_s))
            else:
                result.update(measure.loadgen(srv.url, bodies, c, n, load_s))

        load = threading.Thread(target=drive)
        load.start()
        time.sleep(1.0)  # past the load generator's start-up
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
        requests0, (loop0, all0) = served(srv.port), flame.thread_cpu_s(srv.proc.pid)
        subprocess.run(cmd, check=True, capture_output=True)
        requests1, (loop1, all1) = served(srv.port), flame.thread_cpu_s(srv.proc.pid)
        if args.flamegraph:
            svg = [*cmd[:8], "--format", "flamegraph", "--output", str(args.flamegraph)]
            subprocess.run([*svg, *cmd[12:]], check=True, capture_output=True)
        load.join()
        raw = out.read_text()
        if args.save:
            args.save.write_text(raw)
        self_s, incl_s = aggregate(raw, args.top)
        threads, stages = flame.split(raw)
    n = max(requests1 - requests0, 1)
    loop_ms, all_ms = (loop1 - loop0) * 1000 / n, (all1 - all0) * 1000 / n
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
    print(
        f"\nwindow: {n} requests; server CPU {all_ms:.3f} ms/request, of which the event-loop "
        f"thread {loop_ms:.3f} ms; samples by thread: {dict(threads)}; "
        f"load average {' '.join(Path('/proc/loadavg').read_text().split()[:3])}\n"
    )
    print(flame.table(stages, loop_ms))


def served(port: int) -> int:
    """Requests answered so far (``sentiment_requests_total``, every route and status)."""
    text = http_get(port, "/metrics")[1].decode()
    return int(
        sum(float(m) for m in re.findall(r"^sentiment_requests_total\{.*\} (\S+)$", text, re.M))
    )


if __name__ == "__main__":
    main()
