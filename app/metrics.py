"""Prometheus metrics, one registry per app (so tests can build several apps in one process).

With ``PROMETHEUS_MULTIPROC_DIR`` set (several uvicorn workers), ``render`` aggregates every
worker's values through ``MultiProcessCollector`` instead of exporting this process only.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Sequence

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client import multiprocess as prom_multiprocess
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

from app.batcher import BatchHooks
from model_contract.readability import REASONS, Readability

CONTENT_TYPE = CONTENT_TYPE_LATEST
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)
TOKEN_BUCKETS = (0, 10, 20, 40, 80, 120, 160, 240, 320, 480, 640, 1000, 2000)
WINDOW_BUCKETS = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32)
RATIO_BUCKETS = (0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0)
# Fine near 1: IMDB reviews sit at 0.85-1 (median 0.95); under 0.5 is flagged unreadable.
COVERAGE_BUCKETS = (0.0, 0.25, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.98, 1.0)


def _multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


class ServiceMetrics(BatchHooks):
    """All service metrics; also the batcher's hooks (batch size, queue wait, depth)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        if _multiprocess_dir() is None:
            ProcessCollector(registry=r)
            PlatformCollector(registry=r)
            GCCollector(registry=r)
        self.requests = Counter(
            "sentiment_requests", "HTTP requests by route and status.", ["route", "status"],
            registry=r,
        )  # fmt: skip
        self.request_duration = Histogram(
            "sentiment_request_duration_seconds", "Request latency by route.", ["route"],
            buckets=LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.batch_size = Histogram(
            "sentiment_batch_size",
            "Model rows (80-token windows) per model call.",
            buckets=BATCH_BUCKETS,
            registry=r,
        )
        self.inference_duration = Histogram(
            "sentiment_inference_duration_seconds", "Seconds per model call (whole batch).",
            buckets=LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.queue_wait = Histogram(
            "sentiment_queue_wait_seconds", "Seconds a model row waited in the batch queue.",
            buckets=LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.queue_depth = Gauge(
            "sentiment_queue_depth", "Model rows waiting in the batch queue.",
            multiprocess_mode="livesum", registry=r,
        )  # fmt: skip
        self.predictions = Counter(
            "sentiment_predictions", "Predictions served by label.", ["label"], registry=r
        )
        self.rejected = Counter(
            "sentiment_rejected", "Requests refused, by reason.", ["reason"], registry=r
        )
        self.review_tokens = Histogram(
            "sentiment_review_tokens", "Tokens per review before truncation.",
            buckets=TOKEN_BUCKETS, registry=r,
        )  # fmt: skip
        self.oov_ratio = Histogram(
            "sentiment_oov_ratio", "Share of a review's tokens outside the vocabulary.",
            buckets=RATIO_BUCKETS, registry=r,
        )  # fmt: skip
        self.windows = Histogram(
            "sentiment_windows_per_text", "Model rows (80-token windows) scored per text.",
            buckets=WINDOW_BUCKETS, registry=r,
        )  # fmt: skip
        self.model_info = Gauge(
            "sentiment_model_info",
            "The default model version (unpinned requests) and its device: 1; 0 or absent else.",
            ["version", "device"], multiprocess_mode="liveall", registry=r,
        )  # fmt: skip
        self.model_reloads = Counter(
            "sentiment_model_reloads", "Model versions loaded, refused (failed) and unloaded.",
            ["result"], registry=r,
        )  # fmt: skip
        for result in ("loaded", "failed", "unloaded"):
            self.model_reloads.labels(result=result)
        self.batch_errors = Counter(
            "sentiment_batch_errors", "Model calls that raised.", registry=r
        )
        self.unreadable = Counter(
            "sentiment_unreadable", "Texts the model cannot read, by reason (answered or refused).",
            ["reason"], registry=r,
        )  # fmt: skip
        self.readable_predictions = Counter(
            "sentiment_readable_predictions", "Answers to readable texts by label (label drift).",
            ["label"], registry=r,
        )  # fmt: skip
        self.coverage = Histogram(
            "sentiment_input_coverage", "Share of a text's read words (no stopwords) the model knows.",
            buckets=COVERAGE_BUCKETS, registry=r,
        )  # fmt: skip
        self._unreadable_by_reason = {k: self.unreadable.labels(reason=k) for k in REASONS}
        self._readable_by_label = {
            label: self.readable_predictions.labels(label=label)
            for label in ("positive", "negative")
        }
        # Label children resolved once: ``.labels(...)`` per request showed up in profiles.
        self._predictions_by_label = {
            label: self.predictions.labels(label=label) for label in ("positive", "negative")
        }
        self._request_counters: dict[tuple[str, int], Counter] = {}
        self._request_durations: dict[str, Histogram] = {}
        self._depths: dict[str, int] = {}
        self._depth_lock = threading.Lock()

    # --- batcher hooks -------------------------------------------------------------------
    def on_depth(self, depth: int) -> None:
        self.queue_depth.set(depth)

    def on_dequeue(self, waits: Sequence[float]) -> None:
        for wait in waits:
            self.queue_wait.observe(wait)

    def on_batch(self, size: int, seconds: float, error: BaseException | None) -> None:
        self.batch_size.observe(size)
        self.inference_duration.observe(seconds)
        if error is not None:
            self.batch_errors.inc()

    def for_version(self, version: str) -> BatchHooks:
        """Hooks for one version's batcher: ``sentiment_queue_depth`` is the sum over versions."""
        return _VersionHooks(self, version)

    def set_depth(self, version: str, depth: int | None) -> None:
        """One version's queue depth (None: unloaded); the gauge shows the total."""
        with self._depth_lock:
            if depth is None:
                self._depths.pop(version, None)
            else:
                self._depths[version] = depth
            self.queue_depth.set(sum(self._depths.values()))

    # --- model versions ------------------------------------------------------------------
    def count_reload(self, result: str) -> None:
        self.model_reloads.labels(result=result).inc()

    def set_default_model(
        self, new: tuple[str, str] | None, old: tuple[str, str] | None = None
    ) -> None:
        """``sentiment_model_info``: the (version, device) now default is 1, the previous one goes.

        In multiprocess mode a label set cannot be removed from the shared files: it is set to 0.
        """
        if old is not None and old != new:
            if _multiprocess_dir() is None:
                with contextlib.suppress(KeyError):
                    self.model_info.remove(*old)
            else:
                self.model_info.labels(*old).set(0)
        if new is not None:
            self.model_info.labels(*new).set(1)

    # --- per-request counters -----------------------------------------------------------
    def count_prediction(self, label: str) -> None:
        child = self._predictions_by_label.get(label)
        (child or self.predictions.labels(label=label)).inc()

    def observe_request(self, route: str, status: int, seconds: float) -> None:
        """``sentiment_requests_total{route,status}`` + duration, with cached label children."""
        counter = self._request_counters.get((route, status))
        if counter is None:
            counter = self.requests.labels(route=route, status=str(status))
            self._request_counters[(route, status)] = counter
        counter.inc()
        duration = self._request_durations.get(route)
        if duration is None:
            duration = self.request_duration.labels(route=route)
            self._request_durations[route] = duration
        duration.observe(seconds)

    # --- per-text statistics -------------------------------------------------------------
    def count_rejected(self, reason: str) -> None:
        """One refused request; ``reason`` is a key of ``app.rejections.REJECTIONS``."""
        self.rejected.labels(reason=reason).inc()

    def observe_text(self, n_tokens: int, n_oov: int, n_windows: int = 1) -> None:
        self.review_tokens.observe(n_tokens)
        self.windows.observe(n_windows)
        self.oov_ratio.observe(n_oov / n_tokens if n_tokens else 0.0)

    def observe_verdict(self, verdict: Readability, label: str) -> None:
        """Coverage, and the text counted as unreadable (by reason) or as a readable answer."""
        self.coverage.observe(verdict.coverage)
        if verdict.reason is not None:
            self._unreadable_by_reason[verdict.reason].inc()
        else:
            self._readable_by_label[label].inc()

    def close(self) -> None:
        """Multiprocess mode: drop this worker's live gauges from the aggregate."""
        if _multiprocess_dir() is not None:
            prom_multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]

    def render(self) -> bytes:
        if _multiprocess_dir() is not None:
            registry = CollectorRegistry()
            prom_multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            return generate_latest(registry)
        return generate_latest(self.registry)


class _VersionHooks(BatchHooks):
    def __init__(self, metrics: ServiceMetrics, version: str) -> None:
        self._metrics, self._version = metrics, version

    def on_depth(self, depth: int) -> None:
        self._metrics.set_depth(self._version, depth)

    def on_dequeue(self, waits: Sequence[float]) -> None:
        self._metrics.on_dequeue(waits)

    def on_batch(self, size: int, seconds: float, error: BaseException | None) -> None:
        self._metrics.on_batch(size, seconds, error)
