"""Device choice and the GPU runner's kernel choice, with an injected GPU list (no GPU here).

On this CPU-only machine ``/GPU:0`` is soft-placed on the CPU, so the SavedModel reference runs;
the cuDNN op cannot. Where a test needs "the cuDNN function ran and matched", that GPU-only step
is stubbed (``tests/fake_gpu.py`` says how) and the test says so.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import tensorflow as tf

from model_contract import cudnn
from model_contract.network import NetworkError
from model_contract.policy import GPU_MIN_BATCH_SIZE, GPU_MIN_DELAY_S, BatchPolicy
from model_contract.runner import ModelRunner, choose_device
from model_contract.savedmodel import ServingSignature
from tests.fake_gpu import FAKE_GPUS, cpu_traced_builder, forced_builder, no_memory_growth
from tests.model.conftest import MODEL_DIR

PATH = MODEL_DIR / "3"
MAXLEN = 80
POLICY = BatchPolicy(max_batch_size=8, warmup_repeats=1)


def _refusals(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.WARNING and "cuDNN" in r.message]


def _gpu_runner(monkeypatch: pytest.MonkeyPatch, builder: Any) -> ModelRunner:
    no_memory_growth(monkeypatch)
    return ModelRunner(PATH, MAXLEN, POLICY, choose_device(FAKE_GPUS), cudnn_builder=builder)


def test_device_choice_from_the_injected_gpu_list(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = no_memory_growth(monkeypatch)
    two = [*FAKE_GPUS, type(FAKE_GPUS[0])("/physical_device:GPU:1")]
    assert choose_device(two) == "/GPU:0"
    assert calls == [(two[0], True), (two[1], True)]  # memory growth on every GPU
    assert choose_device([]) == "/CPU:0"
    assert choose_device() == "/CPU:0"  # this machine: TensorFlow lists no GPU


def test_gpu_policy_batches_larger_with_a_short_hold() -> None:
    gpu = BatchPolicy(max_batch_size=64, max_delay_s=0.0, max_queue_size=128).for_device("/GPU:0")
    assert (gpu.xla, gpu.max_batch_size, gpu.max_delay_s) == (False, 256, GPU_MIN_DELAY_S)
    assert gpu.max_queue_size == GPU_MIN_BATCH_SIZE and gpu.padded_sizes == []
    big = BatchPolicy(max_batch_size=1024, max_delay_s=0.01).for_device("/GPU:0")
    assert (big.max_batch_size, big.max_delay_s) == (1024, 0.01)  # larger settings are kept
    assert gpu.for_device("/GPU:0") == gpu
    cpu = BatchPolicy()
    assert cpu.for_device("/CPU:0") is cpu


def test_gpu_runner_refuses_a_cudnn_function_that_cannot_run(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The real GPU function (cuDNN-traced) on a machine without the kernel: fall back, once."""
    runner = _gpu_runner(monkeypatch, forced_builder)
    assert runner.device == "/GPU:0" and not runner.xla and runner.policy.max_batch_size == 256
    runner.warmup()
    assert runner.kernel == cudnn.KERNEL_SAVEDMODEL and runner._plain is runner._signature
    [warning] = _refusals(caplog)
    assert "failed to run" in warning.message and "serving the SavedModel graph" in warning.message
    ids = cudnn.golden_ids(PATH)
    np.testing.assert_array_equal(runner.predict(ids), ServingSignature(PATH, MAXLEN).predict(ids))


def test_gpu_runner_refuses_a_function_without_the_cudnn_op(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    runner = _gpu_runner(monkeypatch, cpu_traced_builder)  # Keras saw no GPU: generic loop
    runner.warmup()
    assert runner.kernel == cudnn.KERNEL_SAVEDMODEL
    [warning] = _refusals(caplog)
    assert "holds no cuDNN op" in warning.message


def test_gpu_runner_refuses_on_parity_failure(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Stubbed (no GPU): the structure check passes; the outputs are 2e-5 off the SavedModel."""
    monkeypatch.setattr(cudnn, "uses_cudnn", lambda fn: True)

    def off_by_a_little(path: Path, maxlen: int, device: str) -> Any:
        fn = cpu_traced_builder(path, maxlen, device)
        return lambda ids: fn(ids) + 2e-5

    runner = _gpu_runner(monkeypatch, off_by_a_little)
    runner.warmup()
    assert runner.kernel == cudnn.KERNEL_SAVEDMODEL
    [warning] = _refusals(caplog)
    assert "differs from the SavedModel by 2e-05 > 1e-05" in warning.message


def test_gpu_runner_refuses_when_the_network_cannot_be_rebuilt(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(path: Path, maxlen: int, device: str) -> Any:
        raise NetworkError("weight lstm/lstm_cell/bias [256]: no unique saved variable")

    runner = _gpu_runner(monkeypatch, broken)
    runner.warmup()
    assert runner.kernel == cudnn.KERNEL_SAVEDMODEL
    [warning] = _refusals(caplog)
    assert "could not be built: NetworkError" in warning.message


def test_gpu_runner_adopts_a_matching_cudnn_function(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Stubbed (no GPU): structure check forced true, the rebuilt network run on the CPU."""
    monkeypatch.setattr(cudnn, "uses_cudnn", lambda fn: True)
    built: list[Any] = []

    def builder(path: Path, maxlen: int, device: str) -> Any:
        built.append(cpu_traced_builder(path, maxlen, device))
        return built[-1]

    runner = _gpu_runner(monkeypatch, builder)
    assert runner.kernel == cudnn.KERNEL_SAVEDMODEL  # until warm-up has checked it
    runner.warmup()
    assert runner.kernel == cudnn.KERNEL_CUDNN and runner._plain is built[0]
    assert not _refusals(caplog)
    ids = cudnn.golden_ids(PATH)
    want = ServingSignature(PATH, MAXLEN).predict(ids)
    assert np.max(np.abs(runner.predict(ids) - want)) <= cudnn.PARITY_ATOL


def test_cudnn_failure_during_warm_up_falls_back_to_the_savedmodel(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Stubbed (no GPU): accepted on the golden examples, then e.g. out of memory at batch 256."""
    monkeypatch.setattr(cudnn, "uses_cudnn", lambda fn: True)

    def builder(path: Path, maxlen: int, device: str) -> Any:
        fn = cpu_traced_builder(path, maxlen, device)

        def call(ids: tf.Tensor) -> tf.Tensor:
            if ids.shape[0] > 16:
                raise tf.errors.ResourceExhaustedError(None, None, "OOM when allocating")
            return fn(ids)

        return call

    runner = _gpu_runner(monkeypatch, builder)
    runner.warmup()
    assert runner.kernel == cudnn.KERNEL_SAVEDMODEL and runner._plain is runner._signature
    [warning] = _refusals(caplog)
    assert "failed at warm-up (OOM when allocating)" in warning.message
