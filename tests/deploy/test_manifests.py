"""Every overlay renders with ``kubectl kustomize`` and every object validates strictly.

Built-in kinds are checked with kubernetes-validate's bundled OpenAPI schemas in strict mode
(unknown fields fail) for the oldest Kubernetes minor we target and the newest bundled one; the two
Prometheus Operator kinds against the strict subset in ``crd_schemas.py``.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml

from deploy import gen_prometheusrule
from tests.deploy.conftest import OVERLAYS, skip_or_fail
from tests.deploy.crd_schemas import SCHEMAS

OLDEST_K8S = "1.30"  # the oldest minor a platform team is likely to still run
EXPECTED_KINDS = {
    "Namespace", "ServiceAccount", "ConfigMap", "Service", "Deployment", "PodDisruptionBudget",
    "HorizontalPodAutoscaler", "ServiceMonitor", "PrometheusRule",
}  # fmt: skip


def k8s_validate() -> Any:
    try:
        import kubernetes_validate
    except ImportError:
        skip_or_fail("kubernetes-validate not installed (it is in the dev extra: `make venv`)")
    return kubernetes_validate


def validate(doc: dict[str, Any], version: str) -> None:
    """Raise if ``doc`` does not validate strictly."""
    if doc["kind"] in SCHEMAS:
        import jsonschema

        jsonschema.Draft202012Validator(SCHEMAS[doc["kind"]]).validate(doc)
    else:
        k8s_validate().validate(doc, version, strict=True)


def versions() -> list[str]:
    try:
        import kubernetes_validate.utils as kv
    except ImportError:
        return [OLDEST_K8S]
    return [OLDEST_K8S, kv.major_minor(kv.latest_version())]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_renders_the_whole_service_in_one_namespace(rendered, overlay) -> None:
    docs = rendered[overlay]
    assert {d["kind"] for d in docs} == EXPECTED_KINDS
    namespaces = {d["metadata"].get("namespace") for d in docs if d["kind"] != "Namespace"}
    assert namespaces == {"imdb-sentiment"}, namespaces
    assert [d["metadata"]["name"] for d in docs if d["kind"] == "Namespace"] == ["imdb-sentiment"]


@pytest.mark.parametrize("version", versions())
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_object_validates_strictly(rendered, overlay, version) -> None:
    k8s_validate()
    failures = []
    for doc in rendered[overlay]:
        try:
            validate(doc, version)
        except Exception as exc:  # report all objects, not just the first
            failures.append(f"{doc['kind']}/{doc['metadata']['name']}: {exc}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize(
    ("kind", "path", "value"),
    [
        ("Deployment", ["spec", "template", "spec", "containers", 0, "livenesProbe"], {}),
        ("HorizontalPodAutoscaler", ["spec", "behavior", "scaleUp", "stabilisationWindow"], 0),
        ("ServiceMonitor", ["spec", "endpoints", 0, "intervall"], "15s"),
        ("PrometheusRule", ["spec", "groups", 0, "rules", 0, "for"], "5 minutes"),
    ],
)
def test_validation_rejects_typos(rendered, kind, path, value) -> None:
    k8s_validate()
    doc = copy.deepcopy(next(d for d in rendered["cpu"] if d["kind"] == kind))
    target = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(Exception, match=r"(?i)additional|not valid|does not match|is not one of"):
        validate(doc, OLDEST_K8S)


def test_prometheusrule_is_generated_from_alerts_yml(rendered) -> None:
    committed = gen_prometheusrule.OUT.read_text(encoding="utf-8")
    assert committed == gen_prometheusrule.render(), "run `python -m deploy.gen_prometheusrule`"
    alerts = yaml.safe_load(gen_prometheusrule.ALERTS.read_text(encoding="utf-8"))
    for docs in rendered.values():
        rule = next(d for d in docs if d["kind"] == "PrometheusRule")
        assert rule["spec"]["groups"] == alerts["groups"]
