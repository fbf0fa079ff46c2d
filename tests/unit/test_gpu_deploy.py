"""The GPU build and deployment files parse and say what the code does (no GPU, no image build).

- the Dockerfile's ``TF_VARIANT=gpu`` requirements rewrite, run as written, gives the same pins
  as ``scripts/gpu_check.sh --print-requirements`` (one TensorFlow version everywhere);
- ``docker-compose.gpu.yml`` parses, and merged onto the base file (``docker compose config``,
  client-side only, when the Compose plugin is installed) builds TF_VARIANT=gpu with one NVIDIA
  device reserved;
- the k8s GPU overlay's batching numbers are the runner's GPU policy.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from model_contract.policy import GPU_MIN_BATCH_SIZE, GPU_MIN_DELAY_S

ROOT = Path(__file__).resolve().parents[2]


def _dockerfile_gpu_branch() -> str:
    """The shell of the Dockerfile's ``gpu)`` case arm, continuation lines joined."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    match = re.search(r"\bgpu\)(.*?);;", text, re.S)
    assert match, "Dockerfile has no gpu) case arm"
    return match.group(1)


def test_dockerfile_gpu_requirements_match_the_gpu_check_venv(tmp_path: Path) -> None:
    out = tmp_path / "requirements.txt"
    script = _dockerfile_gpu_branch().replace("/tmp/requirements.txt", str(out))
    subprocess.run(["bash", "-euc", script], cwd=ROOT, check=True, timeout=30)
    docker = out.read_text()
    venv = subprocess.run(
        [str(ROOT / "scripts" / "gpu_check.sh"), "--print-requirements"],
        cwd=ROOT, capture_output=True, text=True, check=True, timeout=30,
    ).stdout  # fmt: skip
    assert docker == venv
    pin = re.search(
        r"^tensorflow-cpu==(\S+)$", (ROOT / "requirements/runtime.txt").read_text(), re.M
    )
    assert pin and f"tensorflow[and-cuda]=={pin.group(1)}\n" in docker
    assert not re.search(r"^tensorflow-cpu", docker, re.M)


def test_dockerfile_defaults_to_cpu_and_refuses_other_variants() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^ARG TF_VARIANT=cpu$", text, re.M)
    assert "TF_VARIANT must be cpu or gpu" in text


def test_gpu_compose_file_parses() -> None:
    gpu = yaml.safe_load((ROOT / "docker-compose.gpu.yml").read_text())
    api = gpu["services"]["api"]
    assert api["build"]["args"]["TF_VARIANT"] == "gpu"
    [device] = api["deploy"]["resources"]["reservations"]["devices"]
    assert device["driver"] == "nvidia" and "gpu" in device["capabilities"]
    assert "TF_FORCE_GPU_ALLOW_GROWTH=true" in api["environment"]
    assert set(gpu["services"]) <= set(
        yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    )


def test_gpu_compose_file_merges_onto_the_base_file() -> None:
    if shutil.which("docker") is None:
        pytest.skip("no docker client")
    cmd = ["docker", "compose", "-f", "docker-compose.yml", "-f", "docker-compose.gpu.yml"]
    if subprocess.run(
        [*cmd[:2], "version"], capture_output=True, check=False, timeout=30
    ).returncode:
        pytest.skip("no Docker Compose v2 plugin")
    result = subprocess.run(
        [*cmd, "config", "--format", "json"], cwd=ROOT, capture_output=True, text=True,
        check=False, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    api = json.loads(result.stdout)["services"]["api"]
    assert api["build"]["args"] == {"TF_VARIANT": "gpu"} and api["image"] == "imdb-sentiment:gpu"
    assert api["deploy"]["resources"]["reservations"]["devices"][0]["driver"] == "nvidia"
    assert api["environment"]["TF_FORCE_GPU_ALLOW_GROWTH"] == "true"
    assert api["ports"] and api["healthcheck"]  # the base service is kept, not replaced


def test_k8s_gpu_overlay_uses_the_runner_gpu_policy() -> None:
    overlay = yaml.safe_load((ROOT / "deploy/k8s/overlays/gpu/kustomization.yaml").read_text())
    [config] = overlay["configMapGenerator"]
    literals = dict(item.split("=", 1) for item in config["literals"])
    assert int(literals["MAX_BATCH_SIZE"]) == GPU_MIN_BATCH_SIZE
    assert float(literals["MAX_BATCH_DELAY_MS"]) == GPU_MIN_DELAY_S * 1000
    assert literals["TF_FORCE_GPU_ALLOW_GROWTH"] == "true"
