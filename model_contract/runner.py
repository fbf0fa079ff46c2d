"""The TensorFlow side of serving: device choice, batched calls, XLA shapes, warm-up.

It calls the SavedModel through ``savedmodel.ServingSignature`` (the concrete ``serving_default``
function: its input signature is fixed ([None, maxlen] int32), so any batch size reuses the same
graph - no retracing and none of ``model.predict``'s per-call overhead).

On a CPU the same function is also XLA-compiled (``jit_compile``), which fuses the LSTM's 80
unrolled steps: batch 1 ran 1.58 -> 0.38 ms, batch 32 4.13 -> 2.74 ms, batch 64 7.11 -> 5.20 ms
(one intra-op thread; max |diff| vs the plain graph 1.8e-7). XLA compiles one program per input
shape (~0.25 s each), so batches are padded up to a few fixed sizes, all compiled before ready.

On a GPU, XLA is off and warm-up tries the cuDNN function of ``model_contract.cudnn`` (the
artifact's network rebuilt and traced on the GPU, adopted only if it equals the SavedModel within
1e-5 on the golden examples; else the SavedModel graph, with one warning). ``kernel`` says which
runs: ``xla-cpu``, ``savedmodel`` or ``cudnn``.
"""

from __future__ import annotations

import bisect
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import tensorflow as tf

from model_contract import cudnn, shared_xla
from model_contract.policy import BatchPolicy
from model_contract.savedmodel import ServingSignature

logger = logging.getLogger(__name__)


# (artifact path, maxlen, device) -> the GPU function (a concrete function); injectable for tests.
CudnnBuilder = Callable[[Path, int, str], Any]


def choose_device(gpus: Sequence[Any] | None = None) -> str:
    """First GPU (with memory growth, so we don't grab all of it) if TF sees one, else CPU.

    ``gpus``: the physical GPU list; TensorFlow's by default (tests inject one).
    """
    if gpus is None:
        gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        for gpu in gpus:
            # RuntimeError: already initialised (e.g. a second app in one process).
            with contextlib.suppress(RuntimeError):
                tf.config.experimental.set_memory_growth(gpu, True)
        return "/GPU:0"
    return "/CPU:0"


class ModelRunner:
    """Holds the loaded SavedModel and turns int32 [n, maxlen] batches into P(positive)."""

    def __init__(
        self,
        path: Path,
        maxlen: int,
        policy: BatchPolicy,
        device: str | None = None,
        cudnn_builder: CudnnBuilder = cudnn.build_cudnn_function,
    ) -> None:
        self.device = device or choose_device()
        self.policy = policy.for_device(self.device)
        self.maxlen = maxlen
        started = time.perf_counter()
        self._path = path
        self._signature = ServingSignature(path, maxlen, self.device)
        # Batches not run by the XLA programs: the SavedModel, or on a GPU the cuDNN function
        # once warm-up has accepted it.
        self._plain: cudnn.TensorFn = self._signature
        self._cudnn_builder = cudnn_builder
        self.xla = self.policy.xla
        self.kernel = cudnn.KERNEL_XLA_CPU if self.xla else cudnn.KERNEL_SAVEDMODEL
        self.batch_sizes = self.policy.padded_sizes
        # XLA on a CPU: the shared program of the artifact's architecture (its compiled programs
        # are reused by the next version: model_contract/shared_xla.py), else the signature
        # compiled for this version alone.
        self._compiled = self._xla_function(path, maxlen) if self.xla else None
        logger.info(
            "model loaded path=%s device=%s xla=%s seconds=%.2f",
            path,
            self.device,
            self.xla,
            time.perf_counter() - started,
        )

    def _xla_function(self, path: Path, maxlen: int) -> cudnn.TensorFn:
        shared = shared_xla.build(path, maxlen, self._signature)
        if shared is not None:
            return shared
        # The concrete function, not the tf.function: skips ~100 us of Python dispatch per call.
        compiled: cudnn.TensorFn = tf.function(
            self._signature,
            jit_compile=True,
            input_signature=[tf.TensorSpec([None, maxlen], tf.int32)],
        ).get_concrete_function()
        return compiled

    @property
    def signature(self) -> ServingSignature:
        """The loaded signature (``gradients.build_attributor`` checks its rebuilt network on it)."""
        return self._signature

    def predict(self, ids: npt.NDArray[np.int32]) -> npt.NDArray[np.float32]:
        """P(positive) for each row; ``ids`` is int32 [n, maxlen]."""
        n = len(ids)
        i = bisect.bisect_left(self.batch_sizes, n)
        with tf.device(self.device):
            if self._compiled is not None and i < len(self.batch_sizes):
                size = self.batch_sizes[i]
                if size > n:  # pad with all-padding rows: rows are independent, extra ones dropped
                    ids = np.concatenate([ids, np.zeros((size - n, self.maxlen), np.int32)])
                out = self._compiled(tf.constant(ids, dtype=tf.int32))
            else:  # no XLA, or a batch larger than any compiled size (not from the batcher)
                out = self._plain(tf.constant(ids, dtype=tf.int32))
        return np.asarray(out.numpy(), dtype=np.float32).reshape(-1)[:n]

    def warmup(self) -> None:
        """Run each batch shape of the policy so the first real request pays no init cost.

        Every XLA shape compiles here. Should XLA fail on this machine, the service falls back to
        the plain graph (same outputs, slower) with a warning rather than refusing to start.
        On a GPU the cuDNN function is tried first (``_adopt_cudnn``).
        """
        started = time.perf_counter()
        if self.device.upper().startswith("/GPU"):
            self._adopt_cudnn()
        sizes = self.policy.warmup_sizes
        for size in sizes:
            ids = np.zeros((size, self.maxlen), dtype=np.int32)
            ids[:, -1] = 1
            for _ in range(max(self.policy.warmup_repeats, 1)):
                try:
                    self.predict(ids)
                except tf.errors.OpError as exc:
                    self._fall_back(exc)
                    self.predict(ids)
        logger.info(
            "model warm-up done batch_sizes=%s seconds=%.2f",
            sizes,
            time.perf_counter() - started,
        )

    def _fall_back(self, exc: tf.errors.OpError) -> None:
        """A warm-up call failed: XLA or the cuDNN function -> the SavedModel graph; else raise."""
        if self.kernel == cudnn.KERNEL_CUDNN:
            logger.warning(
                "cuDNN function failed at warm-up (%s); serving the SavedModel graph", exc.message
            )
            self._plain = self._signature
        elif self.xla:
            logger.warning("XLA failed (%s); serving the plain graph instead", exc.message)
            self.xla, self.batch_sizes, self._compiled = False, [], None
        else:
            raise exc
        self.kernel = cudnn.KERNEL_SAVEDMODEL

    def _adopt_cudnn(self) -> None:
        """Serve the cuDNN function if it is one and equals the SavedModel; else one warning."""
        try:
            candidate = self._cudnn_builder(self._path, self.maxlen, self.device)
            ids = cudnn.golden_ids(self._path)
            reason = cudnn.refusal(candidate, self._signature, ids, self.device)
        except Exception as exc:  # any failure to build it leaves the SavedModel in place
            reason = f"it could not be built: {type(exc).__name__}: {exc}"
        if reason is not None:
            logger.warning(
                "cuDNN function refused: %s; serving the SavedModel graph on %s",
                reason,
                self.device,
            )
            return
        self._plain, self.kernel = candidate, cudnn.KERNEL_CUDNN
        logger.info(
            "serving the cuDNN function on %s (equal to the SavedModel within %g)",
            self.device,
            cudnn.PARITY_ATOL,
        )
