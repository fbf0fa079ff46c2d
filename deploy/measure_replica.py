"""Measure one replica as Kubernetes would run it: start-up time, memory, CPU and capacity.

    .venv/bin/python -m deploy.measure_replica            # ~2 min; writes deploy/replica_profile.json
    .venv/bin/python -m deploy.measure_replica --quick    # fewer levels, shorter runs
    setsid .venv/bin/python -m deploy.measure_replica --nice -15   # on a busy shared box (root)

The replica is a real ``python -m app.serve`` subprocess (the Dockerfile's entry point and flags,
via ``bench/server.py``) and the ConfigMap's environment (``deploy/k8s/base``). Steps:

1. start it ``--starts`` times: process start -> first ``/readyz`` 200 (the probe budget);
2. open-loop Poisson load (``bench/openloop.py``) at rising rates: throughput, p50/p99 from the
   scheduled send time, the server's CPU (user+sys from ``/proc/<pid>/stat``) in cores, and from
   ``/metrics`` the time-averaged queue depth (Little's law: d(sum of queue waits)/dt, what the
   HPA's queue metric reports), mean batch and queue wait; stops after the first overloaded rate;
3. closed-loop c=64 and c=256 (``bench/loadgen.py``): the most the replica serves;
4. the largest legal bodies (64 texts, ~1 MB) at c=8: the memory peak;
5. peak RSS = the kernel's ``VmHWM`` of the server process over all of the above.

The JSON (with the command, time and load average) is what ``deploy/simulate_hpa.py``, the
manifests' resource requests and ``tests/deploy`` read.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from bench import measure
from bench.reviews import load_reviews, write_bodies
from bench.server import REPO, Server, http_get

OUT = REPO / "deploy" / "replica_profile.json"
CONFIGMAP = REPO / "deploy" / "k8s" / "base" / "kustomization.yaml"
RATES = [250, 500, 1000, 1500, 2000, 2500, 3000, 3500, 4000, 5000]


def configmap_env() -> dict[str, str]:
    """The literals of the base ConfigMap generator: the replica runs with the manifest's env."""
    doc = yaml.safe_load(CONFIGMAP.read_text(encoding="utf-8"))
    env: dict[str, str] = {}
    for gen in doc.get("configMapGenerator", []):
        for literal in gen.get("literals", []):
            key, _, value = literal.partition("=")
            env[key] = value
    return env


def scrape(server: Server) -> dict[str, float]:
    """The few sample values the capacity model needs, from ``GET /metrics``."""
    _, body = http_get(server.port, "/metrics")
    wanted = {
        "sentiment_queue_wait_seconds_sum",
        "sentiment_queue_wait_seconds_count",
        "sentiment_batch_size_sum",
        "sentiment_batch_size_count",
    }
    out: dict[str, float] = {}
    for line in body.decode().splitlines():
        name, _, value = line.partition(" ")
        if name in wanted:
            out[name] = float(value)
    return out


def openloop(url: str, bodies: Path, rate: float, seconds: float) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "bench.openloop", "--url", url, "--bodies", str(bodies)]
    cmd += ["--rate", str(rate), "--seconds", str(seconds)]
    out = subprocess.run(
        cmd, cwd=REPO, check=True, capture_output=True, text=True, timeout=seconds + 120
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def loop_cpu_s(server: Server) -> float:
    """CPU seconds of the main thread alone: the event loop, which every request passes through."""
    assert server.proc is not None
    pid = server.proc.pid
    try:
        fields = Path(f"/proc/{pid}/task/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measured(server: Server, run: Any) -> dict[str, Any]:
    """Run ``run()`` against ``server``; add server CPU cores and queue/batch figures."""
    m0, cpu0, t0 = scrape(server), server.cpu_s(), time.perf_counter()
    loop0 = loop_cpu_s(server)
    res: dict[str, Any] = run()
    m1, cpu1, dt = scrape(server), server.cpu_s(), time.perf_counter() - t0
    res["loop_cores"] = round((loop_cpu_s(server) - loop0) / dt, 3)

    def delta(name: str) -> float:
        return m1.get(name, 0.0) - m0.get(name, 0.0)

    batches = delta("sentiment_batch_size_count")
    texts = delta("sentiment_queue_wait_seconds_count")
    res["server_cores"] = round((cpu1 - cpu0) / dt, 3)
    res["queue_depth_avg"] = round(delta("sentiment_queue_wait_seconds_sum") / dt, 2)
    res["queue_wait_ms_mean"] = round(delta("sentiment_queue_wait_seconds_sum") / texts * 1e3, 2)
    res["mean_batch"] = round(delta("sentiment_batch_size_sum") / batches, 2) if batches else None
    res["peak_rss_mib"] = round(server.peak_rss_mib(), 1)
    return res


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--starts", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=5.0, help="per open-loop rate")
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument(
        "--nice",
        type=int,
        default=None,
        help="run server and load client at this niceness (e.g. -10 as root): on a shared box this "
        "stands in for the CPU a pod's request reserves",
    )
    args = ap.parse_args(argv)
    if args.nice is not None:
        os.setpriority(os.PRIO_PROCESS, 0, args.nice)  # inherited by every child process
        # With CFS autogroups (kernel.sched_autogroup_enabled) nice only ranks threads inside one
        # session's group; the group's own weight is set here (run under `setsid`).
        with contextlib.suppress(OSError):
            Path("/proc/self/autogroup").write_text(str(args.nice))
    seconds = 2.0 if args.quick else args.seconds
    rates = RATES[::2] if args.quick else RATES
    env = configmap_env()
    loadavg0 = Path("/proc/loadavg").read_text().split()[:3]
    texts, source = load_reviews(4000, max_chars=20_000)
    work = Path(tempfile.mkdtemp(prefix="measure-replica-"))
    bodies, big = work / "bodies.jsonl", work / "big.jsonl"
    write_bodies(texts, bodies)
    longest = sorted(texts, key=len)[-64:]
    with big.open("w", encoding="utf-8") as fh:  # 64 texts, just under MAX_BODY_BYTES (1 MiB)
        batch = [(t * (15_000 // len(t) + 1))[:15_000] for t in longest]
        fh.write(json.dumps({"texts": batch}) + "\n")

    ready, rss_ready = [], []
    for i in range(args.starts):
        server = Server(f"replica{i}", "app.main:app", env).start()
        ready.append(round(server.ready_s or 0.0, 2))
        rss_ready.append(round(server.rss_mib(), 1))
        print(f"start {i}: ready in {ready[-1]} s, RSS {rss_ready[-1]} MiB", flush=True)
        if i < args.starts - 1:
            server.stop()
    levels = []
    try:
        for rate in rates:
            res = measured(server, lambda r=rate: openloop(server.url, bodies, r, seconds))
            levels.append(res)
            lat, st = res["latency_ms"], res["statuses"]
            print(
                f"rate {rate:>5}: {res['throughput_rps']:>7.1f} req/s p50 {lat['p50']:.1f} "
                f"p99 {lat['p99']:.1f} ms cores {res['server_cores']} queue "
                f"{res['queue_depth_avg']} batch {res['mean_batch']} {st}",
                flush=True,
            )
            ok = st.get("200", 0)
            if lat["p99"] > 1000 or ok < 0.99 * res["completed"]:
                break  # overloaded: the next rate would only measure the queue limit
        closed = {}
        for c in (64, 256):
            n = 2000 if args.quick else 6000
            res = measured(server, lambda c=c, n=n: measure.loadgen(server.url, bodies, c, n, 30))
            closed[str(c)] = res
            print(f"closed c={c}: {res['throughput_rps']} req/s p99 "
                  f"{res['latency_ms']['p99']:.1f} ms cores {res['server_cores']}", flush=True)  # fmt: skip
        worst = measured(server, lambda: measure.loadgen(server.url, big, 8, 100, 60))
        print(f"64-text 1 MB bodies: {worst['statuses']} peak RSS {worst['peak_rss_mib']} MiB")
    finally:
        t0 = time.perf_counter()
        server.stop()
        stop_s = round(time.perf_counter() - t0, 2)
    profile = {
        "command": "python -m deploy.measure_replica " + " ".join(argv or sys.argv[1:]),
        "time_utc": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "git": subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
        ).stdout.strip(),
        "machine": {
            "cpus": os.cpu_count(),
            "nice": os.getpriority(os.PRIO_PROCESS, 0),
            "autogroup": Path("/proc/self/autogroup").read_text().strip(),
            "loadavg_start": loadavg0,
            "loadavg_end": Path("/proc/loadavg").read_text().split()[:3],
        },
        "env": env,
        "reviews": source,
        "ready_s": ready,
        "rss_at_ready_mib": rss_ready,
        "stop_s": stop_s,
        "open_loop_seconds_per_rate": seconds,
        "open_loop": levels,
        "closed_loop": closed,
        "max_bodies": worst,
        "peak_rss_mib": max(r["peak_rss_mib"] for r in [*levels, *closed.values(), worst]),
    }
    args.out.write_text(json.dumps(profile, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.out}: peak RSS {profile['peak_rss_mib']} MiB, "
          f"ready {ready} s, stop {stop_s} s")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
