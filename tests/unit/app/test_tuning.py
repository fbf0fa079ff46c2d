"""app.tuning: the collector tuned after loading (thread pools: tests/unit/model_contract/test_tf_process.py)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from app.tuning import GEN0_THRESHOLD, freeze_long_lived_objects


@pytest.fixture
def restore_gc() -> Iterator[None]:
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


@pytest.mark.usefixtures("restore_gc")
def test_freeze_moves_existing_objects_out_of_the_collectors_sight() -> None:
    gc.set_threshold(700, 10, 10)
    kept = [[i] for i in range(1000)]  # long-lived objects, like a loaded model's
    freeze_long_lived_objects()
    assert gc.get_freeze_count() >= len(kept)
    assert gc.get_threshold() == (GEN0_THRESHOLD, 10, 10)


@pytest.mark.usefixtures("restore_gc")
def test_a_larger_threshold_is_kept() -> None:
    gc.set_threshold(50_000, 5, 5)
    freeze_long_lived_objects()
    assert gc.get_threshold() == (50_000, 5, 5)
