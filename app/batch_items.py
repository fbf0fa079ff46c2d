"""What the batcher queues and how results get back: items, groups, hooks, delivery on the loop."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class Group:
    """The results of one ``submit_group`` call as they arrive (touched on the loop only)."""

    __slots__ = ("remaining", "results")

    def __init__(self, n: int) -> None:
        self.results: list[Any] = [None] * n
        self.remaining = n


@dataclass(slots=True)
class Pending(Generic[T, R]):
    item: T
    future: asyncio.Future[Any]  # R, or list[R] shared by every item of a group
    enqueued: float
    group: Group | None = None
    index: int = 0  # in the group's results


class BatchHooks:
    """Observation points (metrics). Called from the loop *and* the model thread: thread-safe."""

    def on_depth(self, depth: int) -> None:
        """Queue depth changed."""

    def on_dequeue(self, waits: Sequence[float]) -> None:
        """A batch left the queue; seconds each item waited."""

    def on_batch(self, size: int, seconds: float, error: BaseException | None) -> None:
        """One call of the batch function finished."""


def deliver(batch: list[Pending[T, R]], results: Sequence[R], error: BaseException | None) -> None:
    """On the loop: each item's result (or the batch's error) to its future or its group's."""
    for i, p in enumerate(batch):
        if p.future.done():  # cancelled (timeout, disconnect) or a group already failed
            continue
        if error is not None:
            p.future.set_exception(error)
        elif (group := p.group) is None:
            p.future.set_result(results[i])
        else:
            group.results[p.index] = results[i]
            group.remaining -= 1
            if not group.remaining:
                p.future.set_result(group.results)
