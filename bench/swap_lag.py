"""Event-loop lag during hot model swaps under load, against a control phase without swaps.

    .venv/bin/python -m bench.swap_lag [--swaps 20] [--rate 200] [--control-s 30] [--poll 0.2]

Serves a temporary ``MODEL_DIR`` (version 2, version 3 renamed in and out as in
``bench.swap_memory``) while ``bench.openloop`` sends real IMDB reviews to ``/predict`` at
``--rate`` req/s (Poisson) the whole time. Phases: ``--control-s`` seconds of load alone, then
``--swaps`` swaps (each: rename, new default, old version unloaded). Per phase, from the server's
own ``sentiment_event_loop_lag_seconds`` histogram (``app/loop_lag.py``, a 10 ms timer): the
samples and how many were late by more than 20 ms, and the largest lag bucket reached; from the
server log, each unload's collection time on the event loop (``collected in X ms``). Also the
clients' status counts (any non-200 is printed). Writes ``bench/results/swap_lag.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from bench.reviews import load_reviews, write_bodies
from bench.server import REPO, Server, http_get
from bench.swap_memory import COMMITTED

LAG = "sentiment_event_loop_lag_seconds"
BOUND_S = 0.02
RESULTS = REPO / "bench" / "results"


def lag_buckets(port: int) -> dict[float, float]:
    """Cumulative counts of the loop-lag histogram, by upper bound (inf included)."""
    text = get_ok(port, "/metrics").decode()
    out: dict[float, float] = {}
    for le, value in re.findall(rf'^{LAG}_bucket{{le="([^"]+)"}} (\S+)$', text, re.MULTILINE):
        out[float(le)] = float(value)
    return out


def phase(before: dict[float, float], after: dict[float, float]) -> dict[str, Any]:
    """Samples in a phase, how many were over ``BOUND_S``, and the highest bucket reached."""
    delta = {le: after[le] - before.get(le, 0.0) for le in sorted(after)}
    total = delta[float("inf")]
    at_bound = max((v for le, v in delta.items() if le <= BOUND_S + 1e-9), default=0.0)
    reached = min((le for le, v in delta.items() if v >= total), default=float("inf"))
    return {"samples": int(total), "over_20ms": int(total - at_bound), "max_bucket_s": reached}


def get_ok(port: int, path: str, timeout_s: float = 60.0) -> bytes:
    """A 200 body, retried: under overload the server may answer 503 (``--limit-concurrency``)
    or be slow; the benchmark waits, it does not crash."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            status, body = http_get(port, path, timeout=10.0)
            if status == 200:
                return body
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"GET {path} kept failing")
        time.sleep(0.2)


def models(port: int) -> dict[str, Any]:
    return dict(json.loads(get_ok(port, "/models")))


def wait_for(port: int, done: Any, timeout_s: float = 300.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not done(models(port)):
        if time.monotonic() > deadline:
            raise TimeoutError(f"no switch in {timeout_s}s: {models(port)}")
        time.sleep(0.05)


def add(total: dict[float, float], before: dict[float, float], after: dict[float, float]) -> None:
    for le, v in after.items():
        total[le] = total.get(le, 0.0) + v - before.get(le, 0.0)


def swap(
    server: Server, model_dir: Path, to: str, load: dict[float, float], unload: dict[float, float]
) -> None:
    """One swap; the lag samples from the rename to the new default (loading and warming up the
    new version in a worker thread) go to ``load``, from there to 0.5 s after the old version was
    unloaded (drain, collection, ``malloc_trim``) to ``unload``."""
    s0 = lag_buckets(server.port)
    if to == "3":
        os.rename(model_dir / ".3", model_dir / "3")
    else:
        os.rename(model_dir / "3", model_dir / ".3")
    wait_for(server.port, lambda m: m["default_version"] == to)
    s1 = lag_buckets(server.port)
    wait_for(server.port, lambda m: [v["version"] for v in m["versions"]] == [to])
    time.sleep(0.5)
    s2 = lag_buckets(server.port)
    add(load, s0, s1)
    add(unload, s1, s2)


class Load:
    """``bench.openloop`` in 10-s runs, one after another, until stopped; statuses summed."""

    def __init__(self, url: str, bodies: Path, rate: float) -> None:
        self.cmd = [sys.executable, "-m", "bench.openloop", "--url", url, "--bodies", str(bodies)]
        self.cmd += ["--rate", str(rate), "--seconds", "10"]
        self.statuses: dict[str, int] = {}
        self.p99s: list[float] = []
        self.errors: list[list[str]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        seed = 0
        while not self._stop.is_set():
            seed += 1
            out = subprocess.run(
                [*self.cmd, "--seed", str(seed)], cwd=REPO, capture_output=True, text=True
            )
            if out.returncode != 0:  # counted, and the load goes on: a benchmark reports it
                self.statuses["client_crash"] = self.statuses.get("client_crash", 0) + 1
                self.errors.append(out.stderr.strip().splitlines()[-1:])
                continue
            result = json.loads(out.stdout)
            for k, v in result["statuses"].items():
                self.statuses[k] = self.statuses.get(k, 0) + v
            self.p99s.append(result["latency_ms"]["p99"])

    def __enter__(self) -> Load:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def unload_pauses(log: Path) -> list[tuple[float, float]]:
    """Each unload's collection: (wall ms the event loop waited, CPU ms of the collection)."""
    found = re.findall(
        r"collected in ([\d.]+) ms on the event loop, ([\d.]+) ms CPU", log.read_text()
    )
    return [(float(wall), float(cpu)) for wall, cpu in found]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--swaps", type=int, default=20)
    ap.add_argument("--rate", type=float, default=200.0, help="/predict req/s during both phases")
    ap.add_argument("--control-s", type=float, default=30.0)
    ap.add_argument("--poll", type=float, default=0.2, help="MODEL_POLL_S")
    ap.add_argument("--out", type=Path, default=RESULTS / "swap_lag.json")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="swap-lag-") as tmp:
        model_dir = Path(tmp) / "models"
        shutil.copytree(COMMITTED / "2", model_dir / "2")
        shutil.copytree(COMMITTED / "3", model_dir / ".3")
        texts, source = load_reviews(2000, max_chars=4000)
        write_bodies(texts, Path(tmp) / "bodies.jsonl")
        env = {"MODEL_DIR": str(model_dir), "MODEL_POLL_S": str(args.poll)}
        with (
            Server("swap-lag", "app.main:app", env) as server,
            Load(server.url, Path(tmp) / "bodies.jsonl", args.rate) as load,
        ):
            time.sleep(5.0)  # connections open, caches warm
            start = lag_buckets(server.port)
            time.sleep(args.control_s)
            mid = lag_buckets(server.port)
            loading: dict[float, float] = {}
            unloading: dict[float, float] = {}
            for i in range(args.swaps):
                swap(server, model_dir, "3" if i % 2 == 0 else "2", loading, unloading)
        pauses = unload_pauses(server.log_path) if server.log_path else []
        if server.log_path and os.environ.get("SWAP_LAG_KEEP_LOG"):  # for a look at the lags
            shutil.copy(server.log_path, args.out.with_suffix(".log"))
        if server.log_path:
            os.unlink(server.log_path)
    result = {
        "rate_rps": args.rate, "source": source, "load_average": os.getloadavg(),
        "control": phase(start, mid) | {"seconds": args.control_s},
        "swaps": args.swaps,
        "loading": phase({}, loading),
        "unloading": phase({}, unloading),
        "unload_collect_ms": {
            "wall_max": max((w for w, _ in pauses), default=float("nan")),
            "cpu_max": max((c for _, c in pauses), default=float("nan")),
            "all": pauses,
        },
        "client_statuses": load.statuses, "client_p99_ms_per_10s": load.p99s,
    }  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    for name in ("control", "loading", "unloading"):
        p = result[name]
        print(f"{name}: {p['samples']} loop-lag samples, {p['over_20ms']} over 20 ms, "
              f"largest lag <= {p['max_bucket_s'] * 1000:g} ms")  # fmt: skip
    collect = result["unload_collect_ms"]
    print(
        f"unload collections on the loop: max {collect['wall_max']:.1f} ms wall, "
        f"{collect['cpu_max']:.1f} ms CPU over {len(pauses)} unloads; clients: {load.statuses}; "
        f"load avg {os.getloadavg()}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
