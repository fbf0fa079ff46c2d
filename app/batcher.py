"""Dynamic batching behind an asyncio API (no FastAPI, no TensorFlow).

Callers ``submit`` items from the event loop and await asyncio futures. One dedicated model
thread takes what is queued (up to ``max_batch_size``), optionally waits up to ``max_delay_s`` for
a batch to fill, runs the batch function once, hands the results back to the loop in one
``call_soon_threadsafe`` callback and takes the next batch straight away. With ``max_delay_s == 0``
an idle thread runs a lone item at once - no latency cost at low load - while items arriving
during a model call form the next batch. ``submit_group`` gives a caller one future for all its
items (a review's windows): no per-item future to create, wake and gather on the loop.

Background items (``/explain``'s rows) wait in a queue of their own: a batch takes the foreground
first, then as many background items as ``background_room(n foreground)`` allows (an
explanation's hundreds of rows took others' /predict p50 from 2.4 to 125 ms). Why a thread that pulls, not a loop task that pushes each batch to an executor: under load the
event loop is busy, and every batch then waited for the loop to get round to starting it. Measured
at concurrency 64: a 4.2 ms model call took 7.9 ms loop-to-loop and the model sat idle in between.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from app.batch_items import BatchHooks as BatchHooks  # re-exported: the batcher's public API
from app.batch_items import Group, Pending, deliver

T = TypeVar("T")
R = TypeVar("R")
logger = logging.getLogger(__name__)


class QueueFull(Exception):
    """The queue cannot take the submitted items now; retry later."""


class BatcherClosed(Exception):
    """The batcher is shutting down (or not started) and accepts no new items."""


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
        background_room: Callable[[int], int] | None = None,
    ) -> None:
        if max_batch_size < 1 or max_queue_size < 1 or max_delay_s < 0:
            raise ValueError("max_batch_size, max_queue_size must be >= 1; max_delay_s >= 0")
        self._fn = fn
        self.max_batch_size = max_batch_size
        self.max_delay_s = max_delay_s
        self.max_queue_size = max_queue_size
        self._room = background_room or (lambda n: max_batch_size - n)
        self._hooks = hooks or BatchHooks()
        self._name = name
        # The queue and the flags below are shared with the model thread: guarded by _cond.
        self._cond = threading.Condition()
        self._queue: deque[Pending[T, R]] = deque()
        self._background: deque[Pending[T, R]] = deque()
        self._accepting = False
        self._hurry = False
        self._in_flight: list[Pending[T, R]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stopped: asyncio.Future[None] | None = None  # resolved on the loop at thread exit

    @property
    def depth(self) -> int:
        return len(self._queue) + len(self._background)

    @property
    def accepting(self) -> bool:
        return self._accepting

    def start(self) -> None:
        """Start the model thread; call from inside the running event loop."""
        if self._thread is not None:
            raise RuntimeError("batcher already started")
        self._loop = asyncio.get_running_loop()
        self._stopped = self._loop.create_future()
        self._accepting = True
        # One thread: model calls never overlap and the batch size stays the unit of work.
        self._thread = threading.Thread(target=self._work, name=self._name, daemon=True)
        self._thread.start()

    def submit(self, item: T) -> asyncio.Future[R]:
        return self.submit_many([item])[0]

    def submit_many(self, items: Sequence[T], background: bool = False) -> list[asyncio.Future[R]]:
        """Enqueue all items or none (``QueueFull``: both queues count); futures in input order."""
        loop, now = self._open_loop(), time.perf_counter()
        futures: list[asyncio.Future[R]] = [loop.create_future() for _ in items]
        self._enqueue([Pending(i, f, now) for i, f in zip(items, futures, strict=True)], background)
        return futures

    def submit_group(self, items: Sequence[T], background: bool = False) -> asyncio.Future[list[R]]:
        """Like ``submit_many``, but one future for the results of all items, in input order.

        It fails with the first error of any of its batches; cancelling it drops the items
        not yet taken.
        """
        loop, now = self._open_loop(), time.perf_counter()
        future: asyncio.Future[list[R]] = loop.create_future()
        group = Group(len(items))
        self._enqueue([Pending(x, future, now, group, i) for i, x in enumerate(items)], background)
        return future

    def _open_loop(self) -> asyncio.AbstractEventLoop:
        if not self._accepting or self._loop is None:
            raise BatcherClosed(f"{self._name} is not accepting work")
        return self._loop

    def _enqueue(self, pending: list[Pending[T, R]], background: bool) -> None:
        with self._cond:
            if self.depth + len(pending) > self.max_queue_size:
                raise QueueFull(f"{self._name} queue full ({self.depth}/{self.max_queue_size})")
            (self._background if background else self._queue).extend(pending)
            self._cond.notify()
            self._hooks.on_depth(self.depth)  # under the lock: the gauge never goes stale

    def hurry(self) -> None:
        """Stop holding batches open for ``max_delay_s`` (draining: finish, don't wait for more)."""
        with self._cond:
            self._hurry = True
            self._cond.notify_all()

    async def shutdown(self, *, cancel_pending: bool = False, grace_s: float | None = None) -> None:
        """Stop accepting; finish queued and in-flight work (or cancel what is still queued)."""
        with self._cond:
            self._accepting = False
            self._hurry = True
            self._cond.notify_all()
        if cancel_pending:
            self._cancel(queued=True, in_flight=False)
        if self._stopped is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(self._stopped), grace_s)
        except TimeoutError:
            logger.error("%s drain timed out; cancelling %d items", self._name, self.depth)
            self._cancel(queued=True, in_flight=True)  # the model call itself cannot be stopped

    @property
    def thread(self) -> threading.Thread | None:
        """The model thread (``join`` it after ``shutdown``: it drops the batch function then)."""
        return self._thread

    def _cancel(self, *, queued: bool, in_flight: bool) -> None:
        with self._cond:
            queues = (self._queue, self._background) if queued else ()
            pending = [*(p for q in queues for p in q), *(self._in_flight if in_flight else ())]
            for q in queues:
                q.clear()
            self._hooks.on_depth(self.depth)
        for p in pending:
            p.future.cancel()

    # --- the model thread ------------------------------------------------------------------
    def _work(self) -> None:
        try:
            while (batch := self._take_batch()) is not None:
                if batch:
                    self._run_batch(batch)
        finally:
            self._call_on_loop(self._set_stopped)

    def _take_batch(self) -> list[Pending[T, R]] | None:
        """Wait for work, then pop up to ``max_batch_size`` live items (None: closed and empty)."""
        with self._cond:
            while not self._queue and not self._background:
                if not self._accepting:
                    return None
                self._cond.wait()
            if self._queue and self.max_delay_s > 0 and not self._hurry:
                deadline = self._queue[0].enqueued + self.max_delay_s
                while self._queue and len(self._queue) < self.max_batch_size and not self._hurry:
                    remaining = deadline - time.perf_counter()
                    if remaining <= 0:
                        break
                    self._cond.wait(remaining)
            batch: list[Pending[T, R]] = []
            self._pop(self._queue, batch, self.max_batch_size)
            self._pop(
                self._background,
                batch,
                min(self.max_batch_size, len(batch) + self._room(len(batch))),
            )
            self._in_flight = batch
            self._hooks.on_depth(self.depth)
        return batch

    @staticmethod
    def _pop(queue: deque[Pending[T, R]], batch: list[Pending[T, R]], limit: int) -> None:
        while queue and len(batch) < limit:
            pending = queue.popleft()
            # A caller that gave up (timeout/disconnect) is skipped; reading done() from this
            # thread may be stale, which only costs a wasted row: delivery re-checks it.
            if not pending.future.done():
                batch.append(pending)

    def _run_batch(self, batch: list[Pending[T, R]]) -> None:
        started = time.perf_counter()
        self._hooks.on_dequeue([started - p.enqueued for p in batch])
        items = [p.item for p in batch]
        error: BaseException | None = None
        results: Sequence[R] = ()
        try:
            results = self._fn(items)
            if len(results) != len(items):
                raise RuntimeError(f"batch fn returned {len(results)} results for {len(items)}")
        except Exception as exc:  # delivered to every caller; the thread keeps going
            error = exc
            logger.exception("%s batch of %d failed", self._name, len(items))
        self._hooks.on_batch(len(items), time.perf_counter() - started, error)
        self._call_on_loop(deliver, batch, results, error)
        with self._cond:
            self._in_flight = []

    def _call_on_loop(self, callback: Callable[..., object], *args: object) -> None:
        assert self._loop is not None
        try:
            self._loop.call_soon_threadsafe(callback, *args)
        except RuntimeError:  # the loop is already closed: nobody is left to answer
            logger.warning("%s: event loop closed before results could be delivered", self._name)

    # --- back on the event loop ------------------------------------------------------------
    def _set_stopped(self) -> None:
        if self._stopped is not None and not self._stopped.done():
            self._stopped.set_result(None)
