"""The TensorFlow side: device choice, SavedModel loading, batched calls, warm-up.

This is the only service module that imports TensorFlow. It calls the SavedModel's concrete
``serving_default`` function directly: its input signature is fixed ([None, maxlen] int32), so any
batch size reuses the same graph - no retracing and none of ``model.predict``'s per-call overhead.

On a CPU the same function is also XLA-compiled (``jit_compile``), which fuses the LSTM's 80
unrolled steps: batch 1 ran 1.58 -> 0.38 ms, batch 32 4.13 -> 2.74 ms, batch 64 7.11 -> 5.20 ms
(one intra-op thread; max |diff| vs the plain graph 1.8e-7). XLA compiles one program per input
shape (~0.25 s each), so batches are padded up to a few fixed sizes, all compiled before ready.
"""

from __future__ import annotations

import bisect
import contextlib
import logging
import os
import time
from pathlib import Path

# Thread pools are sized when TensorFlow's runtime starts, so this must precede the import. One
# uvicorn worker means one event loop that needs a core of its own; TensorFlow gets the rest
# instead of one thread per core fighting the loop for it. On the 2-core benchmark box, 1
# intra-op thread measured +13 % req/s at c=1, +12 % at c=16, +4 % at c=64 and -10 % server CPU
# per request (bench.ab, interleaved). Explicitly set variables still win.
_CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 2
os.environ.setdefault("TF_NUM_INTRAOP_THREADS", str(max(1, _CORES - 1)))
os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")

import numpy as np  # noqa: E402
import numpy.typing as npt  # noqa: E402

from app.artifact import INPUT_NAME, OUTPUT_NAME, SIGNATURE, ArtifactError  # noqa: E402
from app.logging_setup import quiet_tensorflow  # noqa: E402

with quiet_tensorflow():  # no C++ start-up chatter unless TF_CPP_MIN_LOG_LEVEL asks for it
    import tensorflow as tf

logger = logging.getLogger(__name__)


def choose_device() -> str:
    """First GPU (with memory growth, so we don't grab all of it) if TF sees one, else CPU."""
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        for gpu in gpus:
            # RuntimeError: already initialised (e.g. a second app in one process).
            with contextlib.suppress(RuntimeError):
                tf.config.experimental.set_memory_growth(gpu, True)
        return "/GPU:0"
    return "/CPU:0"


def padded_batch_sizes(max_batch_size: int) -> list[int]:
    """The batch sizes XLA compiles: powers of two up to a step, then multiples of the step.

    The step is max(16, max/8): few shapes keep start-up short (64 -> 8 compiles, 4096 -> 17)
    while padding never more than doubles a small batch nor adds more than a step to a large one.
    """
    step = max(16, -(-max_batch_size // 8))
    sizes = [1 << k for k in range(step.bit_length()) if 1 << k < min(step, max_batch_size)]
    sizes += list(range(step, max_batch_size, step))
    return [*sizes, max_batch_size]


class ModelRunner:
    """Holds the loaded SavedModel and turns int32 [n, maxlen] batches into P(positive)."""

    def __init__(
        self,
        path: Path,
        maxlen: int,
        device: str | None = None,
        *,
        xla: bool = False,
        max_batch_size: int = 64,
    ) -> None:
        self.device = device or choose_device()
        self.maxlen = maxlen
        started = time.perf_counter()
        with tf.device(self.device):
            # Keep the loaded object: the signature function's variables live as long as it does.
            self._loaded = tf.saved_model.load(str(path))
        try:
            self._fn = self._loaded.signatures[SIGNATURE]
        except KeyError as exc:
            raise ArtifactError(f"{path}: SavedModel has no signature {SIGNATURE!r}") from exc
        spec = self._fn.structured_input_signature[1].get(INPUT_NAME)
        if spec is None or spec.dtype != tf.int32 or spec.shape.as_list()[1:] != [maxlen]:
            raise ArtifactError(
                f"{path}: signature input {INPUT_NAME!r} is {spec}, expected int32 [None, {maxlen}]"
            )
        # XLA only on a CPU: on a GPU the plain graph runs the fused cuDNN kernel.
        self.xla = xla and not self.device.upper().startswith("/GPU")
        self.batch_sizes = padded_batch_sizes(max_batch_size) if self.xla else []
        # The concrete function, not the tf.function: skips ~100 us of Python dispatch per call.
        self._compiled = (
            tf.function(
                lambda ids: self._fn(**{INPUT_NAME: ids})[OUTPUT_NAME],
                jit_compile=True,
                input_signature=[tf.TensorSpec([None, maxlen], tf.int32)],
            ).get_concrete_function()
            if self.xla
            else None
        )
        logger.info(
            "model loaded path=%s device=%s xla=%s seconds=%.2f",
            path,
            self.device,
            self.xla,
            time.perf_counter() - started,
        )

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
                out = self._fn(**{INPUT_NAME: tf.constant(ids, dtype=tf.int32)})[OUTPUT_NAME]
        return np.asarray(out.numpy(), dtype=np.float32).reshape(-1)[:n]

    def warmup(self, batch_sizes: list[int], repeats: int = 2) -> None:
        """Run each batch shape once or twice so the first real request pays no init cost.

        Every XLA shape compiles here. Should XLA fail on this machine, the service falls back to
        the plain graph (same outputs, slower) with a warning rather than refusing to start.
        """
        started = time.perf_counter()
        sizes = sorted({*batch_sizes, *self.batch_sizes})
        for size in sizes:
            ids = np.zeros((size, self.maxlen), dtype=np.int32)
            ids[:, -1] = 1
            for _ in range(max(repeats, 1)):
                try:
                    self.predict(ids)
                except tf.errors.OpError as exc:
                    if not self.xla:
                        raise
                    logger.warning("XLA failed (%s); serving the plain graph instead", exc.message)
                    self.xla, self.batch_sizes, self._compiled = False, [], None
                    self.predict(ids)
        logger.info(
            "model warm-up done batch_sizes=%s seconds=%.2f",
            sizes,
            time.perf_counter() - started,
        )
