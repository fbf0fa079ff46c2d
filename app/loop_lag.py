"""Event-loop lag: how late the loop runs a timer, measured all the time, exported as metrics.

Every request's work waits for the loop; a step that holds it (a full garbage collection at a hot
swap, a slow callback) delays every request in flight by as much. A task sleeps ``INTERVAL_S``
again and again and records how much later than asked it woke: the loop's pause, to within the
interval. ``sentiment_event_loop_lag_seconds`` (a histogram; buckets fine around the 20 ms bound
docs/reliability.md states for model swaps) and ``sentiment_event_loop_lag_max_seconds`` (the
largest since start) are read by ``bench.swap_lag`` and ``bench.soak``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from prometheus_client import CollectorRegistry, Gauge, Histogram

logger = logging.getLogger(__name__)
INTERVAL_S = 0.01
LOG_OVER_S = 0.02  # a pause longer than this is logged (at most once a second)
LAG_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.015, 0.02, 0.03, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class LoopLagMonitor:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.lag = Histogram(
            "sentiment_event_loop_lag_seconds",
            f"How late the event loop ran a {INTERVAL_S * 1000:g} ms timer (its pauses).",
            buckets=LAG_BUCKETS,
            registry=registry,
        )
        self.max_lag = Gauge(
            "sentiment_event_loop_lag_max_seconds",
            "The largest event-loop lag since the process started.",
            multiprocess_mode="max",
            registry=registry,
        )
        self.largest = 0.0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="loop-lag")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        clock, observe = time.perf_counter, self.lag.observe
        logged = 0.0
        while True:
            started = clock()
            await asyncio.sleep(INTERVAL_S)
            now = clock()
            lag = max(now - started - INTERVAL_S, 0.0)
            observe(lag)
            if lag > LOG_OVER_S and now - logged > 1.0:
                logged = now
                logger.warning("event loop lag %.0f ms", lag * 1000)
            if lag > self.largest:
                self.largest = lag
                self.max_lag.set(lag)
