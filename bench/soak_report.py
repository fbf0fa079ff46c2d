"""``bench.soak``'s per-minute line, end-of-run summary (the pass criteria) and PNG plot."""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

GOOD = {"200"}
RESENT = "resent_on_new_connection"  # bench.openloop: a kept-alive connection closed as it wrote
WARMUP_MIN = 2  # minutes left out of the drift and slope figures (first swaps' compilations)


def _errors(statuses: dict[str, int]) -> int:
    return sum(n for k, n in statuses.items() if k not in GOOD and k != RESENT)


def _lost(result: dict[str, Any]) -> int:
    answered = sum(int(n) for k, n in result["statuses"].items() if k != RESENT)
    return max(0, int(result.get("issued", 0)) - answered)


def line(row: dict[str, Any]) -> str:
    single = row["classes"]["single"].get("latency_ms", {})
    errors = sum(_errors(c["statuses"]) for c in row["classes"].values())
    return (
        f"min {row['minute']:>3}: rss {row['rss_mib']:.0f} MiB, single p50 "
        f"{single.get('p50', float('nan')):.1f} p99 {single.get('p99', float('nan')):.1f} ms, "
        f"errors {errors}, depth<= {row['max_queue_depth']:.0f}, lag<= "
        f"{row['loop_lag']['max_bucket_s'] * 1000:g} ms, swaps {row['swaps']}, "
        f"cli {row['batch_cli']}, load {row['load_average']:.1f}"
    )


def _slope_mib_per_h(rows: list[dict[str, Any]]) -> float | None:
    pts = [(r["t"] / 3600.0, r["rss_mib"]) for r in rows]
    if len(pts) < 3:
        return None
    mx, my = statistics.fmean(p[0] for p in pts), statistics.fmean(p[1] for p in pts)
    den = sum((x - mx) ** 2 for x, _ in pts)
    return sum((x - mx) * (y - my) for x, y in pts) / den if den else None


def summarize(
    meta: dict[str, Any], rows: list[dict[str, Any]], swaps: list[dict[str, Any]], log: str
) -> dict[str, Any]:
    classes: dict[str, dict[str, int]] = {}
    for row in rows:
        for name, result in row["classes"].items():
            c = classes.setdefault(name, {"issued": 0, "ok": 0, "errors": 0, "lost": 0})
            c["issued"] += int(result.get("issued", 0))
            c["ok"] += sum(n for k, n in result["statuses"].items() if k in GOOD)
            c["errors"] += _errors(result["statuses"])
            c["lost"] += _lost(result)
    hostile = rows[-1]["hostile"] if rows else {}
    unexpected = {k: n for k, n in hostile.items() if not k.endswith(("_4xx", "_closed"))}
    cli_bad = [r["batch_cli"] for r in rows if r["batch_cli"].get("exit") != 0
               or r["batch_cli"].get("rows") != 200]  # fmt: skip
    after = rows[WARMUP_MIN:]
    p99 = [r["classes"]["single"]["latency_ms"]["p99"] for r in after
           if "latency_ms" in r["classes"]["single"]]  # fmt: skip
    first, last = p99[:10], p99[-10:]
    drift = (statistics.median(last) / statistics.median(first)) if first and last else None
    server_errors = sum(c["errors"] for c in classes.values())
    lost = sum(c["lost"] for c in classes.values())
    return {
        "meta": meta,
        "minutes": len(rows),
        "swaps": len(swaps),
        "swap_seconds_max": max((s["s"] for s in swaps), default=None),
        "classes": classes,
        "server_errors": server_errors,
        "lost": lost,
        "hostile": hostile,
        "hostile_unexpected": unexpected,
        "batch_cli_runs": len(rows),
        "batch_cli_failures": cli_bad,
        "p99_single_first10_median_ms": statistics.median(first) if first else None,
        "p99_single_last10_median_ms": statistics.median(last) if last else None,
        "p99_drift_ratio": drift,
        "rss_first_mib": after[0]["rss_mib"] if after else None,
        "rss_last_mib": after[-1]["rss_mib"] if after else None,
        "rss_slope_mib_per_h": _slope_mib_per_h(after),
        "loop_lag_over_20ms": sum(r["loop_lag"]["over_20ms"] for r in rows),
        "loop_lag_max_bucket_s": max((r["loop_lag"]["max_bucket_s"] for r in rows), default=None),
        "load_average_mean": statistics.fmean(r["load_average"] for r in rows) if rows else None,
        "log_errors": sum(1 for ln in log.splitlines() if " ERROR " in ln or " CRITICAL " in ln),
        "clean": server_errors == 0 and lost == 0 and not unexpected and not cli_bad,
    }


def plot(meta: dict[str, Any], rows: list[dict[str, Any]], swaps: list[dict[str, Any]],
         path: Path) -> None:  # fmt: skip
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t0 = meta["started"]
    x = [(r["t"] - t0) / 60 for r in rows]
    fig, axes = plt.subplots(4, 1, figsize=(10, 11), sharex=True)
    axes[0].plot(x, [r["rss_mib"] for r in rows], label="RSS at minute end")
    axes[0].plot(x, [r["rss_max_mib"] for r in rows], ":", label="RSS max in minute")
    axes[0].set_ylabel("MiB")
    for name in ("single", "single_whole", "batch4", "explain"):
        lat = [r["classes"][name].get("latency_ms", {}) for r in rows]
        axes[1].plot(x, [v.get("p99", float("nan")) for v in lat], label=f"{name} p99")
    axes[1].plot(x, [r["classes"]["single"].get("latency_ms", {}).get("p50", float("nan"))
                     for r in rows], "k--", label="single p50")  # fmt: skip
    axes[1].set_yscale("log")
    axes[1].set_ylabel("ms")
    axes[2].plot(x, [sum(_errors(c["statuses"]) + _lost(c) for c in r["classes"].values())
                     for r in rows], "r", label="errors + lost")  # fmt: skip
    axes[2].plot(x, [r["max_queue_depth"] for r in rows], label="max queue depth")
    axes[3].plot(x, [r["load_average"] for r in rows], label="load average (1 min)")
    axes[3].set_xlabel("minutes")
    for ax in axes:
        for s in swaps:
            ax.axvline((s["t"] - t0) / 60, color="grey", alpha=0.3)
        ax.legend(loc="upper left", fontsize=8)
    fig.suptitle(f"soak: {meta['rate_rps']:.0f} req/s offered, {len(swaps)} hot swaps (grey)")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
