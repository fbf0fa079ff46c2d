"""How one loaded model is batched: one object given to both the batcher and the runner.

Pure Python (no TensorFlow): the service builds it from its settings, evaluation and bench from
their own numbers. A GPU gets the same object with XLA off and larger batches (``for_device``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

# On a GPU one call costs about the same for 1 or 256 rows (one cuDNN kernel launch sequence), so
# batches may grow and a non-full batch may wait briefly for more rows. Estimates, not measured
# here (no GPU): the same numbers as the k8s GPU overlay; scripts/gpu_check.sh prints the curve.
GPU_MIN_BATCH_SIZE = 256
GPU_MIN_DELAY_S = 0.002


def padded_batch_sizes(max_batch_size: int) -> list[int]:
    """The batch sizes XLA compiles: powers of two up to a step, then multiples of the step.

    The step is max(16, max/8): few shapes keep start-up short (64 -> 8 compiles, 4096 -> 17)
    while padding never more than doubles a small batch nor adds more than a step to a large one.
    """
    step = max(16, -(-max_batch_size // 8))
    sizes = [1 << k for k in range(step.bit_length()) if 1 << k < min(step, max_batch_size)]
    sizes += list(range(step, max_batch_size, step))
    return [*sizes, max_batch_size]


@dataclass(frozen=True)
class BatchPolicy:
    max_batch_size: int = 64  # rows per model call, at most
    max_delay_s: float = 0.0  # how long a non-full batch waits for more rows
    max_queue_size: int = 1024  # rows waiting, at most (then 503)
    xla: bool = True  # on a CPU: compile one XLA program per padded batch size
    warmup_repeats: int = 2  # calls per shape before the model is declared ready
    # /explain's rows per model call when no /predict row waits (they queue behind /predict's:
    # app.batcher). Small, so a /predict arriving meanwhile waits for a short call only.
    background_rows: int = 8

    def __post_init__(self) -> None:
        if self.max_batch_size < 1 or self.max_queue_size < 1 or self.max_delay_s < 0:
            raise ValueError("max_batch_size, max_queue_size must be >= 1; max_delay_s >= 0")

    def for_device(self, device: str) -> BatchPolicy:
        """The policy as used on ``device``: unchanged on a CPU.

        On a GPU: XLA off (it fuses the CPU's LSTM loop; the GPU runs cuDNN, which XLA cannot
        compile), batches of at least ``GPU_MIN_BATCH_SIZE`` rows, a hold of at least
        ``GPU_MIN_DELAY_S``, and a queue that holds at least one full batch. Larger configured
        values are kept (docs/performance.md, "GPU").
        """
        if not device.upper().startswith("/GPU"):
            return self
        batch = max(self.max_batch_size, GPU_MIN_BATCH_SIZE)
        return replace(
            self,
            xla=False,
            max_batch_size=batch,
            max_delay_s=max(self.max_delay_s, GPU_MIN_DELAY_S),
            max_queue_size=max(self.max_queue_size, batch),
        )

    @property
    def padded_sizes(self) -> list[int]:
        """Shapes the runner pads batches to (empty: every batch runs at its own size)."""
        return padded_batch_sizes(self.max_batch_size) if self.xla else []

    def background_room(self, foreground: int) -> int:
        """/explain rows that may join a model call of ``foreground`` /predict rows: alone,
        ``background_rows``; beside them, only the padding XLA computes anyway (none without XLA),
        so a /predict call costs what it would without /explain traffic."""
        if foreground == 0:
            return self.background_rows
        padded = next((s for s in self.padded_sizes if s >= foreground), foreground)
        return padded - foreground

    @property
    def warmup_sizes(self) -> list[int]:
        return sorted({1, self.max_batch_size, *self.padded_sizes})
