"""Background items (``/explain``'s rows) queue behind foreground ones and take at most
``max_background`` places of a batch: a ``/predict`` arriving during an explanation waits for one
short model call, not for the explanation's hundreds of rows."""

from __future__ import annotations

import asyncio

import pytest

from app.batcher import QueueFull
from tests.unit.app.batcher_fakes import FakeModel, async_test, make, wait_entered


@async_test
async def test_foreground_overtakes_a_long_background_queue() -> None:
    model = FakeModel()
    batcher = make(model, max_batch_size=8, max_queue_size=1000, background_room=lambda n: 2)
    batcher.start()
    model.gate.clear()
    explain = batcher.submit_many(list(range(100, 400)), background=True)  # an occlusion's rows
    await wait_entered(model)  # the first background batch is running
    predict = batcher.submit_many([1, 2, 3])
    model.gate.set()
    assert await asyncio.wait_for(asyncio.gather(*predict), 10) == [2, 4, 6]
    assert [2 * x for x in range(100, 400)] == await asyncio.wait_for(asyncio.gather(*explain), 10)
    first, second = model.batches[:2]
    assert first == [100, 101]  # background only: at most background_room(0) rows per call
    assert second == [1, 2, 3, 102, 103]  # the foreground first, then its share of background
    assert all(len([x for x in b if x >= 100]) <= 2 for b in model.batches)
    await batcher.shutdown()


@async_test
async def test_both_queues_count_against_the_limit() -> None:
    model = FakeModel()
    batcher = make(model, max_batch_size=4, max_queue_size=10)
    batcher.start()
    model.gate.clear()
    batcher.submit(0)
    await wait_entered(model)
    batcher.submit_many(list(range(8)), background=True)
    assert batcher.depth == 8
    with pytest.raises(QueueFull):
        batcher.submit_many([1, 2, 3])
    model.gate.set()
    await batcher.shutdown()
