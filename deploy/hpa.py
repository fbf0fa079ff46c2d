"""The HorizontalPodAutoscaler's replica calculation (autoscaling/v2), as documented, for simulation.

Per metric: ``desired = ceil(current * metric / target)``, skipped inside the tolerance (0.1) band;
pods without a metric yet (starting) count as 0 when scaling up and as the target when scaling
down, as the controller does. The largest desired count over all metrics wins. Then the behaviour:
scale-down takes the highest recommendation of its stabilisation window (scale-up the lowest of
its own), and the change per period is bounded by the policies (``selectPolicy: Max`` picks the
policy allowing the largest change). Finally min/max replicas. Reads the manifest's own HPA spec.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any

TOLERANCE = 0.1


@dataclass(frozen=True)
class Metric:
    name: str  # "cpu" (Resource, Utilization %) or a Pods metric (AverageValue)
    target: float


@dataclass(frozen=True)
class Policy:
    kind: str  # "Pods" or "Percent"
    value: int
    period_s: int


@dataclass(frozen=True)
class Rules:
    window_s: int
    policies: tuple[Policy, ...]
    select: str = "Max"


@dataclass
class Hpa:
    min_replicas: int
    max_replicas: int
    metrics: list[Metric]
    up: Rules
    down: Rules
    tolerance: float = TOLERANCE
    _recs: deque[tuple[float, int]] = field(default_factory=deque)
    _events: deque[tuple[float, int]] = field(default_factory=deque)

    @classmethod
    def from_spec(cls, spec: dict[str, Any]) -> Hpa:
        """Build from a rendered ``HorizontalPodAutoscaler.spec`` (deploy/k8s)."""
        metrics = []
        for m in spec["metrics"]:
            if m["type"] == "Resource":
                metrics.append(
                    Metric(m["resource"]["name"], m["resource"]["target"]["averageUtilization"])
                )
            elif m["type"] == "Pods":
                target = float(m["pods"]["target"]["averageValue"])
                metrics.append(Metric(m["pods"]["metric"]["name"], target))
        behavior = spec.get("behavior", {})

        def rules(direction: str, window: int) -> Rules:
            b = behavior.get(direction, {})
            policies = tuple(
                Policy(p["type"], p["value"], p["periodSeconds"]) for p in b.get("policies", [])
            )
            return Rules(
                b.get("stabilizationWindowSeconds", window), policies, b.get("selectPolicy", "Max")
            )

        return cls(spec.get("minReplicas", 1), spec["maxReplicas"], metrics,
                   rules("scaleUp", 0), rules("scaleDown", 300))  # fmt: skip

    def metric_desired(
        self, metric: Metric, current: int, values: list[float], missing: int
    ) -> int:
        """Desired count for one metric; ``values`` per pod with a metric, ``missing`` without."""
        if not values:
            return current
        ratio = sum(values) / len(values) / metric.target
        if abs(ratio - 1) <= self.tolerance:
            return current
        if missing:
            # Starting pods: 0 when scaling up, the target when scaling down (damps both ways);
            # no change if that lands in the tolerance band or reverses the direction.
            fill = 0.0 if ratio > 1 else metric.target
            new = (sum(values) + fill * missing) / (len(values) + missing) / metric.target
            if abs(new - 1) <= self.tolerance or (new > 1) != (ratio > 1):
                return current
            ratio = new
        return math.ceil(ratio * (len(values) + missing))

    def _period_start(self, now: float, current: int, period: int) -> int:
        """Replicas at the start of the policy period: current - added + deleted within it."""
        return current - sum(d for t, d in self._events if t > now - period)

    def _bounded(self, now: float, current: int, desired: int) -> int:
        if desired > current and self.up.policies:
            limits = []
            for p in self.up.policies:
                start = self._period_start(now, current, p.period_s)
                grow = math.ceil(start * (1 + p.value / 100))
                limits.append(start + p.value if p.kind == "Pods" else grow)
            limit = max(limits) if self.up.select == "Max" else min(limits)
            return min(desired, limit)
        if desired < current and self.down.policies:
            limits = []
            for p in self.down.policies:
                start = self._period_start(now, current, p.period_s)
                shrink = int(start * (1 - p.value / 100))  # truncated, as the controller does
                limits.append(start - p.value if p.kind == "Pods" else shrink)
            limit = min(limits) if self.down.select == "Max" else max(limits)
            return max(desired, limit)
        return desired

    def step(self, now: float, current: int, per_metric: dict[str, tuple[list[float], int]]) -> int:
        """One controller sync: the new replica count. ``per_metric[name] = (values, missing)``."""
        desired = max(
            (self.metric_desired(m, current, *per_metric[m.name]) for m in self.metrics),
            default=current,
        )
        desired = max(self.min_replicas, min(self.max_replicas, desired))
        self._recs.append((now, desired))
        keep = max(self.up.window_s, self.down.window_s)
        while self._recs and self._recs[0][0] < now - keep:
            self._recs.popleft()
        # Stabilisation: scale down only to the highest recommendation in the down window, scale
        # up only to the lowest in the up window.
        down_floor = max(r for t, r in self._recs if t >= now - self.down.window_s)
        up_ceiling = min(r for t, r in self._recs if t >= now - self.up.window_s)
        if desired < current:
            desired = min(current, down_floor)
        elif desired > current:
            desired = max(current, up_ceiling)
        new = max(self.min_replicas, min(self.max_replicas, self._bounded(now, current, desired)))
        if new != current:
            self._events.append((now, new - current))
        while self._events and self._events[0][0] < now - 3600:
            self._events.popleft()
        return new
