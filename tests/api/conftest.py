"""Fixtures for API tests against the real committed model (default Settings model dir).

``MODEL_DIR`` may point elsewhere while developing; the committed tests read the default.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from app.config import Settings
from app.main import create_app
from app.model_server import Runner
from app.service import default_runner_factory
from model_contract.artifact import Artifact, load_artifact


@pytest.fixture(scope="session")
def model_dir() -> Path:
    return Settings().resolved_model_dir()


@pytest.fixture(scope="session")
def artifact(model_dir: Path) -> Artifact:
    return load_artifact(model_dir)


@pytest.fixture(scope="session")
def client() -> Iterator[TestClient]:
    """The service exactly as deployed by default (lifespan runs: load, warm-up, batcher)."""
    with TestClient(create_app(Settings())) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def direct_model(artifact: Artifact) -> Any:
    """The SavedModel signature called directly (no XLA, no batcher) - the parity reference."""
    from model_contract.savedmodel import ServingSignature

    return ServingSignature(artifact.path, artifact.tokenizer.config.maxlen).predict


class ControlledRunner:
    """Wraps the real runner: can block on a gate, sleep, or fail - for overload/timeout tests."""

    def __init__(self, inner: Runner) -> None:
        self.inner = inner
        self.device = inner.device
        self.xla = inner.xla
        self.kernel = inner.kernel
        self.gate = threading.Event()
        self.gate.set()
        self.entered = threading.Event()
        self.delay_s = 0.0
        self.fail = False
        self.calls = 0

    def predict(self, ids: np.ndarray) -> np.ndarray:
        self.entered.set()
        assert self.gate.wait(30)
        if self.delay_s:
            time.sleep(self.delay_s)
        self.calls += 1
        if self.fail:
            raise RuntimeError("simulated model failure")
        return self.inner.predict(ids)

    def warmup(self) -> None:
        self.inner.warmup()


def controlled_app(**overrides: Any) -> tuple[TestClient, ControlledRunner]:
    holder: list[ControlledRunner] = []
    settings = Settings(**overrides)

    def factory(path: Path, maxlen: int) -> Runner:
        holder.append(ControlledRunner(default_runner_factory(settings)(path, maxlen)))
        return holder[0]

    client = TestClient(create_app(settings, runner_factory=factory))
    client.__enter__()
    return client, holder[0]


def metric_samples(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """``/metrics`` parsed with prometheus_client's parser: {(sample name, labels): value}."""
    response = client.get("/metrics")
    assert response.status_code == 200
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def sample(samples: dict[Any, float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)
