"""All compared servers up at once, the load visiting them in turn at each concurrency level.

The machine is shared, so its speed drifts by tens of percent within minutes. Interleaving the
service and its baselines (and repeating the round) makes that drift hit every server alike:
the ratios the targets are stated in stay meaningful even when absolute numbers move.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import measure
from bench.server import Server


@dataclass(frozen=True)
class Target:
    name: str
    app: str
    env: dict[str, str]
    levels: list[int]
    n_for: Callable[[int], int]
    seconds: float


def _merge(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Median of each round's numbers; statuses summed over rounds."""
    out = dict(runs[0])
    for key in ("throughput_rps", "mean_batch_size", "server_cpu_ms_per_req", "client_cpu_share"):
        vals = [r[key] for r in runs if r.get(key) is not None]
        out[key] = round(statistics.median(vals), 3) if vals else None
    out["latency_ms"] = {
        k: statistics.median(r["latency_ms"][k] for r in runs) for k in runs[0]["latency_ms"]
    }
    statuses: Counter[str] = Counter()
    for r in runs:
        statuses.update(r["statuses"])
    out["statuses"] = dict(statuses)
    out["503_without_retry_after"] = sum(r["503_without_retry_after"] for r in runs)
    out["completed"] = sum(r["completed"] for r in runs)
    out["rounds"] = [r["throughput_rps"] for r in runs]
    out["peak_rss_mib"] = max(r["peak_rss_mib"] for r in runs)
    return out


def run_targets(
    targets: list[Target], bodies: Path, rounds: int, log: Callable[[str], None] = print
) -> dict[str, Any]:
    """Per-target results; nothing is left running (the servers stop on exit)."""
    results: dict[str, Any] = {}
    raw: dict[tuple[str, int], list[dict[str, Any]]] = {}
    with ExitStack() as stack:
        servers: dict[str, Server] = {}
        for t in targets:  # started one by one so each start-up time is measured undisturbed
            srv = stack.enter_context(Server(t.name, t.app, t.env))
            servers[t.name] = srv
            log(f"{t.name}: ready in {srv.ready_s:.2f} s (rss {srv.rss_mib():.0f} MiB)")
        levels = sorted({c for t in targets for c in t.levels})
        for r in range(rounds):
            for i, c in enumerate(levels):
                order = [t for t in targets if c in t.levels]
                shift = (r + i) % len(order)  # rotate who goes first
                for t in order[shift:] + order[:shift]:
                    row = measure.run_levels(servers[t.name], bodies, [c], t.n_for, t.seconds, log)
                    raw.setdefault((t.name, c), []).append(row[0])
        for t in targets:
            srv = servers[t.name]
            results[t.name] = {
                "app": t.app,
                "env": {k: v for k, v in t.env.items() if k != "MODEL_DIR"},
                "ready_s": round(srv.ready_s or 0.0, 2),
                "peak_rss_mib": round(max([srv.peak_rss_mib(), *srv.rss_samples]), 1),
                "levels": [_merge(raw[(t.name, c)]) for c in t.levels],
            }
    return results
