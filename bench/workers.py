"""One uvicorn worker against two on this machine, interleaved like ``bench.ab``.

    python -m bench.workers [-c 16 64 256] [--rounds 4] [-n 4000]

Both servers run the same code with the deployed flags (``python -m app.serve``); the second
adds ``--workers 2`` and ``PROMETHEUS_MULTIPROC_DIR`` (which several workers need for a correct
``/metrics``). CPU and RSS are summed over the whole process tree (uvicorn's supervisor and its
workers); the load alternates between the two servers round by round and medians are printed.
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
from bench.server import Server


def tree(pid: int) -> list[int]:
    """``pid`` and all its descendants (from /proc/*/stat parent links)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def tree_cpu_s(pid: int) -> float:
    total = 0
    for p in tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def tree_rss_mib(pid: int) -> float:
    total = 0
    for p in tree(pid):
        try:
            text = Path(f"/proc/{p}/status").read_text()
        except OSError:
            continue
        total += next((int(x.split()[1]) for x in text.splitlines() if x.startswith("VmRSS")), 0)
    return total / 1024


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model-dir", default=os.environ.get("MODEL_DIR", "model_artifacts/imdb_lstm"))
    ap.add_argument("-c", "--concurrency", type=int, nargs="+", default=[16, 64, 256])
    ap.add_argument("-n", "--requests", type=int, default=4000)
    ap.add_argument("--rounds", type=int, default=4)
    args = ap.parse_args(argv)
    env = {"MODEL_DIR": str(Path(args.model_dir).resolve())}
    texts, _ = load_reviews(4000)
    runs: dict[str, dict[int, list[dict[str, Any]]]] = {"1 worker": {}, "2 workers": {}}
    with (
        tempfile.TemporaryDirectory(prefix="bench-workers-") as tmp,
        tempfile.TemporaryDirectory(prefix="bench-prom-") as prom,
    ):
        bodies = Path(tmp) / "bodies.jsonl"
        write_bodies(texts, bodies)
        two = {**env, "BENCH_UVICORN_ARGS": "--workers 2", "PROMETHEUS_MULTIPROC_DIR": prom}
        with Server("w1", "app.main:app", env) as one, Server("w2", "app.main:app", two) as pair:
            servers = {"1 worker": one, "2 workers": pair}
            for r in range(args.rounds):
                order = list(servers.items())
                for side, srv in order if r % 2 == 0 else order[::-1]:
                    assert srv.proc is not None
                    for c in args.concurrency:
                        cpu0 = tree_cpu_s(srv.proc.pid)
                        res = measure.loadgen(srv.url, bodies, c, args.requests, 60.0)
                        res["cpu_ms"] = (tree_cpu_s(srv.proc.pid) - cpu0) * 1000 / res["completed"]
                        res["rss_mib"] = tree_rss_mib(srv.proc.pid)
                        res["loadavg"] = Path("/proc/loadavg").read_text().split()[0]
                        runs[side].setdefault(c, []).append(res)
    summary: dict[str, Any] = {}
    for c in args.concurrency:
        row = {}
        for side in runs:
            rs = runs[side][c]
            row[side] = {
                "rps_median": statistics.median(x["throughput_rps"] for x in rs),
                "p99_ms_median": statistics.median(x["latency_ms"]["p99"] for x in rs),
                "cpu_ms_per_req_median": statistics.median(x["cpu_ms"] for x in rs),
                "rss_mib_max": max(x["rss_mib"] for x in rs),
                "rps_all": [x["throughput_rps"] for x in rs],
                "loadavg": [x["loadavg"] for x in rs],
                "non_200": sum(v for x in rs for k, v in x["statuses"].items() if k != "200"),
            }
            s = row[side]
            print(
                f"c={c} {side}: {s['rps_median']:.0f} req/s (rounds {s['rps_all']}), "
                f"p99 {s['p99_ms_median']:.1f} ms, CPU {s['cpu_ms_per_req_median']:.3f} ms/req, "
                f"RSS {s['rss_mib_max']:.0f} MiB, non-200 {s['non_200']}, load {s['loadavg']}"
            )
        summary[str(c)] = row
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
