"""Soak: a real server under a steady mixed load for a long time, with hot swaps and hostile clients.

    .venv/bin/python -m bench.soak [--minutes 30] [--swap-every 5] [--rate R | --capacity C]
                                   [--share 0.6] [--check]     # make soak

Serves a temporary ``MODEL_DIR`` holding versions 3 and 4 of the committed models (4 renamed
away and back every ``--swap-every`` minutes: each rename is a hot swap, 4 <-> 3). First measures
the c=64 capacity of ``/predict`` (``bench.loadgen``, 20 s) unless ``--capacity``/``--rate`` is
given, then offers ``--share`` of it, minute after minute, as Poisson arrivals split over
``/predict`` single (default scoring, ``whole``, ``last``) and batch, plus ``/explain``, the batch
CLI on 200 reviews each minute, a slow client every 10 s and a bad body every second
(``bench.soak_traffic``). Per minute it writes one JSON line (RSS, p50/p99 per class, errors, lost
requests, max queue depth, event-loop lag, swaps, load average) to
``bench/results/soak-<start>.jsonl``, and at the end a summary and a PNG plot beside it
(``bench.soak_report``). ``--check`` exits 1 on any server error or lost request.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench import soak_report, soak_traffic
from bench.reviews import load_reviews
from bench.server import REPO, Server
from bench.swap_lag import get_ok, lag_buckets, phase, wait_for

COMMITTED = REPO / "model_artifacts" / "imdb_lstm"
RESULTS = REPO / "bench" / "results"


def measure_capacity(port: int, bodies: Path) -> float:
    """Closed-loop c=64 on ``/predict`` single for 20 s: completed req/s."""
    cmd = [sys.executable, "-m", "bench.loadgen", "--url", f"http://127.0.0.1:{port}/predict",
           "--bodies", str(bodies), "-c", "64", "-n", "1000000", "--warmup", "500",
           "--max-seconds", "20"]  # fmt: skip
    out = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, check=True)
    return float(json.loads(out.stdout)["throughput_rps"])


class Swapper:
    """Every ``every_s``: version 4 renamed in or out of ``MODEL_DIR``; waits for the switch."""

    def __init__(self, server: Server, model_dir: Path, every_s: float) -> None:
        self.server, self.model_dir, self.every_s = server, model_dir, every_s
        self.done: list[dict[str, Any]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.every_s):
            inside = (self.model_dir / "4").exists()
            to = "3" if inside else "4"
            started = time.monotonic()
            src, dst = ("4", ".4") if inside else (".4", "4")
            os.rename(self.model_dir / src, self.model_dir / dst)
            wait_for(
                self.server.port, lambda m, to=to: [v["version"] for v in m["versions"]] == [to]
            )
            self.done.append({"t": time.time(), "to": to, "s": time.monotonic() - started})

    def __enter__(self) -> Swapper:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def queue_depth(port: int) -> float:
    """The queue depth now (NaN when ``/metrics`` cannot be had: an overloaded server is data)."""
    try:
        text = get_ok(port, "/metrics", timeout_s=10.0).decode()
    except TimeoutError:
        return float("nan")
    found = re.findall(r"^sentiment_queue_depth(?:\{[^}]*\})? (\S+)$", text, re.MULTILINE)
    return sum(float(v) for v in found)


def lag(port: int) -> dict[float, float]:
    try:
        return lag_buckets(port)
    except TimeoutError:
        return {}


def minute(server: Server, bodies: dict[str, Path], rate: float, seconds: float, i: int,
           folder: Path, model_dir: Path) -> dict[str, Any]:  # fmt: skip
    """One soak minute: the traffic, the batch CLI, and samples of depth, RSS and lag."""
    lag0, t0 = lag(server.port), time.time()
    procs = soak_traffic.start_minute(server.port, bodies, rate, seconds, seed=i)
    cli: dict[str, Any] = {}
    cli_thread = threading.Thread(
        target=lambda: cli.update(soak_traffic.run_batch_cli(folder, model_dir)), daemon=True
    )
    cli_thread.start()
    depth, rss = 0.0, []
    while any(p.poll() is None for p in procs.values()):
        now = queue_depth(server.port)
        depth = depth if now != now else max(depth, now)  # NaN: not read
        rss.append(server.rss_mib())
        time.sleep(2.0)
    classes = soak_traffic.finish_minute(procs)
    cli_thread.join()
    return {
        "minute": i, "t": t0, "rss_mib": rss[-1] if rss else server.rss_mib(),
        "rss_max_mib": max(rss, default=0.0), "max_queue_depth": depth,
        "loop_lag": phase(lag0, lag1) if lag0 and (lag1 := lag(server.port)) else
                    {"samples": 0, "over_20ms": 0, "max_bucket_s": float("nan")},
        "batch_cli": cli,
        "load_average": os.getloadavg()[0], "classes": classes,
    }  # fmt: skip


def report_only(series: Path) -> int:
    """Summary and plot of a time series already written (a run stopped early has no summary);
    swap times are known to the minute here (the minute whose row first counts the swap)."""
    lines = [json.loads(line) for line in series.read_text().splitlines() if line.strip()]
    meta, rows = lines[0]["meta"], lines[1:]
    swaps = [{"t": r["t"], "to": "?", "s": float("nan")} for prev, r in zip([{"swaps": 0}, *rows],
             rows, strict=False) if r["swaps"] > prev["swaps"]]  # fmt: skip
    summary = soak_report.summarize(meta, rows, swaps, "")
    series.with_suffix(".summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    soak_report.plot(meta, rows, swaps, series.with_suffix(".png"))
    print(json.dumps(summary, indent=2))
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--swap-every", type=float, default=5.0, help="minutes between hot swaps")
    ap.add_argument("--share", type=float, default=0.6, help="of the c=64 capacity")
    ap.add_argument("--capacity", type=float, help="req/s at c=64 (skip measuring it)")
    ap.add_argument("--rate", type=float, help="offered req/s in total (skip --share)")
    ap.add_argument("--minute-s", type=float, default=60.0, help="length of one soak minute")
    ap.add_argument("--out", type=Path, help="time series (default bench/results/soak-<t>.jsonl)")
    ap.add_argument("--check", action="store_true", help="exit 1 on server errors or lost ones")
    ap.add_argument("--report", type=Path, help="only summarize and plot this time series again")
    args = ap.parse_args(argv)
    if args.report:
        return report_only(args.report)
    # SIGTERM unwinds like Ctrl-C: the server is stopped and the minutes so far are kept.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    out = args.out or RESULTS / f"soak-{time.strftime('%Y%m%dT%H%M%S')}.jsonl"
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="soak-") as tmp:
        folder, model_dir = Path(tmp), Path(tmp) / "models"
        shutil.copytree(COMMITTED / "3", model_dir / "3")
        shutil.copytree(COMMITTED / "4", model_dir / ".4")
        texts, source = load_reviews(3000, max_chars=4000)
        bodies = soak_traffic.write_bodies(texts, folder)
        env = {"MODEL_DIR": str(model_dir), "MODEL_POLL_S": "1"}
        with Server("soak", "app.main:app", env) as server:
            capacity = args.capacity or (None if args.rate else
                                         measure_capacity(server.port, bodies["single"]))  # fmt: skip
            rate = args.rate or soak_traffic.request_rate(capacity or 0.0, args.share)
            time.sleep(30.0)  # the capacity run's connections and queue are gone
            meta = {"started": time.time(), "capacity_c64_rps": capacity, "rate_rps": rate,
                    "source": source, "minutes": args.minutes, "swap_every_min": args.swap_every,
                    "cores": os.cpu_count(), "pid": server.proc.pid if server.proc else None}  # fmt: skip
            print(f"soak: {meta}", flush=True)
            hostile = soak_traffic.Hostile(server.port, 20.0 + 5.0, Counter())
            hostile.start()
            rows = []
            with out.open("w") as fh, Swapper(server, model_dir, args.swap_every * 60) as swapper:
                fh.write(json.dumps({"meta": meta}) + "\n")
                for i in range(max(1, round(args.minutes * 60 / args.minute_s))):
                    row = minute(server, bodies, rate, args.minute_s, i, folder, model_dir)
                    row["swaps"] = len(swapper.done)
                    row["hostile"] = dict(hostile.counts)
                    rows.append(row)
                    fh.write(json.dumps(row) + "\n")
                    fh.flush()
                    print(soak_report.line(row), flush=True)
            hostile.stop()
            swaps = swapper.done
            log = server.log_path.read_text() if server.log_path else ""
    summary = soak_report.summarize(meta, rows, swaps, log)
    out.with_suffix(".summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    soak_report.plot(meta, rows, swaps, out.with_suffix(".png"))
    print(json.dumps(summary, indent=2))
    return 1 if args.check and not summary["clean"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
