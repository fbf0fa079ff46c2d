"""app.tuning: TensorFlow thread pools sized from the CPUs we may use; GC tuned after loading."""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator

import pytest

from app.tuning import GEN0_THRESHOLD, configure_threads, freeze_long_lived_objects

THREAD_VARS = ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")


@pytest.fixture
def no_thread_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in THREAD_VARS:
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize(("cores", "intra"), [(1, "1"), (2, "1"), (4, "3"), (16, "15")])
@pytest.mark.usefixtures("no_thread_env")
def test_one_core_is_left_to_the_event_loop(
    monkeypatch: pytest.MonkeyPatch, cores: int, intra: str
) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(cores)), raising=False)
    configure_threads()
    assert os.environ["TF_NUM_INTRAOP_THREADS"] == intra
    assert os.environ["TF_NUM_INTEROP_THREADS"] == "1"


@pytest.mark.usefixtures("no_thread_env")
def test_explicit_settings_win(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TF_NUM_INTRAOP_THREADS", "7")
    monkeypatch.setenv("TF_NUM_INTEROP_THREADS", "2")
    configure_threads()
    assert os.environ["TF_NUM_INTRAOP_THREADS"] == "7"
    assert os.environ["TF_NUM_INTEROP_THREADS"] == "2"


@pytest.mark.usefixtures("no_thread_env")
def test_the_cpu_affinity_counts_not_the_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    # A container limited to 3 of 64 CPUs (cpuset) must not start 63 threads.
    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {5, 6, 7}, raising=False)
    configure_threads()
    assert os.environ["TF_NUM_INTRAOP_THREADS"] == "2"


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
