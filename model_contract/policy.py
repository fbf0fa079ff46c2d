"""How one loaded model is batched: one object given to both the batcher and the runner.

Pure Python (no TensorFlow): the service builds it from its settings, evaluation and bench from
their own numbers. A GPU gets the same object with XLA off (see ``for_device``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace


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

    def __post_init__(self) -> None:
        if self.max_batch_size < 1 or self.max_queue_size < 1 or self.max_delay_s < 0:
            raise ValueError("max_batch_size, max_queue_size must be >= 1; max_delay_s >= 0")

    def for_device(self, device: str) -> BatchPolicy:
        """XLA fuses the LSTM loop on a CPU; on a GPU it is off (see docs/performance.md)."""
        return replace(self, xla=False) if device.upper().startswith("/GPU") else self

    @property
    def padded_sizes(self) -> list[int]:
        """Shapes the runner pads batches to (empty: every batch runs at its own size)."""
        return padded_batch_sizes(self.max_batch_size) if self.xla else []

    @property
    def warmup_sizes(self) -> list[int]:
        return sorted({1, self.max_batch_size, *self.padded_sizes})
