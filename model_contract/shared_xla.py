"""XLA programs that outlive a model version: compiled once per architecture, reused by the next.

XLA keeps every compiled program in TensorFlow's per-process compilation cache, keyed by the
function it was compiled from, and never evicts one. The runner compiled each version's SavedModel
signature, so every hot swap left that version's programs behind: ~7 MiB of RSS per swap
(``bench.swap_memory``). Here the network is the artifact's Embedding -> LSTM -> Dense rebuilt
from its weights (``gradients.load_weights``), and its compiled function reads the weights from
variables of a *slot*: a version takes a free slot of its architecture (maxlen and weight shapes)
and assigns its weights into it; when the version is dropped, the slot is free again and the next
version runs the programs already compiled. Slots are only made while none is free, so there are
as many as versions of one architecture were ever loaded at once (2 for a swap), not one per swap.

The rebuilt network is not the SavedModel: ``build`` checks it against the signature on the
artifact's golden rows (``PARITY_ATOL``; measured ~1e-7) and otherwise returns ``None``: the
runner then compiles the signature itself, as before (its programs stay after it is unloaded).
"""

from __future__ import annotations

import logging
import threading
import weakref
from pathlib import Path

import numpy as np
import tensorflow as tf

from model_contract import cudnn
from model_contract.artifact import ArtifactError
from model_contract.gradients import ROLES, UnsupportedModel, _checked, load_weights
from model_contract.savedmodel import ServingSignature

logger = logging.getLogger(__name__)
PARITY_ATOL = 1e-5  # max |P(shared) - P(signature)| on the golden rows
Key = tuple[object, ...]


def _probability(maxlen: int, ids: tf.Tensor, weights: list[tf.Variable]) -> tf.Tensor:
    """P(positive) [n]: the LSTM as Keras runs it (a while loop over time, gates i, f, c, o; one
    input and one recurrent matmul per step). Measured against the SavedModel's compiled
    signature, interleaved: 0.50 vs 0.47 ms at batch 1, 3.2 vs 2.8 ms at 8, 14 vs 22 ms at 64 (a
    busy box); an unrolled loop or inputs projected up front ran 1.6-2.8x slower at batch 1."""
    w = dict(zip(ROLES, weights, strict=True))
    xs = tf.transpose(tf.gather(w["embedding"], ids), [1, 0, 2])  # time-major

    def step(t: tf.Tensor, h: tf.Tensor, c: tf.Tensor) -> tuple[tf.Tensor, ...]:
        z = tf.matmul(xs[t], w["kernel"]) + w["bias"] + tf.matmul(h, w["recurrent"])
        i, f, g, o = tf.split(z, 4, axis=-1)
        c = tf.sigmoid(f) * c + tf.sigmoid(i) * tf.tanh(g)
        return t + 1, tf.sigmoid(o) * tf.tanh(c), c

    zeros = tf.zeros([tf.shape(ids)[0], w["recurrent"].shape[0]])
    _, h, _ = tf.while_loop(
        lambda t, *_: t < maxlen, step, (tf.constant(0), zeros, zeros), maximum_iterations=maxlen
    )
    return tf.sigmoid(tf.squeeze(tf.matmul(h, w["dense"]), -1) + w["dense_bias"][0])


class _Slot:
    """Weight variables of one architecture and the compiled function that reads them."""

    def __init__(self, maxlen: int, w: dict[str, tf.Tensor]) -> None:
        variables = [tf.Variable(w[role], trainable=False) for role in ROLES]
        self.variables = variables
        self.fn = tf.function(
            lambda ids: _probability(maxlen, ids, variables),
            jit_compile=True,
            input_signature=[tf.TensorSpec([None, maxlen], tf.int32)],
        ).get_concrete_function()


_FREE: dict[Key, list[_Slot]] = {}
_MADE: dict[Key, int] = {}  # slots made per architecture (tests, logs)
_LOCK = threading.Lock()


def _acquire(key: Key, maxlen: int, w: dict[str, tf.Tensor]) -> _Slot:
    with _LOCK:
        free = _FREE.get(key)
        slot = free.pop() if free else None
        if slot is None:
            _MADE[key] = _MADE.get(key, 0) + 1
    if slot is None:
        return _Slot(maxlen, w)
    for variable, role in zip(slot.variables, ROLES, strict=True):
        variable.assign(w[role])  # nobody else holds a free slot: no call can see half of it
    return slot


def _release(key: Key, slot: _Slot) -> None:
    with _LOCK:
        _FREE.setdefault(key, []).append(slot)


def slots_made() -> int:
    with _LOCK:
        return sum(_MADE.values())


class SharedProgram:
    """``__call__(ids)`` -> P(positive): a slot's compiled function with this version's weights.
    The slot is free again once this object is garbage (its version was unloaded)."""

    def __init__(self, path: Path, maxlen: int) -> None:
        w = _checked(load_weights(path, maxlen))
        key = (maxlen, *(tuple(w[role].shape) for role in ROLES))
        slot = _acquire(key, maxlen, w)
        self.function = slot.fn  # the compiled concrete function (tests look at its graph)
        self.close = weakref.finalize(self, _release, key, slot)

    def __call__(self, ids: tf.Tensor) -> tf.Tensor:
        return self.function(ids)


def build(path: Path, maxlen: int, signature: ServingSignature) -> SharedProgram | None:
    """The shared program for this artifact, or ``None`` (one warning) if it cannot be rebuilt
    or does not reproduce the signature on the golden rows within ``PARITY_ATOL``."""
    program = None
    try:
        program = SharedProgram(path, maxlen)
        ids = cudnn.golden_ids(path)
        got = np.asarray(program(tf.constant(ids)).numpy(), np.float64)
        diff = float(np.abs(got - signature.predict(ids)).max())
        if not diff <= PARITY_ATOL:
            raise UnsupportedModel(f"it differs from the SavedModel by {diff:.2e}")
    except (ArtifactError, UnsupportedModel, ValueError, tf.errors.OpError) as exc:
        if program is not None:
            program.close()
        logger.warning(
            "shared XLA program refused for %s (%s); compiling its signature instead: its "
            "programs stay in memory after it is unloaded",
            path,
            exc,
        )
        return None
    return program
