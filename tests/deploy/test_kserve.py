"""The KServe ``InferenceService`` (deploy/kserve/inferenceservice.yaml), validated offline.

No package ships KServe's CRD schema (kubernetes-validate bundles the built-in API only; the kserve
SDK does not fit the lock), so the manifest is checked in three parts:
- KServe's own fields (the object, ``spec``, the predictor's ComponentExtensionSpec) against a
  strict subset of the CRD written here (names and types as in KServe's API reference);
- the predictor's pod fields (KServe inlines a PodSpec there) against Kubernetes' own Pod schema,
  strict, with kubernetes-validate: a misspelt container field fails as in ``test_manifests``;
- the same policies as the Kubernetes manifests (probes on real routes and the listening port,
  lock-down, resources, pinned image, settings), and the container's command and environment run
  as a real server that answers V2 on the port KServe routes to.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
import yaml

from app.config import Settings
from tests.deploy.policy import check_probes, effective_command, flag
from tests.deploy.policy_pod import check_images, check_resources, check_security
from tests.deploy.test_manifests import OLDEST_K8S, k8s_validate
from tests.process.servers import free_port, uvicorn_server

ISVC = Path(__file__).resolve().parents[2] / "deploy" / "kserve" / "inferenceservice.yaml"
_INT = {"type": "integer", "minimum": 0}
_LABELS = {"type": "object", "additionalProperties": {"type": "string"}}
# ComponentExtensionSpec (KServe v1beta1): the predictor's fields that are not a PodSpec's.
EXTENSION: dict[str, Any] = {
    "minReplicas": _INT,
    "maxReplicas": _INT,
    "scaleTarget": {"type": "integer", "minimum": 1},
    "scaleMetric": {"enum": ["cpu", "memory", "concurrency", "rps"]},
    "containerConcurrency": _INT,
    "timeout": {"type": "integer", "minimum": 1},
    "canaryTrafficPercent": {"type": "integer", "minimum": 0, "maximum": 100},
    "labels": _LABELS,
    "annotations": _LABELS,
}
SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "additionalProperties": False,
    "properties": {
        "apiVersion": {"const": "serving.kserve.io/v1beta1"},
        "kind": {"const": "InferenceService"},
        "metadata": {
            "type": "object",
            "required": ["name"],
            "additionalProperties": False,
            "properties": {
                # KServe names are DNS-1035 labels (they become Service names), <= 63 characters.
                "name": {"type": "string", "pattern": "^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$"},
                "namespace": {"type": "string"},
                "labels": _LABELS,
                "annotations": _LABELS,
            },
        },
        "spec": {
            "type": "object",
            "required": ["predictor"],
            "additionalProperties": False,
            "properties": {"predictor": {"type": "object", "properties": EXTENSION}},
        },
    },
}


def load() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(ISVC.read_text(encoding="utf-8"))
    return doc


def as_pod(isvc: dict[str, Any]) -> dict[str, Any]:
    """The predictor's PodSpec fields as a Pod (what KServe creates them into)."""
    spec = {k: v for k, v in isvc["spec"]["predictor"].items() if k not in EXTENSION}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": spec}


def as_deployment(isvc: dict[str, Any]) -> list[dict[str, Any]]:
    """The predictor as a Deployment, for the policies written for deploy/k8s."""
    spec = {"template": {"spec": as_pod(isvc)["spec"]}}
    return [{"kind": "Deployment", "metadata": {"name": isvc["metadata"]["name"]}, "spec": spec}]


def container(isvc: dict[str, Any]) -> dict[str, Any]:
    first: dict[str, Any] = isvc["spec"]["predictor"]["containers"][0]
    return first


def test_kserve_fields_follow_the_crd_subset() -> None:
    jsonschema.Draft202012Validator(SCHEMA).validate(load())


@pytest.mark.parametrize("version", [OLDEST_K8S, "latest"])
def test_predictor_pod_fields_validate_as_a_pod(version: str) -> None:
    validator = k8s_validate()
    if version == "latest":
        import kubernetes_validate.utils as kv

        version = kv.major_minor(kv.latest_version())
    validator.validate(as_pod(load()), version, strict=True)


def test_the_deployment_policies_hold(openapi: dict[str, Any], profile: dict[str, Any]) -> None:
    docs = as_deployment(load())
    assert check_probes(docs, openapi) == []
    assert check_security(docs) == []
    assert check_resources(docs, profile["peak_rss_mib"]) == []
    assert check_images(docs) == []


def test_one_http_port_the_server_listens_on_and_real_settings() -> None:
    c = container(load())
    assert [p["containerPort"] for p in c["ports"]] == [8080]  # Knative routes one port
    assert int(flag(effective_command(c), "--port") or 0) == 8080
    env = {e["name"]: e["value"] for e in c["env"] if "value" in e}
    settings = {k.lower(): v for k, v in env.items() if not k.startswith("TF_")}
    assert set(settings) <= set(Settings.model_fields), settings
    parsed = Settings.model_validate(settings)
    assert (parsed.v2_model_name, parsed.grpc_port) == ("imdb_lstm", None)


@pytest.mark.parametrize(
    ("where", "breaker"),
    [
        ("kind", lambda d: d.update(kind="InferenceServices")),
        ("extension", lambda d: d["spec"]["predictor"].update(scaleMetric="gpu")),
        ("spec", lambda d: d["spec"].update(predictors={})),
        ("container", lambda d: d["spec"]["predictor"]["containers"][0].update(port=8080)),
    ],
)
def test_a_broken_manifest_is_caught(where: str, breaker: Any) -> None:
    doc = copy.deepcopy(load())
    breaker(doc)
    with pytest.raises(Exception):  # noqa: B017, PT011 - jsonschema's or kubernetes-validate's
        validate_both(doc)


def validate_both(doc: dict[str, Any]) -> None:
    jsonschema.Draft202012Validator(SCHEMA).validate(doc)
    k8s_validate().validate(as_pod(doc), OLDEST_K8S, strict=True)


@pytest.mark.process
def test_the_container_serves_v2_rest(tmp_path: Path) -> None:
    """The container's command (host and port moved to loopback) and env, as a real server."""
    c = container(load())
    port = free_port()
    cmd = effective_command(c)
    args = list(cmd[1:])
    args[args.index("--host") + 1], args[args.index("--port") + 1] = "127.0.0.1", str(port)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    env |= {e["name"]: e["value"] for e in c["env"] if "value" in e}
    with uvicorn_server(args, port, tmp_path / "server.log", env) as server:
        assert httpx.get(f"{server.url}/v2/health/ready", timeout=5).json() == {"ready": True}
        assert httpx.get(f"{server.url}/v2/models/imdb_lstm/ready", timeout=5).status_code == 200
        body = {"inputs": [{"name": "text", "shape": [1], "datatype": "BYTES", "data": ["Fine."]}]}
        r = httpx.post(f"{server.url}/v2/models/imdb_lstm/infer", json=body, timeout=30)
        assert r.status_code == 200 and r.json()["model_name"] == "imdb_lstm"
        assert "V2 gRPC listening" not in server.log()
