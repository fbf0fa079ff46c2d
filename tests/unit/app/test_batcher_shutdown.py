"""app/batcher.py with a fake model: start/stop, drain, cancel, hurry and grace timeouts."""

from __future__ import annotations

import asyncio

import pytest

from app.batcher import Batcher, BatcherClosed
from tests.unit.app.batcher_fakes import FakeModel, async_test, make, wait_entered


@async_test
async def test_shutdown_drains_queued_and_in_flight_work() -> None:
    model = FakeModel()
    model.gate.clear()
    batcher = make(model, max_batch_size=2)
    batcher.start()
    futures = batcher.submit_many([1, 2, 3, 4, 5])
    await wait_entered(model)
    stopping = asyncio.create_task(batcher.shutdown())
    await asyncio.sleep(0)
    with pytest.raises(BatcherClosed):
        batcher.submit(6)  # no new work once shutdown started
    assert not batcher.accepting
    model.gate.set()
    await asyncio.wait_for(stopping, 10)
    assert [f.result() for f in futures] == [2, 4, 6, 8, 10]


@async_test
async def test_shutdown_cancel_mode_cancels_queued_but_finishes_in_flight() -> None:
    model = FakeModel()
    model.gate.clear()
    batcher = make(model, max_batch_size=2)
    batcher.start()
    futures = batcher.submit_many([1, 2, 3, 4, 5])
    await wait_entered(model)  # [1, 2] is in flight
    stopping = asyncio.create_task(batcher.shutdown(cancel_pending=True))
    await asyncio.sleep(0)
    model.gate.set()
    await asyncio.wait_for(stopping, 10)
    assert [f.result() for f in futures[:2]] == [2, 4]
    assert all(f.cancelled() for f in futures[2:])


@async_test
async def test_submit_before_start_is_refused() -> None:
    batcher = make(FakeModel())
    with pytest.raises(BatcherClosed):
        batcher.submit(1)


def test_invalid_parameters() -> None:
    with pytest.raises(ValueError, match="max_batch_size"):
        Batcher(lambda items: items, max_batch_size=0)


@async_test
async def test_hurry_ends_the_delay_window_early() -> None:
    model = FakeModel()
    batcher = make(model, max_batch_size=100, max_delay_s=60.0)
    batcher.start()
    future = batcher.submit(1)
    await asyncio.sleep(0.05)
    assert not future.done()  # held open for more items
    batcher.hurry()
    assert await asyncio.wait_for(future, 10) == 2
    await batcher.shutdown()


@async_test
async def test_shutdown_grace_timeout_cancels_in_flight_and_queued_callers() -> None:
    model = FakeModel()
    model.gate.clear()  # the model call never finishes within the grace period
    batcher = make(model, max_batch_size=2)
    batcher.start()
    futures = batcher.submit_many([1, 2, 3])
    await wait_entered(model)
    await asyncio.wait_for(batcher.shutdown(grace_s=0.1), 10)
    assert all(f.cancelled() for f in futures)  # nobody waits forever
    assert batcher.depth == 0
    model.gate.set()  # the stuck call returns; its results go nowhere, nothing raises
    await asyncio.sleep(0.05)
