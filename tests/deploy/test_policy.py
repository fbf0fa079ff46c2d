"""Policy tests on the rendered manifests, against the real app and the measured replica profile.

Each policy is a function in ``policy.py`` / ``policy_pod.py`` returning its problems; the tests
run them on every overlay, and ``test_policies_catch_breakage`` runs them on broken copies (a
probe path, a metric name, the grace period, ...) to show each one fails when it should.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from app.config import Settings
from tests.deploy.conftest import OVERLAYS
from tests.deploy.policy import (
    adapter_rules,
    check_grace_period,
    check_hpa_metrics,
    check_probes,
    check_startup_budget,
    kind,
)
from tests.deploy.policy_pod import check_images, check_resources, check_security, check_wiring
from tests.unit.test_monitoring_config import exported_by_service_metrics, families_to_samples

SETTINGS = set(Settings.model_fields)


def deployment_container(docs: list[dict[str, Any]]) -> dict[str, Any]:
    spec: dict[str, Any] = kind(docs, "Deployment")[0]["spec"]["template"]["spec"]
    first: dict[str, Any] = spec["containers"][0]
    return first


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_probes_use_real_routes_on_the_listening_port(rendered, openapi, overlay) -> None:
    assert check_probes(rendered[overlay], openapi) == []


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_startup_probe_budget_covers_measured_start_up(rendered, profile, overlay) -> None:
    assert check_startup_budget(rendered[overlay], profile["ready_s"]) == []


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_grace_period_exceeds_prestop_delay_timeout_and_drain(rendered, overlay) -> None:
    assert check_grace_period(rendered[overlay]) == []


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_memory_requests_cover_measured_peak_rss(rendered, profile, overlay) -> None:
    assert check_resources(rendered[overlay], profile["peak_rss_mib"]) == []


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_container_is_locked_down(rendered, overlay) -> None:
    assert check_security(rendered[overlay]) == []


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_images_are_pinned_never_latest(rendered, overlay) -> None:
    assert check_images(rendered[overlay]) == []


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_objects_are_wired_together(rendered, overlay) -> None:
    assert check_wiring(rendered[overlay], SETTINGS) == []


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_configmap_values_are_accepted_by_the_service(rendered, overlay) -> None:
    env = {k.lower(): v for k, v in deployment_container_env(rendered[overlay]).items()}
    Settings.model_validate({k: v for k, v in env.items() if k in SETTINGS})  # raises if invalid


def deployment_container_env(docs: list[dict[str, Any]]) -> dict[str, str]:
    from tests.deploy.policy import env_of

    return env_of(docs, deployment_container(docs))


# --- against a live replica started with the cpu overlay's command and environment -------------


@pytest.mark.process
def test_probe_paths_answer_200_on_a_live_replica(rendered, live_replica) -> None:
    container = deployment_container(rendered["cpu"])
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        path = container[probe]["httpGet"]["path"]
        assert httpx.get(live_replica + path, timeout=5).status_code == 200, (probe, path)


@pytest.mark.process
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_hpa_metrics_are_exported_by_a_live_replica(rendered, live_replica, overlay) -> None:
    response = httpx.post(f"{live_replica}/predict", json={"text": "A fine film."}, timeout=30)
    assert response.status_code == 200
    exported = families_to_samples(httpx.get(f"{live_replica}/metrics", timeout=10).text)
    assert check_hpa_metrics(rendered[overlay], exported, adapter_rules()) == []


# --- each policy fails on a broken copy --------------------------------------------------------


def _probe_path(docs, value):
    deployment_container(docs)["readinessProbe"]["httpGet"]["path"] = value


def _probe_port(docs, value):
    deployment_container(docs)["livenessProbe"]["httpGet"]["port"] = value


def _hpa_metric(docs, value):
    kind(docs, "HorizontalPodAutoscaler")[0]["spec"]["metrics"][0]["pods"]["metric"]["name"] = value


def _grace(docs, value):
    kind(docs, "Deployment")[0]["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] = value


def _memory(docs, value):
    deployment_container(docs)["resources"]["requests"]["memory"] = value


def _image(docs, value):
    deployment_container(docs)["image"] = value


def _read_only(docs, value):
    deployment_container(docs)["securityContext"]["readOnlyRootFilesystem"] = value


def _max_unavailable(docs, value):
    kind(docs, "Deployment")[0]["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] = value


def _config_key(docs, value):
    kind(docs, "ConfigMap")[0]["data"][value] = "64"


BREAKAGES: list[tuple[str, Callable[..., None], Any, str]] = [
    ("probe path", _probe_path, "/ready", "/ready is not a GET route"),
    ("probe path of another route", _probe_path, "/healthz", "want /readyz"),
    ("probe port", _probe_port, 8080, "not the listening port"),
    ("HPA metric name", _hpa_metric, "sentiment_queue_lenght", "no prometheus-adapter rule"),
    ("grace period", _grace, 30, "terminationGracePeriodSeconds 30 <="),
    ("memory request", _memory, "512Mi", "< measured peak RSS"),
    ("latest tag", _image, "registry.example.com/ml/imdb-sentiment:latest", "latest tag"),
    ("untagged image", _image, "registry.example.com/ml/imdb-sentiment", "no tag or digest"),
    ("writable root", _read_only, False, "readOnlyRootFilesystem"),
    ("rollout", _max_unavailable, 1, "maxUnavailable must be 0"),
    ("misspelt setting", _config_key, "MAX_BATCH_SIZ", "MAX_BATCH_SIZ is not a setting"),
]


@pytest.mark.parametrize(
    ("what", "breaker", "value", "expected"), BREAKAGES, ids=[b[0] for b in BREAKAGES]
)
def test_policies_catch_breakage(rendered, openapi, profile, what, breaker, value, expected):
    docs = copy.deepcopy(rendered["cpu"])
    breaker(docs, value)
    exported = exported_by_service_metrics()
    problems = [
        *check_probes(docs, openapi),
        *check_hpa_metrics(docs, exported, adapter_rules()),
        *check_grace_period(docs),
        *check_resources(docs, profile["peak_rss_mib"]),
        *check_security(docs),
        *check_images(docs),
        *check_wiring(docs, SETTINGS),
    ]
    assert any(expected in p for p in problems), (what, problems)


def test_adapter_rule_over_a_missing_series_is_caught(rendered) -> None:
    rules = {name: series + "_typo" for name, series in adapter_rules().items()}
    problems = check_hpa_metrics(rendered["cpu"], exported_by_service_metrics(), rules)
    assert any("not on /metrics" in p for p in problems), problems
