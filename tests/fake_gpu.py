"""Stand-ins for the GPU-only parts of the GPU path, for tests on machines without a GPU.

What is real and what is not:

- ``forced_cudnn_trace``: Keras' GPU check (``_is_gpu_available``) answers True *while a function
  is traced*, so Keras emits the real ``CudnnRNNV3`` op with the real weights. Nothing runs on a
  GPU: calling such a function here fails (no CPU kernel for the op).
- ``FAKE_GPUS``: an injected physical-device list (``runner.choose_device(gpus=...)``).
- ``cpu_traced_builder``: the rebuilt network traced on the CPU (generic loop, runs anywhere).
  Paired with a stubbed ``cudnn.uses_cudnn`` it stands in for "the cuDNN function ran on a GPU",
  which is physically impossible here; the structural half is proven separately by the tests
  that use ``forced_cudnn_trace``.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest


@dataclass(frozen=True)
class FakePhysicalDevice:
    name: str
    device_type: str = "GPU"


FAKE_GPUS = [FakePhysicalDevice("/physical_device:GPU:0")]


@contextlib.contextmanager
def forced_cudnn_trace() -> Iterator[None]:
    """Keras' ``cudnn_ok`` sees a GPU inside the block (tracing only; no kernel is executed)."""
    rnn = importlib.import_module("keras.src.backend.tensorflow.rnn")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(rnn, "_is_gpu_available", lambda: True)
        yield


def forced_builder(path: Path, maxlen: int, device: str) -> Any:
    """``cudnn.build_cudnn_function`` as on a GPU machine: the graph holds ``CudnnRNNV3``."""
    from model_contract.cudnn import build_cudnn_function

    with forced_cudnn_trace():
        return build_cudnn_function(path, maxlen, device)


def cpu_traced_builder(path: Path, maxlen: int, device: str) -> Any:
    """The rebuilt network traced where Keras sees no GPU: runs on this CPU (see module doc)."""
    from model_contract.cudnn import build_cudnn_function

    return build_cudnn_function(path, maxlen, "/CPU:0")


def no_memory_growth(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Record ``set_memory_growth`` calls instead of making them (fake devices are not TF's)."""
    import tensorflow as tf

    calls: list[Any] = []
    monkeypatch.setattr(
        tf.config.experimental, "set_memory_growth", lambda dev, on: calls.append((dev, on))
    )
    return calls
