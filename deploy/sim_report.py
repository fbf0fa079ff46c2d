"""Tables for ``deploy/simulate_hpa.py``: the summary, an hourly view, and the spike second by second."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from deploy.replica_model import ReplicaModel
    from deploy.simulate_hpa import Result

SYNC_S = 15
P99_BOUND_MS = 100.0


def fmt_time(t: float) -> str:
    return f"{int(t // 3600) % 24:02d}:{int(t % 3600 // 60):02d}:{int(t % 60):02d}"


def report(results: list[Result], args: argparse.Namespace, model: ReplicaModel) -> None:
    print(
        f"replica: capacity {model.capacity:.0f} req/s, p99<=100ms up to "
        f"{model.rate_at_p99(P99_BOUND_MS):.0f} req/s, ready {model.ready_s:.1f} s "
        f"(+{args.schedule_s:.0f} s scheduling); peak {args.peak:.0f} req/s, spike x{args.spike_x:g} "
        f"at {fmt_time(args.spike_at)} for {args.spike_min:g} min"
    )
    print(
        "| HPA | requests | 503 | 503 % | s with p99 > 100 ms | recovered after | max replicas | replica-hours |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        rec = f"{r.recovered_s:.0f} s" if r.recovered_s is not None else "never"
        print(
            f"| {r.name} | {r.requests:,.0f} | {r.rejected:,.0f} | {100 * r.rejected / r.requests:.3f} "
            f"| {r.slow_s} | {rec} | {r.max_replicas} | {r.replica_s / 3600:.1f} |"
        )
    print(
        f"\nAround the spike (every {SYNC_S} s): load req/s, ready+starting pods, queue per pod, 503/s, p99 ms"
    )
    print(
        "| time | load | "
        + " | ".join(f"{r.name}: pods, queue, 503/s, p99" for r in results)
        + " |"
    )
    print("|---|---:|" + "---|" * len(results))
    for i, row in enumerate(results[0].rows):
        t = row[0]
        if not args.spike_at - 30 <= t <= args.spike_at + args.detail_s:
            continue
        cells = []
        for r in results:
            _, _, ready, starting, queue, rej, p99 = r.rows[i]
            cells.append(f"{ready}+{starting}, {queue:.0f}, {rej:.0f}, {p99:.0f}")
        print(f"| {fmt_time(t)} | {row[1]:.0f} | " + " | ".join(cells) + " |")
    if len(results[0].rows) * SYNC_S >= 2 * 3600:
        hourly(results)


def hourly(results: list[Result]) -> None:
    """One line per hour: load, pods and the worst p99 of that hour, per HPA."""
    print("\nThe day, hour by hour: load req/s; per HPA pods at the hour, worst p99 ms in the hour")
    print("| hour | load | " + " | ".join(f"{r.name}: pods, worst p99" for r in results) + " |")
    print("|---|---:|" + "---|" * len(results))
    first = results[0].rows
    for i in range(0, len(first), 3600 // SYNC_S):
        cells = []
        for r in results:
            rows = r.rows[i : i + 3600 // SYNC_S]
            cells.append(f"{rows[0][2] + rows[0][3]}, {max(row[6] for row in rows):.0f}")
        print(f"| {fmt_time(first[i][0])} | {first[i][1]:.0f} | " + " | ".join(cells) + " |")
