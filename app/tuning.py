"""Process tuning for serving; the runtime calls these at start-up (the TensorFlow thread pools are
sized by ``model_contract.tf_process.configure_threads``, which the batch CLI shares).

Measured on the 2-core benchmark box (bench.ab, interleaved; docs/performance.md):
- one TensorFlow intra-op thread (the event loop keeps a core): +13 % req/s at c=1, +12 % at
  c=16, +4 % at c=64, -10 % server CPU per request;
- freezing the objects TensorFlow leaves behind, and a larger gen-0 threshold: full collections
  no longer stop the loop for 150-400 ms (the old p99 at high load).
The GIL switch interval stays at Python's 5 ms (1 ms cost 7-19 % req/s).

What is frozen is what exists *before the first model version is loaded* (TensorFlow, Keras,
FastAPI: ~370k objects), once per process. The model versions themselves (~5k tracked objects
each) stay in the collector's generations: unloading one is a collection of those few objects
(~5 ms) instead of unfreezing everything for a full collection that stopped the event loop for
0.3-0.9 s on every hot swap (bench.swap_lag).
"""

from __future__ import annotations

import ctypes
import gc
import time

GEN0_THRESHOLD = 20_000
_frozen = False


def freeze_long_lived_objects() -> None:
    """Move every object alive now out of the collector's sight, and raise the gen-0 threshold."""
    gc.collect()
    gc.freeze()
    gen0, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(max(gen0, GEN0_THRESHOLD), gen1, gen2)


def freeze_before_first_model() -> None:
    """Once per process, before the first model version is loaded (blocking: run in a thread):
    import TensorFlow as the runner would, then freeze everything alive (never unfrozen)."""
    global _frozen
    if _frozen:
        return
    from model_contract.tf_process import configure_threads, quiet_tensorflow

    configure_threads()  # before TensorFlow's first import, as the runner factory does
    with quiet_tensorflow():
        import model_contract.runner  # noqa: F401  (TensorFlow, Keras: the bulk of the objects)
    freeze_long_lived_objects()
    _frozen = True


def release_unloaded_model() -> tuple[float, float]:
    """After a model version was dropped, on the event loop: collect the generations (the dropped
    version's objects and little else: nothing frozen is looked at). Returns the seconds it took
    (wall: the event loop's pause, which on a crowded machine includes being descheduled) and the
    CPU seconds of the collection itself (what the code costs wherever it runs)."""
    started, cpu = time.perf_counter(), time.thread_time()
    gc.collect()
    return time.perf_counter() - started, time.thread_time() - cpu


def trim_heap() -> None:
    """Hand freed heap back to the OS (glibc ``malloc_trim``; RSS fell by ~25 MB per unloaded
    model on the 2-core box, it stayed put without). 3-10 ms with a big heap: run it in a worker
    thread (ctypes releases the GIL for the call)."""
    trim = getattr(ctypes.CDLL(None), "malloc_trim", None)  # glibc only; absent elsewhere
    if trim is not None:
        trim(0)
