"""model_contract.shared_xla: one set of XLA programs per architecture, reused across versions.

Each hot swap used to compile the new version's signature and leave its programs in TensorFlow's
compilation cache for good (~7 MiB per swap). The runner now serves the rebuilt network from a
slot; a slot freed by an unloaded version is taken by the next one, weights reassigned. These
tests check that a freed slot is reused (no new compiled function), that the reused slot answers
with the *new* version's weights (equal to that version's SavedModel) while another version's slot
keeps its own, and that a network that does not match its signature is refused.
RSS across 50 real swaps: ``bench.swap_memory --swaps 50`` (docs/reliability.md).
"""

from __future__ import annotations

import gc

import numpy as np
import tensorflow as tf

from model_contract import shared_xla
from model_contract.policy import BatchPolicy
from model_contract.runner import ModelRunner
from model_contract.savedmodel import ServingSignature
from tests.model.conftest import MODEL_DIR

MAXLEN = 80
POLICY = BatchPolicy(max_batch_size=4)


def _rows(seed: int) -> np.ndarray:
    rows = np.random.default_rng(seed).integers(1, 9000, (7, MAXLEN)).astype(np.int32)
    rows[0, :40] = 0  # a padded row too
    return rows


def _check_against_signature(runner: ModelRunner, version: str) -> None:
    rows = _rows(int(version))
    expected = ServingSignature(MODEL_DIR / version, MAXLEN).predict(rows)
    np.testing.assert_allclose(runner.predict(rows), expected, atol=shared_xla.PARITY_ATOL)


def test_a_freed_slot_is_reused_with_the_next_versions_weights() -> None:
    v3 = ModelRunner(MODEL_DIR / "3", MAXLEN, POLICY, "/CPU:0")
    v3.warmup()
    assert isinstance(v3._compiled, shared_xla.SharedProgram)
    v4 = ModelRunner(MODEL_DIR / "4", MAXLEN, POLICY, "/CPU:0")  # same architecture: its own slot
    v4.warmup()
    made = shared_xla.slots_made()
    function = v3._compiled.function
    del v3  # unloaded: its slot is free again
    gc.collect()
    again = ModelRunner(MODEL_DIR / "3", MAXLEN, POLICY, "/CPU:0")
    again.warmup()
    assert shared_xla.slots_made() == made  # no new slot, no new compiled programs
    assert isinstance(again._compiled, shared_xla.SharedProgram)
    assert again._compiled.function is function
    _check_against_signature(again, "3")
    _check_against_signature(v4, "4")  # the other slot kept its own weights


def test_a_network_that_differs_from_its_signature_is_refused() -> None:
    other = ServingSignature(MODEL_DIR / "4", MAXLEN)  # version 3's weights against 4's outputs
    assert shared_xla.build(MODEL_DIR / "3", MAXLEN, other) is None
    ids = tf.constant(_rows(1))
    program = shared_xla.build(MODEL_DIR / "3", MAXLEN, ServingSignature(MODEL_DIR / "3", MAXLEN))
    assert program is not None and program(ids).shape == (7,)
