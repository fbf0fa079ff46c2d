"""Fixtures for the Kubernetes manifests: rendered overlays, the measured profile, a live replica.

Rendering needs ``kubectl`` (``kubectl kustomize``; Debian: ``apt-get install kubernetes-client``,
which ``.ci/run`` does when it is missing); without it those tests skip and say why. ``KUBECTL``
may point at another binary (e.g. an older kubectl to check kustomize v2 compatibility).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.policy import effective_command, env_of, kind
from tests.process.servers import free_port, uvicorn_server

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
OVERLAYS = sorted(p.name for p in (K8S / "overlays").iterdir() if p.is_dir())
PROFILE = ROOT / "deploy" / "replica_profile.json"


def kubectl() -> str | None:
    return os.environ.get("KUBECTL") or shutil.which("kubectl")


def skip_or_fail(reason: str) -> None:
    """Skip locally; in CI (CI=true, where .ci/run installs the tools) a missing tool is a failure."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} -- CI must install it (.ci/run)")
    pytest.skip(reason)


def render(overlay: Path) -> list[dict[str, Any]]:
    exe = kubectl()
    if exe is None:
        skip_or_fail("kubectl not found: `apt-get install kubernetes-client`")
        raise AssertionError("unreachable")
    out = subprocess.run(
        [exe, "kustomize", str(overlay)], capture_output=True, text=True, timeout=120, check=False
    )
    assert out.returncode == 0, f"kubectl kustomize {overlay} failed:\n{out.stderr}"
    return [d for d in yaml.safe_load_all(out.stdout) if d]


@pytest.fixture(scope="session")
def rendered() -> dict[str, list[dict[str, Any]]]:
    """Every overlay under deploy/k8s/overlays, rendered once per session."""
    return {name: render(K8S / "overlays" / name) for name in OVERLAYS}


@pytest.fixture(scope="session")
def profile() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(PROFILE.read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="session")
def openapi() -> dict[str, Any]:
    """The app's OpenAPI document (building the app loads no model; the lifespan does)."""
    from app.config import Settings
    from app.main import create_app

    return create_app(Settings()).openapi()


@pytest.fixture(scope="session")
def live_replica(
    rendered: dict[str, list[dict[str, Any]]], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The cpu overlay's container as a real uvicorn process on loopback: the image's command with
    host/port moved to 127.0.0.1:<free>, the env the ConfigMap gives it. Yields its base URL and
    stops its whole process group at the end."""
    docs = rendered["cpu"]
    container = kind(docs, "Deployment")[0]["spec"]["template"]["spec"]["containers"][0]
    cmd = effective_command(container)
    assert cmd[0] == "uvicorn", cmd
    port = free_port()
    args, rest = [], iter(cmd[1:])
    for arg in rest:
        if arg in {"--host", "--port"}:
            next(rest, None)  # and its value
            continue
        args.append(arg)
    args += ["--host", "127.0.0.1", "--port", str(port)]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **env_of(docs, container)}
    if "GRPC_PORT" in env:  # V2 gRPC moves to loopback and a free port as well
        env |= {"GRPC_PORT": str(free_port()), "GRPC_HOST": "127.0.0.1"}
    log_path = tmp_path_factory.mktemp("replica") / "server.log"
    with uvicorn_server(args, port, log_path, env) as server:
        yield server.url
