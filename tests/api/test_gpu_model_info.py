"""``GET /model`` on an injected GPU: ``device``, ``kernel`` and the GPU batching policy.

The service is the real one (lifespan, real runner on the committed model); only the device list
is injected, and, for the accepted case, the GPU-only step is stubbed (``tests/fake_gpu.py``):
``cudnn.uses_cudnn`` answers True and the rebuilt network runs on this CPU.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from app.model_server import Runner
from model_contract import cudnn
from model_contract.runner import ModelRunner, choose_device
from tests.fake_gpu import FAKE_GPUS, cpu_traced_builder, forced_builder, no_memory_growth


def _info_on_fake_gpu(monkeypatch: pytest.MonkeyPatch, builder: Any) -> dict[str, Any]:
    no_memory_growth(monkeypatch)
    settings = Settings()

    def factory(path: Path, maxlen: int) -> Runner:
        device = choose_device(FAKE_GPUS)
        return ModelRunner(path, maxlen, settings.batch_policy, device, cudnn_builder=builder)

    with TestClient(create_app(settings, runner_factory=factory)) as client:
        info: dict[str, Any] = client.get("/model").json()
        response = client.post("/predict", json={"text": "A wonderful, moving film."})
        assert response.status_code == 200 and response.json()["label"] == "positive"
    return info


def test_model_info_reports_the_savedmodel_fallback_on_a_gpu(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    info = _info_on_fake_gpu(monkeypatch, forced_builder)  # cuDNN op cannot run here: refused
    assert (info["device"], info["kernel"], info["xla"]) == ("/GPU:0", "savedmodel", False)
    assert (info["max_batch_size"], info["max_batch_delay_ms"]) == (256, 2.0)


def test_model_info_reports_cudnn_when_the_gpu_function_is_adopted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(cudnn, "uses_cudnn", lambda fn: True)  # stub: see module doc
    info = _info_on_fake_gpu(monkeypatch, cpu_traced_builder)
    assert (info["device"], info["kernel"], info["xla"]) == ("/GPU:0", "cudnn", False)
