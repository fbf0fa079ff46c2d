"""app.metrics: what each hook and counter records, per-app registries, multi-worker rendering."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from app.batcher import BatchHooks
from app.metrics import ServiceMetrics

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def metrics() -> ServiceMetrics:
    return ServiceMetrics()


def value(m: ServiceMetrics, name: str, **labels: str) -> float:
    got = m.registry.get_sample_value(name, labels)
    return 0.0 if got is None else got


def test_requests_counted_by_route_and_status_with_durations(metrics: ServiceMetrics) -> None:
    for status, seconds in ((200, 0.004), (200, 0.02), (422, 0.001)):
        metrics.observe_request("/predict", status, seconds)
    metrics.observe_request("other", 404, 0.0005)
    assert value(metrics, "sentiment_requests_total", route="/predict", status="200") == 2
    assert value(metrics, "sentiment_requests_total", route="/predict", status="422") == 1
    assert value(metrics, "sentiment_requests_total", route="other", status="404") == 1
    duration = "sentiment_request_duration_seconds"
    assert value(metrics, f"{duration}_count", route="/predict") == 3
    assert value(metrics, f"{duration}_sum", route="/predict") == pytest.approx(0.025)
    assert value(metrics, f"{duration}_bucket", route="/predict", le="0.005") == 2


def test_label_children_are_resolved_once(metrics: ServiceMetrics) -> None:
    metrics.observe_request("/predict", 200, 0.01)
    counter = metrics._request_counters[("/predict", 200)]
    metrics.observe_request("/predict", 200, 0.01)
    assert metrics._request_counters[("/predict", 200)] is counter
    assert len(metrics._request_counters) == 1 and len(metrics._request_durations) == 1


def test_predictions_by_label(metrics: ServiceMetrics) -> None:
    for label in ("positive", "positive", "negative"):
        metrics.count_prediction(label)
    metrics.count_prediction("neutral")  # not precomputed, still counted
    assert value(metrics, "sentiment_predictions_total", label="positive") == 2
    assert value(metrics, "sentiment_predictions_total", label="negative") == 1
    assert value(metrics, "sentiment_predictions_total", label="neutral") == 1


def test_rejections_by_reason(metrics: ServiceMetrics) -> None:
    metrics.count_rejected("queue_full")
    metrics.count_rejected("queue_full")
    metrics.count_rejected("timeout")
    assert value(metrics, "sentiment_rejected_total", reason="queue_full") == 2
    assert value(metrics, "sentiment_rejected_total", reason="timeout") == 1


def test_batcher_hooks(metrics: ServiceMetrics) -> None:
    assert isinstance(metrics, BatchHooks)
    metrics.on_depth(7)
    assert value(metrics, "sentiment_queue_depth") == 7
    metrics.on_depth(0)
    assert value(metrics, "sentiment_queue_depth") == 0
    metrics.on_dequeue([0.001, 0.002, 0.3])
    assert value(metrics, "sentiment_queue_wait_seconds_count") == 3
    metrics.on_batch(16, 0.05, None)
    metrics.on_batch(3, 0.01, RuntimeError("boom"))
    assert value(metrics, "sentiment_batch_size_count") == 2
    assert value(metrics, "sentiment_batch_size_sum") == 19
    assert value(metrics, "sentiment_inference_duration_seconds_sum") == pytest.approx(0.06)
    assert value(metrics, "sentiment_batch_errors_total") == 1


def test_text_statistics(metrics: ServiceMetrics) -> None:
    metrics.observe_text(n_tokens=200, n_oov=20, n_windows=3)
    metrics.observe_text(n_tokens=0, n_oov=0)  # no division by zero; one window by default
    assert value(metrics, "sentiment_review_tokens_sum") == 200
    assert value(metrics, "sentiment_windows_per_text_sum") == 4
    assert value(metrics, "sentiment_oov_ratio_sum") == pytest.approx(0.1)
    assert value(metrics, "sentiment_oov_ratio_bucket", le="0.0") == 1


def test_each_app_has_its_own_registry() -> None:
    a, b = ServiceMetrics(), ServiceMetrics()  # no "Duplicated timeseries" error
    a.count_rejected("timeout")
    assert value(a, "sentiment_rejected_total", reason="timeout") == 1
    assert value(b, "sentiment_rejected_total", reason="timeout") == 0


def test_render_is_prometheus_text_with_process_metrics(metrics: ServiceMetrics) -> None:
    metrics.model_info.labels(version="3", device="/CPU:0").set(1)
    metrics.count_prediction("positive")
    names = {f.name for f in text_string_to_metric_families(metrics.render().decode())}
    assert {"sentiment_predictions", "sentiment_model_info", "sentiment_queue_depth"} <= names
    assert {"process_cpu_seconds", "python_gc_objects_collected", "python_info"} <= names


WORKER = """
import sys
from app.metrics import ServiceMetrics
m = ServiceMetrics()
for _ in range(int(sys.argv[1])):
    m.count_rejected("queue_full")
m.on_depth(int(sys.argv[1]))
if sys.argv[2] == "render":
    sys.stdout.write(m.render().decode())
else:
    m.close()
"""


def test_several_workers_are_aggregated_in_multiprocess_mode(tmp_path: Path) -> None:
    # PROMETHEUS_MULTIPROC_DIR must be set before prometheus_client is imported: subprocesses.
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}

    def worker(n: int, action: str) -> str:
        done = subprocess.run(
            [sys.executable, "-c", WORKER, str(n), action],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=True,
        )  # fmt: skip
        return done.stdout

    worker(2, "close")  # a worker that exited: its counters stay, its live gauge goes
    text = worker(3, "render")
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    assert samples[("sentiment_rejected_total", (("reason", "queue_full"),))] == 5
    assert samples[("sentiment_queue_depth", ())] == 3  # livesum: the exited worker dropped
