"""V2 gRPC is wired through every deployment: image, compose, Kubernetes (probes stay on HTTP)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tests.deploy.conftest import OVERLAYS
from tests.deploy.policy import env_of, kind

ROOT = Path(__file__).resolve().parents[2]


def image_grpc_port() -> int:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    port = re.search(r"^\s*GRPC_PORT=(\d+)", dockerfile, re.MULTILINE)
    host = re.search(r"^\s*GRPC_HOST=(\S+?)\s*\\?$", dockerfile, re.MULTILINE)
    assert port and host and host.group(1) == "0.0.0.0", (
        "the image listens for gRPC on all addresses"
    )
    exposed = re.search(r"^EXPOSE\s+(.+)$", dockerfile, re.MULTILINE)
    assert exposed and port.group(1) in exposed.group(1).split()
    return int(port.group(1))


def test_compose_publishes_the_images_grpc_port() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    targets = [p.rsplit(":", 1)[1] for p in compose["services"]["api"]["ports"]]
    assert str(image_grpc_port()) in targets and "8000" in targets


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_service_has_a_named_grpc_port_and_probes_stay_on_http(rendered, overlay) -> None:
    docs = rendered[overlay]
    deployment = kind(docs, "Deployment")[0]
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports["grpc"] == int(env_of(docs, container)["GRPC_PORT"]) == image_grpc_port()
    assert env_of(docs, container)["GRPC_HOST"] == "0.0.0.0"
    service = {p["name"]: p for p in kind(docs, "Service")[0]["spec"]["ports"]}
    assert service["grpc"]["targetPort"] == "grpc" and service["grpc"]["protocol"] == "TCP"
    assert service["http"]["targetPort"] == "http"
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"]["port"] == "http", probe
