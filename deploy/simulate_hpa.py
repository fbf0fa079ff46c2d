"""Replay a day of traffic with a 10x spike through the HPA of deploy/k8s, queue+CPU vs CPU-only.

    .venv/bin/python -m deploy.simulate_hpa                     # the table in docs/operations.md
    .venv/bin/python -m deploy.simulate_hpa --peak 20000 --csv /tmp/day.csv

One-second steps. Load: a daily curve (10 % of ``--peak`` at 04:00, the peak at 16:00) times
``--spike-x`` for ``--spike-min`` minutes from ``--spike-at`` (reached in 10 s). Replicas: the
fluid model of ``replica_model.py`` calibrated from deploy/replica_profile.json; the load is spread
evenly over ready pods; a new pod serves ``--schedule-s`` + the measured start-up + half a
readiness period after the HPA asks for it. Metrics as the cluster sees them: Prometheus scrapes
every 15 s and prometheus-adapter averages the queue over 1 m; metrics-server reports CPU averaged
over the last 15 s. The HPA (``hpa.py``, the manifest's own spec) syncs every 15 s.
"""

from __future__ import annotations

import argparse
import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from deploy.hpa import Hpa
from deploy.replica_model import PROFILE, ReplicaModel
from deploy.sim_report import report

ROOT = Path(__file__).resolve().parent.parent
BASE = ROOT / "deploy" / "k8s" / "base"
DAY = 86_400
SYNC_S, SCRAPE_S, QUEUE_WINDOW_S = 15, 15, 60
P99_BOUND_MS = 100.0


def daily_load(t: float, peak: float, spike_at: float, spike_s: float, spike_x: float) -> float:
    base = peak * (0.1 + 0.9 * (1 - math.cos(2 * math.pi * (t - 4 * 3600) / DAY)) / 2)
    if spike_at <= t < spike_at + spike_s:
        return base * (1 + (spike_x - 1) * min(1.0, (t - spike_at) / 10))
    return base


def manifest() -> tuple[dict[str, Any], float]:
    """The base HPA spec and the pod's CPU request (cores)."""
    hpa = yaml.safe_load((BASE / "hpa.yaml").read_text(encoding="utf-8"))
    deploy = yaml.safe_load((BASE / "deployment.yaml").read_text(encoding="utf-8"))
    cpu = str(deploy["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]["cpu"])
    cores = float(cpu[:-1]) / 1000 if cpu.endswith("m") else float(cpu)
    return hpa["spec"], cores


@dataclass
class Result:
    name: str
    requests: float = 0.0
    rejected: float = 0.0
    slow_s: int = 0  # seconds with p99 above the bound
    replica_s: float = 0.0
    max_replicas: int = 0
    max_queue: float = 0.0
    recovered_s: float | None = None  # spike start -> p99 within bound and no 503 for 60 s
    rows: list[tuple[int, float, int, int, float, float, float]] = field(default_factory=list)


def simulate(
    name: str, hpa: Hpa, model: ReplicaModel, cpu_request: float, args: argparse.Namespace
) -> Result:
    res = Result(name)
    start_s = args.schedule_s + model.ready_s + 2.5
    ready_at = [0] * hpa.min_replicas  # per ready pod: the step it became ready (newest last)
    starting: list[float] = []  # per starting pod: the time it will be ready
    backlog = 0.0  # per ready pod
    # Prefix sums of the per-pod queue metric and CPU cores, one entry per simulated second: a
    # pod's metric is the mean over its own lifetime inside the window, as scraped.
    queue_sum, cpu_sum = [0.0], [0.0]
    good_since: float | None = None
    for i, t in enumerate(range(args.start, args.start + args.seconds)):
        while starting and starting[0] <= t:
            starting.pop(0)
            backlog *= len(ready_at) / (len(ready_at) + 1)  # new arrivals spread over one more
            ready_at.append(i)
        ready = len(ready_at)
        load = (
            args.peak
            if args.flat
            else daily_load(t, args.peak, args.spike_at, args.spike_min * 60, args.spike_x)
        )
        served, rejected, backlog, p99, queue = model.second(load / ready, backlog)
        queue_sum.append(queue_sum[-1] + queue)
        cpu_sum.append(cpu_sum[-1] + model.cores_at(served))
        res.requests += load
        res.rejected += rejected * ready
        res.slow_s += p99 > P99_BOUND_MS
        res.replica_s += ready + len(starting)
        res.max_replicas = max(res.max_replicas, ready + len(starting))
        res.max_queue = max(res.max_queue, queue)
        if t >= args.spike_at and res.recovered_s is None:
            good = p99 <= P99_BOUND_MS and rejected == 0
            good_since = (good_since if good_since is not None else t) if good else None
            if good_since is not None and t - good_since >= 60:
                res.recovered_s = good_since - args.spike_at
        if t % SYNC_S == 0:
            last = i - (t % SCRAPE_S)  # the step of the last scrape
            per_metric = {}
            for m in hpa.metrics:
                sums, window = (
                    (cpu_sum, SCRAPE_S) if m.name == "cpu" else (queue_sum, QUEUE_WINDOW_S)
                )
                unit = 100 / cpu_request if m.name == "cpu" else 1.0
                values = []
                for since, count in Counter(ready_at).items():
                    lo = max(since, last - window + 1)
                    if lo <= last:
                        values += [(sums[last + 1] - sums[lo]) / (last + 1 - lo) * unit] * count
                per_metric[m.name] = (values, ready + len(starting) - len(values))
            current = ready + len(starting)
            desired = hpa.step(t, current, per_metric)
            if desired > current:
                starting += [t + start_s] * (desired - current)
            elif desired < current:  # the ReplicaSet deletes starting pods first, then the newest
                drop = current - desired
                cancel = min(drop, len(starting))
                starting = starting[: len(starting) - cancel]
                del ready_at[len(ready_at) - (drop - cancel) :]
            res.rows.append((t, load, len(ready_at), len(starting), queue, rejected * ready, p99))
    return res


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", type=Path, default=PROFILE)
    ap.add_argument("--peak", type=float, default=10_000, help="daily peak, req/s")
    ap.add_argument("--spike-x", type=float, default=10.0)
    ap.add_argument("--spike-at", type=float, default=10 * 3600)
    ap.add_argument("--spike-min", type=float, default=10.0)
    ap.add_argument("--schedule-s", type=float, default=5.0, help="scheduling + image on node")
    ap.add_argument("--scale", type=float, default=1.0, help="multiply measured rates")
    ap.add_argument("--start", type=int, default=0)
    ap.add_argument("--seconds", type=int, default=DAY)
    ap.add_argument("--detail-s", type=int, default=240)
    ap.add_argument("--csv", type=Path)
    ap.add_argument("--flat", action="store_true", help="constant load at --peak (no curve/spike)")
    ap.add_argument(
        "--up-percent", type=int, help="replace the scale-up Percent policy's value (what-if)"
    )
    ap.add_argument("--cpu-target", type=int, help="replace the CPU utilisation target (what-if)")
    return ap.parse_args(argv)


def what_if(spec: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    """The manifest's HPA spec with the --up-percent / --cpu-target overrides applied."""
    if args.cpu_target is not None:
        metrics = [
            {**m, "resource": {**m["resource"], "target": {**m["resource"]["target"],
                                                         "averageUtilization": args.cpu_target}}}
            if m["type"] == "Resource" else m
            for m in spec["metrics"]
        ]  # fmt: skip
        spec = {**spec, "metrics": metrics}
    percent = args.up_percent
    if percent is None:
        return spec
    up = spec["behavior"]["scaleUp"]
    policies = [{**p, "value": percent} if p["type"] == "Percent" else p for p in up["policies"]]
    return {**spec, "behavior": {**spec["behavior"], "scaleUp": {**up, "policies": policies}}}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    spec, cpu_request = manifest()
    spec = what_if(spec, args)
    model = ReplicaModel.from_profile(args.profile, scale=args.scale)
    cpu_only = {**spec, "metrics": [m for m in spec["metrics"] if m["type"] == "Resource"]}
    results = [
        simulate("queue+CPU", Hpa.from_spec(spec), model, cpu_request, args),
        simulate("CPU only", Hpa.from_spec(cpu_only), model, cpu_request, args),
    ]
    report(results, args, model)
    if args.csv:
        with args.csv.open("w", encoding="utf-8") as fh:
            fh.write("hpa,t,load,ready,starting,queue,rejected_per_s,p99_ms\n")
            for r in results:
                fh.writelines(f"{r.name},{','.join(f'{v:g}' for v in row)}\n" for row in r.rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
