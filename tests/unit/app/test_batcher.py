"""app/batcher.py with a fake model: flush rules, ordering, failures, cancellation, queue limit."""

from __future__ import annotations

import asyncio

import pytest

from app.batcher import Batcher, QueueFull
from tests.unit.app.batcher_fakes import FakeModel, RecordingHooks, async_test, make, wait_entered


@async_test
async def test_results_in_order_for_concurrent_callers() -> None:
    model = FakeModel()
    batcher = make(model, max_batch_size=8)
    batcher.start()
    results = await asyncio.gather(*(batcher.submit(i) for i in range(20)))
    assert results == [2 * i for i in range(20)]
    assert sum(len(b) for b in model.batches) == 20
    assert all(len(b) <= 8 for b in model.batches)
    flat = [x for b in model.batches for x in b]
    assert flat == list(range(20))  # FIFO across batches
    await batcher.shutdown()


@async_test
async def test_size_flush_runs_full_batch_without_waiting_for_delay() -> None:
    model = FakeModel()
    # A huge delay: only reaching max_batch_size can flush within the test timeout.
    batcher = make(model, max_batch_size=4, max_delay_s=60.0)
    batcher.start()
    futures = batcher.submit_many([1, 2, 3, 4])
    assert list(await asyncio.wait_for(asyncio.gather(*futures), 10)) == [2, 4, 6, 8]
    assert model.batches == [[1, 2, 3, 4]]
    await batcher.shutdown()


@async_test
async def test_delay_flush_collects_items_arriving_within_window() -> None:
    model = FakeModel()
    hooks = RecordingHooks()
    batcher = make(model, max_batch_size=100, max_delay_s=0.3, hooks=hooks)
    batcher.start()
    first = batcher.submit(1)
    await asyncio.sleep(0.01)  # well inside the window
    second = batcher.submit(2)
    assert list(await asyncio.wait_for(asyncio.gather(first, second), 10)) == [2, 4]
    assert model.batches == [[1, 2]]  # not full, flushed by the delay as one batch
    assert hooks.sizes == [2]
    assert min(hooks.waits) > 0
    await batcher.shutdown()


@async_test
async def test_idle_worker_does_not_wait_when_delay_is_zero() -> None:
    model = FakeModel()
    batcher = make(model, max_batch_size=100, max_delay_s=0.0)
    batcher.start()
    assert await asyncio.wait_for(batcher.submit(7), 10) == 14
    assert model.batches == [[7]]
    await batcher.shutdown()


@async_test
async def test_items_arriving_during_a_model_call_form_the_next_batch() -> None:
    model = FakeModel()
    model.gate.clear()
    batcher = make(model, max_batch_size=10)
    batcher.start()
    first = batcher.submit(0)
    await wait_entered(model)
    rest = batcher.submit_many([1, 2, 3])
    model.gate.set()
    assert list(await asyncio.wait_for(asyncio.gather(first, *rest), 10)) == [0, 2, 4, 6]
    assert model.batches == [[0], [1, 2, 3]]
    await batcher.shutdown()


@async_test
async def test_failing_batch_delivers_error_to_every_caller_and_worker_survives() -> None:
    model = FakeModel()
    model.gate.clear()
    hooks = RecordingHooks()
    batcher = make(model, max_batch_size=3, hooks=hooks)
    batcher.start()
    blocker = batcher.submit(0)
    await wait_entered(model)
    model.fail = True
    futures = batcher.submit_many([1, 2, 3])
    model.gate.set()
    outcomes = await asyncio.gather(blocker, *futures, return_exceptions=True)
    assert all(isinstance(o, ValueError) for o in outcomes)
    assert all(isinstance(e, ValueError) for e in hooks.errors)
    model.fail = False
    assert await asyncio.wait_for(batcher.submit(5), 10) == 10  # next batch is fine
    await batcher.shutdown()


@async_test
async def test_wrong_number_of_results_is_an_error_not_a_hang() -> None:
    batcher: Batcher[int, int] = Batcher(lambda items: [0], max_batch_size=4)
    batcher.start()
    futures = batcher.submit_many([1, 2])
    outcomes = await asyncio.wait_for(asyncio.gather(*futures, return_exceptions=True), 10)
    assert all(isinstance(o, RuntimeError) for o in outcomes)
    await batcher.shutdown()


@async_test
async def test_cancelled_caller_is_skipped_and_does_not_break_the_batch() -> None:
    model = FakeModel()
    model.gate.clear()
    batcher = make(model, max_batch_size=10)
    batcher.start()
    blocker = batcher.submit(0)
    await wait_entered(model)
    a, gone, b = batcher.submit_many([1, 2, 3])
    gone.cancel()  # client disconnected / timed out while queued
    model.gate.set()
    assert list(await asyncio.wait_for(asyncio.gather(blocker, a, b), 10)) == [0, 2, 6]
    assert model.batches == [[0], [1, 3]]
    await batcher.shutdown()


@async_test
async def test_caller_cancelled_during_model_call_does_not_break_the_batch() -> None:
    model = FakeModel()
    model.gate.clear()
    batcher = make(model, max_batch_size=10)
    batcher.start()
    a, gone, b = batcher.submit_many([1, 2, 3])
    await wait_entered(model)
    gone.cancel()
    model.gate.set()
    assert list(await asyncio.wait_for(asyncio.gather(a, b), 10)) == [2, 6]
    await batcher.shutdown()


@async_test
async def test_queue_full_raises_at_once_and_all_or_nothing() -> None:
    model = FakeModel()
    model.gate.clear()
    batcher = make(model, max_batch_size=1, max_queue_size=2)
    batcher.start()
    running = batcher.submit(0)
    await wait_entered(model)  # item 0 left the queue; the queue is empty again
    queued = batcher.submit_many([1, 2])
    with pytest.raises(QueueFull):
        batcher.submit(3)
    assert batcher.depth == 2
    model.gate.set()
    assert list(await asyncio.wait_for(asyncio.gather(running, *queued), 10)) == [0, 2, 4]
    with pytest.raises(QueueFull):
        batcher.submit_many([1, 2, 3])  # more than the queue can ever hold: nothing enqueued
    assert batcher.depth == 0
    await batcher.shutdown()
