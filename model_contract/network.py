"""The seed network as Keras code, and the same network rebuilt from an artifact's weights.

``build_model`` is the one definition of the architecture (training builds and fits it;
``training/model.py`` adds compilation and the inference twin). ``rebuild_network`` makes an
inference copy (``recurrent_dropout=0``, so Keras may pick the fused cuDNN kernel) whose weights
are read straight from the artifact's SavedModel checkpoint (``variables/``): no extra file in
the artifact, so the manifest check already covers them. This is the one reader of an artifact's
weights; its callers: the GPU serving function (``model_contract.cudnn``) and, through
``seed_weights`` (the arrays by role), the gradient attributions (``model_contract.gradients``).

The rebuilt network is NOT the SavedModel: callers must check its outputs against
``savedmodel.ServingSignature`` (the runner does, on the golden examples) before trusting it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
import numpy as np
import numpy.typing as npt
import tensorflow as tf
from tensorflow.core.protobuf import trackable_object_graph_pb2

from model_contract.artifact import PREPROCESSING_FILE, ArtifactError

EMBEDDING_DIM = 128
LSTM_UNITS = 64
DROPOUT = 0.2
RECURRENT_DROPOUT = 0.2

_OBJECT_GRAPH_KEY = "_CHECKPOINTABLE_OBJECT_GRAPH"


class NetworkError(ArtifactError):
    """The artifact's variables do not map one-to-one onto the seed network's weights."""


def build_model(
    num_words: int, maxlen: int, *, recurrent_dropout: float = RECURRENT_DROPOUT
) -> keras.Model:
    """Embedding(num_words, 128) -> LSTM(64, dropout .2, recurrent_dropout .2) -> Dense(1, sigmoid)."""
    inputs = keras.Input(shape=(maxlen,), dtype="int32", name="token_ids")
    x = keras.layers.Embedding(num_words, EMBEDDING_DIM, name="embedding")(inputs)
    x = keras.layers.LSTM(
        LSTM_UNITS, dropout=DROPOUT, recurrent_dropout=recurrent_dropout, name="lstm"
    )(x)
    outputs = keras.layers.Dense(1, activation="sigmoid", name="probability")(x)
    return keras.Model(inputs, outputs, name="imdb_lstm")


def saved_variables(artifact_path: Path) -> dict[str, npt.NDArray[np.generic]]:
    """Every variable in the artifact's SavedModel checkpoint: {name: value}.

    Names are the variables' own (``lstm/lstm_cell/kernel``), recorded in the checkpoint's object
    graph; the keys (``_all_variables/2/...``) differ between exports and are not used.
    """
    prefix = Path(artifact_path) / "variables" / "variables"
    try:
        reader = tf.train.load_checkpoint(str(prefix))
        graph = trackable_object_graph_pb2.TrackableObjectGraph()
        graph.ParseFromString(reader.get_tensor(_OBJECT_GRAPH_KEY))
    except (tf.errors.OpError, ValueError) as exc:
        raise NetworkError(f"{artifact_path}: cannot read the SavedModel variables: {exc}") from exc
    found: dict[str, npt.NDArray[np.generic]] = {}
    for node in graph.nodes:
        for attr in node.attributes:
            if attr.name == "VARIABLE_VALUE":
                found[attr.full_name] = np.asarray(reader.get_tensor(attr.checkpoint_key))
    return found


def map_weights(
    model: keras.Model, saved: Mapping[str, npt.NDArray[Any]]
) -> dict[str, npt.NDArray[np.float32]]:
    """{model weight path: saved value}: by name first, else by a shape no other weight has.

    Every model weight must get exactly one float saved variable and every float saved variable
    must be used; anything else raises ``NetworkError`` naming what did not map. Non-float
    variables (the dropout seed generator's int64 state) carry no weights and are skipped.
    """
    pool = {k: v for k, v in saved.items() if np.issubdtype(v.dtype, np.floating)}
    targets = {w.path: tuple(w.shape) for w in model.weights}
    mapping: dict[str, str] = {}
    for path, shape in targets.items():
        if path in pool and pool[path].shape == shape:
            mapping[path] = path
    for path, shape in targets.items():
        if path in mapping:
            continue
        free = [k for k in pool if k not in mapping.values() and pool[k].shape == shape]
        rivals = [p for p, s in targets.items() if s == shape and p not in mapping]
        if len(free) != 1 or len(rivals) != 1:
            raise NetworkError(
                f"weight {path} {list(shape)}: no unique saved variable to take it from "
                f"(candidates by shape: {free or 'none'}; saved: "
                f"{ {k: list(v.shape) for k, v in pool.items()} })"
            )
        mapping[path] = free[0]
    unused = sorted(set(pool) - set(mapping.values()))
    if unused:
        raise NetworkError(f"saved variables not used by the seed network: {unused}")
    return {path: np.asarray(pool[name], dtype=np.float32) for path, name in mapping.items()}


def rebuild_network(artifact_path: Path, maxlen: int | None = None) -> keras.Model:
    """The artifact's network as a Keras model (inference twin: ``recurrent_dropout=0``).

    ``maxlen`` defaults to the artifact's tokenizer ``maxlen`` (``preprocessing.json``).
    """
    path = Path(artifact_path)
    if maxlen is None:
        try:
            pre = json.loads((path / PREPROCESSING_FILE).read_text(encoding="utf-8"))
            maxlen = int(pre["tokenizer"]["maxlen"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise NetworkError(f"{path}: no tokenizer maxlen in {PREPROCESSING_FILE}") from exc
    saved = saved_variables(path)
    matrices = {k: v for k, v in saved.items() if v.ndim == 2}
    named = [k for k in matrices if k.rsplit("/", 1)[-1] == "embeddings"]
    if not matrices:
        raise NetworkError(f"{path}: no weight matrix among the saved variables {sorted(saved)}")
    # The vocabulary size is the embedding's row count (by name, else the largest matrix);
    # map_weights then checks every shape, so a wrong guess fails there, loudly.
    embedding = named[0] if len(named) == 1 else max(matrices, key=lambda k: matrices[k].size)
    model = build_model(int(matrices[embedding].shape[0]), maxlen, recurrent_dropout=0.0)
    values = map_weights(model, saved)
    for weight in model.weights:
        weight.assign(values[weight.path])
    return model


@dataclass(frozen=True)
class SeedWeights:
    """The seed network's weights as float32 arrays, in Keras' layouts (LSTM gates i, f, c, o)."""

    embedding: npt.NDArray[np.float32]  # [num_words, EMBEDDING_DIM]
    kernel: npt.NDArray[np.float32]  # LSTM input kernel [EMBEDDING_DIM, 4 * LSTM_UNITS]
    recurrent: npt.NDArray[np.float32]  # LSTM recurrent kernel [LSTM_UNITS, 4 * LSTM_UNITS]
    bias: npt.NDArray[np.float32]  # LSTM bias [4 * LSTM_UNITS]
    dense: npt.NDArray[np.float32]  # output kernel [LSTM_UNITS, 1]
    dense_bias: npt.NDArray[np.float32]  # output bias [1]


def seed_weights(model: keras.Model) -> SeedWeights:
    """The arrays of a ``build_model`` network (e.g. ``rebuild_network``'s), by role."""

    def values(variable: Any) -> npt.NDArray[np.float32]:
        return np.asarray(keras.ops.convert_to_numpy(variable), dtype=np.float32)

    cell = model.get_layer("lstm").cell
    dense = model.get_layer("probability")
    return SeedWeights(
        embedding=values(model.get_layer("embedding").embeddings),
        kernel=values(cell.kernel),
        recurrent=values(cell.recurrent_kernel),
        bias=values(cell.bias),
        dense=values(dense.kernel),
        dense_bias=values(dense.bias),
    )
