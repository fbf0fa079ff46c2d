"""Model folders and registry probes shared by the multi-version tests (real committed models)."""

from __future__ import annotations

import shutil
from pathlib import Path

from fastapi.testclient import TestClient

from app.config import Settings
from app.service import Runtime
from model_contract.manifest import MANIFEST_FILE
from tests.api.conftest import metric_samples, sample

COMMITTED = Settings().resolved_model_dir()
TEXT = "A wonderful, moving film with brilliant performances. I loved every minute of it."
FAST = {"xla": False, "warmup_batches": 1, "model_poll_s": 0}


def put_version(model_dir: Path, name: str, source: int = 3, manifest: bool = True) -> Path:
    """A copy of committed version ``source`` as ``model_dir/name``, appearing atomically."""
    staging = model_dir / f".{name}.staging"
    shutil.copytree(COMMITTED / str(source), staging)
    if not manifest:
        (staging / MANIFEST_FILE).unlink()
    return staging.rename(model_dir / name)


def runtime(client: TestClient) -> Runtime:
    rt: Runtime = client.app.state.runtime  # type: ignore[attr-defined]
    return rt


def poll(client: TestClient, times: int = 1) -> None:
    for _ in range(times):
        client.portal.call(runtime(client).models.reconcile)  # type: ignore[union-attr]


def states(client: TestClient) -> dict[str, str]:
    body = client.get("/models").json()
    return {v["version"]: v["state"] for v in body["versions"]} | {
        "default": body["default_version"]
    }


def reloads(client: TestClient) -> dict[str, float]:
    samples = metric_samples(client)
    return {
        r: sample(samples, "sentiment_model_reloads_total", result=r)
        for r in ("loaded", "failed", "unloaded")
    }
