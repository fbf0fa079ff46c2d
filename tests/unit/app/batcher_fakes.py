"""A fake model and recording hooks for the batcher's unit tests (no TensorFlow)."""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from app.batcher import Batcher, BatchHooks


def async_test(fn: Callable[[], Coroutine[Any, Any, None]]) -> Callable[[], None]:
    """Run an async test in a fresh loop with a hard time limit (no pytest-asyncio needed)."""

    @functools.wraps(fn)
    def wrapper() -> None:
        asyncio.run(asyncio.wait_for(fn(), 30))

    return wrapper


class FakeModel:
    """Doubles its inputs; records each batch; can block or fail on demand."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.gate = threading.Event()
        self.gate.set()
        self.entered = threading.Event()
        self.fail = False

    def __call__(self, items: list[int]) -> Sequence[int]:
        self.entered.set()
        assert self.gate.wait(10), "test gate never opened"
        self.batches.append(list(items))
        if self.fail:
            raise ValueError("model exploded")
        return [2 * x for x in items]


class RecordingHooks(BatchHooks):
    def __init__(self) -> None:
        self.sizes: list[int] = []
        self.errors: list[BaseException | None] = []
        self.waits: list[float] = []

    def on_dequeue(self, waits: Sequence[float]) -> None:
        self.waits.extend(waits)

    def on_batch(self, size: int, seconds: float, error: BaseException | None) -> None:
        self.sizes.append(size)
        self.errors.append(error)


def make(model: FakeModel, **kwargs: object) -> Batcher[int, int]:
    options: dict[str, object] = {"max_batch_size": 4, "max_delay_s": 0.0, "max_queue_size": 100}
    options.update(kwargs)
    return Batcher(model, **options)  # type: ignore[arg-type]


async def wait_entered(model: FakeModel) -> None:
    assert await asyncio.to_thread(model.entered.wait, 10)
