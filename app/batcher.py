"""Dynamic batching in pure asyncio (no FastAPI, no TensorFlow).

Callers ``submit`` items and await a future; one worker task takes what is queued (up to
``max_batch_size``), optionally waits up to ``max_delay_s`` for a batch to fill, runs the batch
function once in a dedicated thread (off the event loop, one batch at a time) and resolves every
caller's future. With ``max_delay_s == 0`` an idle worker runs a lone item at once - no latency
cost at low load - while items arriving during a model call naturally form the next batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

logger = logging.getLogger(__name__)


class QueueFull(Exception):
    """The queue cannot take the submitted items now; retry later."""


class BatcherClosed(Exception):
    """The batcher is shutting down (or not started) and accepts no new items."""


@dataclass(slots=True)
class _Pending(Generic[T, R]):
    item: T
    future: asyncio.Future[R]
    enqueued: float = field(default_factory=time.perf_counter)


class BatchHooks:
    """Observation points (metrics); called on the event loop. Override what you need."""

    def on_depth(self, depth: int) -> None:
        """Queue depth changed."""

    def on_dequeue(self, waits: Sequence[float]) -> None:
        """A batch left the queue; seconds each item waited."""

    def on_batch(self, size: int, seconds: float, error: BaseException | None) -> None:
        """One call of the batch function finished."""


class Batcher(Generic[T, R]):
    def __init__(
        self,
        fn: Callable[[list[T]], Sequence[R]],
        *,
        max_batch_size: int,
        max_delay_s: float = 0.0,
        max_queue_size: int = 1024,
        hooks: BatchHooks | None = None,
        name: str = "batcher",
    ) -> None:
        if max_batch_size < 1 or max_queue_size < 1 or max_delay_s < 0:
            raise ValueError("max_batch_size, max_queue_size must be >= 1; max_delay_s >= 0")
        self._fn = fn
        self.max_batch_size = max_batch_size
        self.max_delay_s = max_delay_s
        self.max_queue_size = max_queue_size
        self._hooks = hooks or BatchHooks()
        self._name = name
        self._queue: deque[_Pending[T, R]] = deque()
        self._wakeup = asyncio.Event()
        self._worker: asyncio.Task[None] | None = None
        # One thread: TF calls never overlap and the batch size stays the unit of work.
        self._executor: ThreadPoolExecutor | None = None
        self._accepting = False
        self._hurry = False

    @property
    def depth(self) -> int:
        return len(self._queue)

    @property
    def accepting(self) -> bool:
        return self._accepting

    def start(self) -> None:
        """Start the worker; call from inside the running event loop."""
        if self._worker is not None:
            raise RuntimeError("batcher already started")
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=self._name)
        self._worker = asyncio.get_running_loop().create_task(self._run(), name=self._name)
        self._accepting = True

    def submit(self, item: T) -> asyncio.Future[R]:
        return self.submit_many([item])[0]

    def submit_many(self, items: Sequence[T]) -> list[asyncio.Future[R]]:
        """Enqueue all items or none (``QueueFull`` at once); futures in input order."""
        if not self._accepting:
            raise BatcherClosed(f"{self._name} is not accepting work")
        if len(self._queue) + len(items) > self.max_queue_size:
            raise QueueFull(f"{self._name} queue full ({len(self._queue)}/{self.max_queue_size})")
        loop = asyncio.get_running_loop()
        futures: list[asyncio.Future[R]] = []
        for item in items:
            fut: asyncio.Future[R] = loop.create_future()
            self._queue.append(_Pending(item, fut))
            futures.append(fut)
        self._hooks.on_depth(len(self._queue))
        self._wakeup.set()
        return futures

    def hurry(self) -> None:
        """Stop holding batches open for ``max_delay_s`` (draining: finish, don't wait for more)."""
        self._hurry = True
        self._wakeup.set()

    async def shutdown(self, *, cancel_pending: bool = False, grace_s: float | None = None) -> None:
        """Stop accepting; finish queued and in-flight work (or cancel what is still queued)."""
        self._accepting = False
        self._hurry = True
        if cancel_pending:
            while self._queue:
                self._queue.popleft().future.cancel()
            self._hooks.on_depth(0)
        self._wakeup.set()
        if self._worker is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._worker), grace_s)
            except TimeoutError:
                logger.error("%s drain timed out; cancelling %d items", self._name, self.depth)
                self._worker.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._worker
                while self._queue:
                    self._queue.popleft().future.cancel()
        if self._executor is not None:
            self._executor.shutdown(wait=True)

    async def _take_batch(self) -> list[_Pending[T, R]]:
        """Wait for work, then pop up to ``max_batch_size`` live items (may return [])."""
        while not self._queue:
            if not self._accepting:
                return []
            self._wakeup.clear()
            await self._wakeup.wait()
        if self.max_delay_s > 0 and len(self._queue) < self.max_batch_size and not self._hurry:
            deadline = self._queue[0].enqueued + self.max_delay_s
            while len(self._queue) < self.max_batch_size and not self._hurry:
                remaining = deadline - time.perf_counter()
                if remaining <= 0:
                    break
                self._wakeup.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wakeup.wait(), remaining)
        batch: list[_Pending[T, R]] = []
        while self._queue and len(batch) < self.max_batch_size:
            pending = self._queue.popleft()
            if not pending.future.done():  # skip callers that gave up (timeout/disconnect)
                batch.append(pending)
        self._hooks.on_depth(len(self._queue))
        return batch

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while self._accepting or self._queue:
            batch = await self._take_batch()
            if not batch:
                continue
            now = time.perf_counter()
            self._hooks.on_dequeue([now - p.enqueued for p in batch])
            items = [p.item for p in batch]
            error: BaseException | None = None
            results: Sequence[R] = ()
            try:
                results = await loop.run_in_executor(self._executor, self._fn, items)
                if len(results) != len(items):
                    raise RuntimeError(f"batch fn returned {len(results)} results for {len(items)}")
            except asyncio.CancelledError:
                for p in batch:
                    p.future.cancel()
                raise
            except Exception as exc:  # delivered to every caller; the worker keeps going
                error = exc
                logger.exception("%s batch of %d failed", self._name, len(items))
            self._hooks.on_batch(len(items), time.perf_counter() - now, error)
            for i, p in enumerate(batch):
                if p.future.done():
                    continue
                if error is not None:
                    p.future.set_exception(error)
                else:
                    p.future.set_result(results[i])
