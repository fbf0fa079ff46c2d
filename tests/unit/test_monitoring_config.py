"""The monitoring config in the repo queries only metrics the service really exports.

Every metric name used by the Prometheus alert rules and the Grafana dashboard must be produced by
the service (``app.metrics.ServiceMetrics``, i.e. what ``GET /metrics`` renders) or by Prometheus
itself (``up``, ``scrape_*``). A renamed metric in the service then fails here instead of silently
turning an alert into one that can never fire. ``test_metrics_endpoint_exports_...`` checks the same
against the running app's ``/metrics`` with the committed model.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from app.metrics import ServiceMetrics

ROOT = Path(__file__).resolve().parents[2]
PROM_DIR = ROOT / "monitoring" / "prometheus"
PROM_CONFIG = PROM_DIR / "prometheus.yml"
ALERTS = PROM_DIR / "alerts.yml"
GRAFANA = ROOT / "monitoring" / "grafana"
DASHBOARD = GRAFANA / "dashboards" / "sentiment.json"
MODEL_DIR = ROOT / "model_artifacts" / "imdb_lstm"

# Series Prometheus creates for every scrape target.
PROMETHEUS_SYNTHETIC = {
    "up",
    "scrape_duration_seconds",
    "scrape_samples_scraped",
    "scrape_samples_post_metric_relabeling",
    "scrape_series_added",
}
# PromQL functions, aggregations and keywords: identifiers in an expression that are not metrics.
PROMQL_WORDS = {
    "sum", "min", "max", "avg", "count", "stddev", "stdvar", "topk", "bottomk", "quantile",
    "count_values", "group", "by", "without", "on", "ignoring", "group_left", "group_right",
    "and", "or", "unless", "bool", "offset", "rate", "irate", "increase", "delta", "idelta",
    "deriv", "predict_linear", "histogram_quantile", "abs", "absent", "absent_over_time",
    "ceil", "floor", "round", "clamp", "clamp_min", "clamp_max", "changes", "resets",
    "label_replace", "label_join", "vector", "scalar", "time", "timestamp", "sort", "sort_desc",
    "avg_over_time", "min_over_time", "max_over_time", "sum_over_time", "count_over_time",
    "last_over_time", "quantile_over_time", "stddev_over_time", "present_over_time", "exp", "ln",
    "log2", "log10", "sqrt", "inf", "nan",
}  # fmt: skip
SUFFIXES = ("_bucket", "_sum", "_count", "_total", "_created", "_info")


def metric_names(expr: str) -> set[str]:
    """Metric names referenced by a PromQL expression (labels, functions and keywords removed)."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # string literals
    expr = re.sub(r"\{[^}]*\}", " ", expr)  # label matchers
    expr = re.sub(r"\[[^\]]*\]", " ", expr)  # range / subquery selectors
    expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", expr)
    words = re.findall(r"(?<![\w.:])[a-zA-Z_:][a-zA-Z0-9_:]*", expr)
    return {w for w in words if w not in PROMQL_WORDS and not re.fullmatch(r"\d+[smhdwy]", w)}


def families_to_samples(text: str) -> set[str]:
    """Every sample name an exposition can contain, from its HELP/TYPE families (even unobserved)."""
    names: set[str] = set()
    for family in text_string_to_metric_families(text):
        names.add(family.name)
        names.update(sample.name for sample in family.samples)
        if family.type == "counter":
            names.update({family.name + "_total", family.name + "_created"})
        elif family.type == "histogram":
            names.update(family.name + s for s in ("_bucket", "_sum", "_count", "_created"))
        elif family.type == "summary":
            names.update(family.name + s for s in ("_sum", "_count", "_created"))
        elif family.type == "info":
            names.add(family.name + "_info")
    return names


def exported_by_service_metrics() -> set[str]:
    from prometheus_client import generate_latest

    from app.v2.metrics import V2Metrics

    metrics = ServiceMetrics()
    V2Metrics(metrics.registry)  # the V2 protocols' metrics share the service's registry
    return families_to_samples(generate_latest(metrics.registry).decode())


def alert_rules() -> list[dict[str, Any]]:
    doc = yaml.safe_load(ALERTS.read_text(encoding="utf-8"))
    return [rule for group in doc["groups"] for rule in group["rules"]]


def dashboard_exprs() -> list[tuple[str, str]]:
    doc = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    out = []
    for panel in doc["panels"]:
        for target in panel.get("targets", []):
            out.append((panel["title"], target["expr"]))
    return out


def referenced() -> dict[str, set[str]]:
    """metric name -> where it is used."""
    where: dict[str, set[str]] = {}
    for rule in alert_rules():
        for name in metric_names(rule["expr"]):
            where.setdefault(name, set()).add(f"alert {rule['alert']}")
    for title, expr in dashboard_exprs():
        for name in metric_names(expr):
            where.setdefault(name, set()).add(f"panel {title!r}")
    return where


def base(name: str) -> str:
    for suffix in SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


# --- the parser itself --------------------------------------------------------------------------


def test_metric_names_parser() -> None:
    expr = (
        'histogram_quantile(0.99, sum by (le, route) (rate(foo_seconds_bucket{route=~"/p.*"}[5m])))'
        ' > 1 and on (instance) up{job="api"} == 1 unless max_over_time(bar[2m:30s]) > 0'
    )
    assert metric_names(expr) == {"foo_seconds_bucket", "up", "bar"}


# --- the config files ---------------------------------------------------------------------------


def test_every_alert_has_summary_and_severity() -> None:
    rules = alert_rules()
    assert len(rules) >= 6
    for rule in rules:
        assert rule["labels"]["severity"] in {"critical", "warning", "info"}, rule["alert"]
        assert rule["annotations"]["summary"], rule["alert"]


def test_alerts_cover_the_required_conditions() -> None:
    exprs = " ".join(rule["expr"] for rule in alert_rules())
    for needed in (
        'up{job="api"}',  # service down
        'route="/readyz"',  # not ready
        'status=~"5.."',  # error rate
        "histogram_quantile(0.99",  # p99 latency
        "sentiment_request_duration_seconds_bucket",
        "sentiment_queue_depth",  # queue saturation
        "sentiment_rejected_total",  # rejected requests
        "sentiment_unreadable_total",  # texts the model cannot read
        'sentiment_readable_predictions_total{label="positive"}',  # label drift
    ):
        assert needed in exprs, needed


def test_prometheus_scrapes_the_api_and_loads_the_rules() -> None:
    config = yaml.safe_load(PROM_CONFIG.read_text(encoding="utf-8"))
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    targets = [t for sc in jobs["api"]["static_configs"] for t in sc["targets"]]
    assert targets == ["api:8000"]
    assert jobs["api"].get("metrics_path", "/metrics") == "/metrics"
    assert config["rule_files"] == ["/etc/prometheus/alerts.yml"]


def test_grafana_datasource_matches_dashboard() -> None:
    ds = yaml.safe_load(
        (GRAFANA / "provisioning" / "datasources" / "prometheus.yml").read_text(encoding="utf-8")
    )["datasources"][0]
    assert ds["url"] == "http://prometheus:9090"
    uids = {p["datasource"]["uid"] for p in json.loads(DASHBOARD.read_text())["panels"]}
    assert uids == {ds["uid"]}


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool not installed")
def test_promtool_accepts_rules_and_alert_unit_tests() -> None:
    # prometheus.yml names the rule file by its in-container path: check the rules directly.
    # (scripts/compose_smoke.sh runs the same checks with the prometheus image's promtool.)
    for args in (["check", "rules", str(ALERTS)], ["test", "rules", "alerts_test.yml"]):
        result = subprocess.run(
            ["promtool", *args], cwd=PROM_DIR, capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, result.stdout + result.stderr


# --- metric names against what the service exports ----------------------------------------------


def test_service_exports_the_documented_metrics() -> None:
    exported = exported_by_service_metrics()
    for name in (
        "sentiment_requests_total",
        "sentiment_request_duration_seconds_bucket",
        "sentiment_batch_size_bucket",
        "sentiment_inference_duration_seconds_bucket",
        "sentiment_queue_wait_seconds_bucket",
        "sentiment_queue_depth",
        "sentiment_predictions_total",
        "sentiment_rejected_total",
        "sentiment_review_tokens_bucket",
        "sentiment_oov_ratio_bucket",
        "sentiment_input_coverage_bucket",
        "sentiment_unreadable_total",
        "sentiment_readable_predictions_total",
        "sentiment_model_info",
        "sentiment_model_reloads_total",
        "process_resident_memory_bytes",
    ):
        assert name in exported, name


def test_monitoring_queries_only_exported_metrics() -> None:
    exported = exported_by_service_metrics() | PROMETHEUS_SYNTHETIC
    where = referenced()
    assert any(name.startswith("sentiment_") for name in where)
    missing = {name: sorted(uses) for name, uses in where.items() if name not in exported}
    exported_bases = sorted({base(n) for n in exported})
    assert not missing, f"not exported by the service: {missing}; exported: {exported_bases}"


@pytest.mark.skipif(
    not any(MODEL_DIR.glob("*/saved_model.pb")), reason="no committed model under model_artifacts/"
)
def test_metrics_endpoint_exports_every_monitored_metric() -> None:
    """Start the real app on the committed model and read what ``GET /metrics`` exports."""
    from fastapi.testclient import TestClient

    from app.config import Settings
    from app.main import create_app

    app = create_app(Settings(model_dir=MODEL_DIR, warmup_batches=0))
    with TestClient(app) as client:
        response = client.post("/predict", json={"text": "A wonderful, moving film."})
        assert response.status_code == 200, response.text
        body = client.get("/metrics")
    assert body.status_code == 200
    exported = families_to_samples(body.text) | PROMETHEUS_SYNTHETIC
    missing = sorted(name for name in referenced() if name not in exported)
    assert not missing, f"queried by alerts/dashboard but not on /metrics: {missing}"
