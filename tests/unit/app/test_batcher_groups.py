"""``Batcher.submit_group``: one future for a caller's items, split across batches, in order."""

from __future__ import annotations

import asyncio

import pytest

from app.batcher import QueueFull
from tests.unit.app.batcher_fakes import FakeModel, async_test, make, wait_entered


@async_test
async def test_group_result_is_in_input_order_across_batches() -> None:
    model = FakeModel()
    batcher = make(model, max_batch_size=4)
    batcher.start()
    first = batcher.submit_group([1, 2, 3])
    second = batcher.submit_group([4, 5, 6, 7, 8, 9])  # spans two batches, shares one
    lone = batcher.submit(10)
    assert await asyncio.wait_for(second, 10) == [8, 10, 12, 14, 16, 18]
    assert await first == [2, 4, 6]
    assert await lone == 20
    assert all(len(b) <= 4 for b in model.batches)
    assert [x for b in model.batches for x in b] == list(range(1, 11))  # FIFO
    await batcher.shutdown()


@async_test
async def test_group_fails_with_its_batch_error_and_the_worker_survives() -> None:
    model = FakeModel()
    model.fail = True
    batcher = make(model, max_batch_size=2)
    batcher.start()
    group = batcher.submit_group([1, 2, 3])
    with pytest.raises(ValueError, match="exploded"):
        await asyncio.wait_for(group, 10)
    model.fail = False
    assert await asyncio.wait_for(batcher.submit_group([5]), 10) == [10]
    await batcher.shutdown()


@async_test
async def test_cancelled_group_rows_not_yet_taken_are_skipped() -> None:
    model = FakeModel()
    model.gate.clear()
    batcher = make(model, max_batch_size=2)
    batcher.start()
    running = batcher.submit(0)
    await wait_entered(model)
    group = batcher.submit_group([1, 2, 3, 4])
    group.cancel()
    after = batcher.submit_group([5])
    model.gate.set()
    assert await asyncio.wait_for(after, 10) == [10]
    assert await running == 0
    assert model.batches == [[0], [5]]  # the cancelled group's rows never reached the model
    await batcher.shutdown()


@async_test
async def test_group_is_all_or_nothing_against_the_queue_limit() -> None:
    model = FakeModel()
    model.gate.clear()
    batcher = make(model, max_batch_size=1, max_queue_size=3)
    batcher.start()
    running = batcher.submit(0)
    await wait_entered(model)
    kept = batcher.submit_group([1, 2])
    with pytest.raises(QueueFull):
        batcher.submit_group([3, 4])
    assert batcher.depth == 2
    model.gate.set()
    assert await asyncio.wait_for(kept, 10) == [2, 4]
    assert await running == 0
    await batcher.shutdown()
