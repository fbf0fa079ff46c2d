"""Process tuning for serving; the runtime calls these at start-up (the TensorFlow thread pools are
sized by ``model_contract.tf_process.configure_threads``, which the batch CLI shares).

Measured on the 2-core benchmark box (bench.ab, interleaved; docs/performance.md):
- one TensorFlow intra-op thread (the event loop keeps a core): +13 % req/s at c=1, +12 % at
  c=16, +4 % at c=64, -10 % server CPU per request;
- freezing the objects TensorFlow leaves behind, and a larger gen-0 threshold: full collections
  no longer stop the loop for 150-400 ms (the old p99 at high load).
The GIL switch interval stays at Python's 5 ms (1 ms cost 7-19 % req/s).
"""

from __future__ import annotations

import ctypes
import gc

GEN0_THRESHOLD = 20_000


def freeze_long_lived_objects() -> None:
    """After the model is loaded: move TensorFlow's ~350k objects out of the collector's sight."""
    gc.collect()
    gc.freeze()
    gen0, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(max(gen0, GEN0_THRESHOLD), gen1, gen2)


def release_unloaded_model() -> None:
    """After a model version was dropped: collect it (its objects were frozen above), freeze the
    survivors again, and hand freed heap back to the OS (glibc ``malloc_trim``; RSS fell by
    ~25 MB per unloaded model on the 2-core box, it stayed put without)."""
    gc.unfreeze()
    freeze_long_lived_objects()
    trim = getattr(ctypes.CDLL(None), "malloc_trim", None)  # glibc only; absent elsewhere
    if trim is not None:
        trim(0)
