"""Gradient attributions for the served LSTM: one forward and one backward pass per window.

The SavedModel's signature maps ids to P(positive); its embedding lookup and LSTM loop sit inside
the restored graph, whose gradient with respect to the looked-up embeddings cannot be taken in a
compiled function (measured: 30 ms per window in eager mode, no XLA). So the same arithmetic is
rebuilt here - Embedding -> LSTM (Keras gate order i, f, c, o; sigmoid gates, tanh cell and
output) -> Dense(1) on the last state - from the artifact's weights as ``network`` reads them for
every rebuilt network (``load_weights``: ``rebuild_network`` -> ``seed_weights``), and checked
against the signature on real rows before it is used (``build_attributor``): another
architecture, or any drift, is refused, so an attribution is always one of the served model.

``attribute(ids)`` returns each row's logit and, per column, gradient x (input - baseline) on the
embedding: d logit / d x_t . (x_t - x_unknown), the first-order estimate of how much the row's
logit drops when that word becomes the unknown-word id (0 for an unknown word).
XLA-compiled per padded batch size on a CPU, like ``runner.ModelRunner``.
"""

from __future__ import annotations

import bisect
import functools
from collections.abc import Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import tensorflow as tf

from model_contract.network import NetworkError, SeedWeights, rebuild_network, seed_weights
from model_contract.savedmodel import ServingSignature

# Padded batch sizes, compiled on first use. Not 1: XLA's program for one row ran 3x slower than
# the one for two (2.95 vs 0.87 ms, in-process, one intra-op thread).
BATCH_SIZES = (2, 4, 8, 16, 32)
TOLERANCE = 1e-4  # max |P(rebuilt) - P(signature)| on the probe rows (measured: ~1e-7)


class UnsupportedModel(ValueError):
    """The artifact is not the Embedding -> LSTM -> Dense network this module rebuilds."""


def load_weights(artifact_path: Path, maxlen: int) -> SeedWeights:
    """The artifact's weights, read as for every rebuilt network; ``UnsupportedModel`` if they do
    not map onto the seed network (``network.map_weights``) or cannot be read."""
    try:
        return seed_weights(rebuild_network(artifact_path, maxlen))
    except NetworkError as exc:
        raise UnsupportedModel(str(exc)) from exc


def _checked(weights: SeedWeights) -> dict[str, tf.Tensor]:
    w = {f.name: np.asarray(getattr(weights, f.name), np.float32) for f in fields(weights)}
    (_, dim), (units4,) = w["embedding"].shape, w["bias"].shape
    units = units4 // 4
    expected = {
        "kernel": (dim, units4),
        "recurrent": (units, units4),
        "dense": (units, 1),
        "dense_bias": (1,),
    }
    for role, shape in expected.items():
        if w[role].shape != shape:
            raise UnsupportedModel(f"{role} weights have shape {w[role].shape}, not {shape}")
    return {role: tf.constant(value) for role, value in w.items()}


ROLES = ("embedding", "kernel", "recurrent", "bias", "dense", "dense_bias")  # SeedWeights' fields
# One compiled function per (maxlen, weight shapes, xla), shared by every attributor: the weights
# are arguments, not constants baked into the program, so a new model version of the same
# architecture reuses the compiled programs. A function per attributor left its XLA programs in
# TensorFlow's compilation cache after the attributor was gone (+12 MiB RSS per hot swap).
_SHARED: dict[tuple[object, ...], tf.types.experimental.ConcreteFunction] = {}


def _shared_function(maxlen: int, w: dict[str, tf.Tensor], xla: bool) -> Any:
    key = (maxlen, xla, *(tuple(w[role].shape) for role in ROLES))
    if (fn := _SHARED.get(key)) is None:
        specs = [tf.TensorSpec([None, maxlen], tf.int32), tf.TensorSpec([], tf.int32)]
        specs += [tf.TensorSpec(w[role].shape, tf.float32) for role in ROLES]
        fn = _SHARED[key] = tf.function(
            functools.partial(_attribute, maxlen), jit_compile=xla, input_signature=specs
        ).get_concrete_function()
    return fn


def _logits(maxlen: int, x: tf.Tensor, w: dict[str, tf.Tensor]) -> tf.Tensor:
    units = w["recurrent"].shape[0]
    inputs = tf.einsum("ntd,dg->tng", x, w["kernel"]) + w["bias"]  # time-major

    def step(t: tf.Tensor, h: tf.Tensor, c: tf.Tensor) -> tuple[tf.Tensor, ...]:
        i, f, g, o = tf.split(inputs[t] + tf.matmul(h, w["recurrent"]), 4, axis=-1)
        c = tf.sigmoid(f) * c + tf.sigmoid(i) * tf.tanh(g)
        return t + 1, tf.sigmoid(o) * tf.tanh(c), c

    zeros = tf.zeros([tf.shape(x)[0], units])
    _, h, _ = tf.while_loop(
        lambda t, *_: t < maxlen, step, (tf.constant(0), zeros, zeros), maximum_iterations=maxlen
    )
    return tf.squeeze(tf.matmul(h, w["dense"]), -1) + w["dense_bias"][0]


def _attribute(
    maxlen: int, ids: tf.Tensor, oov_id: tf.Tensor, *weights: tf.Tensor
) -> tuple[tf.Tensor, tf.Tensor]:
    w = dict(zip(ROLES, weights, strict=True))
    table = w["embedding"]
    x = tf.gather(table, ids)
    with tf.GradientTape() as tape:
        tape.watch(x)
        z = _logits(maxlen, x, w)
    grad = tape.gradient(z, x)
    return z, tf.reduce_sum(grad * (x - tf.gather(table, oov_id)), axis=-1)


class GradientAttributor:
    """Logits and gradient x (input - unknown word) per column, for int32 [n, maxlen] rows."""

    def __init__(
        self,
        weights: SeedWeights,
        maxlen: int,
        oov_id: int,
        batch_sizes: Sequence[int] = BATCH_SIZES,
        device: str = "/CPU:0",
        xla: bool = True,
    ) -> None:
        self._w = _checked(weights)
        self.maxlen, self.oov_id, self.device = maxlen, oov_id, device
        self.batch_sizes = sorted(batch_sizes) if xla else []
        self._args = (tf.constant(oov_id, tf.int32), *(self._w[role] for role in ROLES))
        self._fn = _shared_function(maxlen, self._w, xla)

    def attribute(
        self, ids: npt.NDArray[np.int32]
    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
        """(logits [n], attributions [n, maxlen]) for int32 ``ids`` [n, maxlen]."""
        n = len(ids)
        i = bisect.bisect_left(self.batch_sizes, n)
        if i < len(self.batch_sizes) and self.batch_sizes[i] > n:  # few compiled shapes
            pad = np.zeros((self.batch_sizes[i] - n, self.maxlen), np.int32)
            ids = np.concatenate([ids, pad])
        with tf.device(self.device):
            z, a = self._fn(tf.constant(ids, dtype=tf.int32), *self._args)
        return np.asarray(z.numpy())[:n], np.asarray(a.numpy())[:n]


def build_attributor(
    signature: ServingSignature,
    weights: SeedWeights,
    oov_id: int,
    probe: npt.NDArray[np.int32],
    device: str = "/CPU:0",
    xla: bool = True,
) -> GradientAttributor:
    """An attributor from ``weights`` (``load_weights`` of the signature's artifact), refused
    unless it reproduces the signature's outputs on ``probe`` (real, padded and unpadded rows)
    within ``TOLERANCE``."""
    attributor = GradientAttributor(weights, signature.maxlen, oov_id, device=device, xla=xla)
    z, _ = attributor.attribute(probe)
    expected = signature.predict(probe).astype(np.float64)
    diff = float(np.abs(1 / (1 + np.exp(-z.astype(np.float64))) - expected).max())
    if not diff <= TOLERANCE:
        raise UnsupportedModel(f"rebuilt network differs from the signature by {diff:.2e}")
    return attributor
