"""One replica as a fluid queue, calibrated from ``deploy/replica_profile.json`` (measured).

At an arrival rate ``a`` (req/s) a replica with no backlog answers with the measured open-loop p99,
holds the measured time-averaged queue and burns the measured CPU -- interpolated between the
measured rates, up to ``capacity`` (the most it served open-loop, where the queue took over; the
closed-loop maximum if open-loop never saturated it). Beyond it the excess
piles up as backlog; a backlog beyond MAX_QUEUE_SIZE is answered 503 at once; queued texts add
``backlog / capacity`` to the latency.
"""

from __future__ import annotations

import bisect
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROFILE = Path(__file__).resolve().parent / "replica_profile.json"


def interp(xs: list[float], ys: list[float], x: float) -> float:
    """Piecewise-linear through (xs, ys), flat beyond both ends."""
    if x <= xs[0]:
        return ys[0]
    if x >= xs[-1]:
        return ys[-1]
    i = bisect.bisect_right(xs, x)
    x0, x1, y0, y1 = xs[i - 1], xs[i], ys[i - 1], ys[i]
    return y0 + (y1 - y0) * (x - x0) / (x1 - x0)


@dataclass(frozen=True)
class ReplicaModel:
    rates: list[float]  # req/s served at each measured point, ascending
    p99_ms: list[float]
    queue: list[float]  # time-averaged texts waiting (the HPA's queue metric)
    cores: list[float]
    capacity: float  # most req/s one replica serves (saturated)
    ready_s: float  # process start -> /readyz 200
    max_queue: int
    cpu_limit: float

    @classmethod
    def from_profile(
        cls, path: Path = PROFILE, cpu_limit: float = 2.0, scale: float = 1.0
    ) -> ReplicaModel:
        """``scale`` multiplies every rate (and CPU) -- e.g. a faster or a slower node."""
        profile: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        points: list[dict[str, Any]] = []
        for level in profile["open_loop"]:  # rising offered rates, the last maybe overloaded
            if not points or level["throughput_rps"] > points[-1]["throughput_rps"]:
                points.append(level)
        last = points[-1]
        overloaded = (
            last["latency_ms"]["p99"] > 1000
            or last["statuses"].get("200", 0) < 0.99 * last["completed"]
        )
        if not overloaded:  # never saturated open-loop: the closed-loop maximum is the ceiling
            saturated = max(profile["closed_loop"].values(), key=lambda r: r["throughput_rps"])
            if saturated["throughput_rps"] > last["throughput_rps"]:
                points.append(saturated)
        capacity = float(points[-1]["throughput_rps"])
        ready = sorted(profile["ready_s"])
        return cls(
            rates=[0.0, *(p["throughput_rps"] * scale for p in points)],
            p99_ms=[points[0]["latency_ms"]["p99"], *(p["latency_ms"]["p99"] for p in points)],
            queue=[0.0, *(p["queue_depth_avg"] for p in points)],
            cores=[0.0, *(p["server_cores"] * scale for p in points)],
            capacity=capacity * scale,
            ready_s=ready[len(ready) // 2],
            max_queue=int(profile["env"].get("MAX_QUEUE_SIZE", 1024)),
            cpu_limit=cpu_limit,
        )

    def rate_at_p99(self, bound_ms: float) -> float:
        """The highest measured-or-interpolated rate whose p99 stays within ``bound_ms``."""
        best = 0.0
        for r0, r1, p0, p1 in zip(
            self.rates, self.rates[1:], self.p99_ms, self.p99_ms[1:], strict=False
        ):
            if p1 <= bound_ms:
                best = r1
            elif p0 <= bound_ms:
                return r0 + (r1 - r0) * (bound_ms - p0) / (p1 - p0)
            else:
                break
        return best

    def second(self, arrivals: float, backlog: float) -> tuple[float, float, float, float, float]:
        """One second at ``arrivals`` req/s with ``backlog`` queued from before.

        Returns (served, rejected, new backlog, p99 ms, queue metric); CPU via ``cores()``.
        """
        total = backlog + arrivals
        served = min(self.capacity, total)
        rejected = max(0.0, total - served - self.max_queue)
        backlog = total - served - rejected
        if backlog > 0:
            p99 = self.p99_ms[-1] + backlog / self.capacity * 1000
            queue = self.queue[-1] + backlog
        else:
            p99 = interp(self.rates, self.p99_ms, arrivals)
            queue = interp(self.rates, self.queue, arrivals)
        return served, rejected, backlog, p99, queue

    def cores_at(self, served: float) -> float:
        return min(self.cpu_limit, interp(self.rates, self.cores, served))
