"""The GPU path, proven structurally on a CPU (no GPU kernel is executed here).

- the GPU function, traced with Keras' GPU check forced (tracing only), holds the cuDNN LSTM op,
  and that op's weights are the committed artifact's, read independently through TensorFlow's
  SavedModel loader;
- the rebuilt network's CPU numerics equal the SavedModel's within 1e-5 (the weight mapping);
- the CPU path keeps its XLA function around the SavedModel's generic loop;
- the weight mapping fails loudly when the variables do not fit the network;
- ``seed_weights`` (what the gradient attributions use) gives each role the SavedModel's array.
"""

from __future__ import annotations

import gc
import importlib
from dataclasses import fields
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from model_contract import cudnn
from model_contract.network import (
    NetworkError,
    build_model,
    map_weights,
    rebuild_network,
    seed_weights,
)
from model_contract.policy import BatchPolicy
from model_contract.runner import ModelRunner
from model_contract.savedmodel import ServingSignature
from tests.fake_gpu import forced_builder
from tests.model.conftest import MODEL_DIR, SAMPLE
from training.data import load_imdb

VERSIONS = [1, 2, 3]
MAXLEN = 80
LSTM_WEIGHTS = {"lstm/lstm_cell/kernel", "lstm/lstm_cell/recurrent_kernel", "lstm/lstm_cell/bias"}


def _savedmodel_values(path: Path) -> dict[str, np.ndarray]:
    """The artifact's weights as TensorFlow's SavedModel loader restores them (not our reader)."""
    loaded = tf.saved_model.load(str(path))
    fn = loaded.signatures["serving_default"]
    return {v.name.removesuffix(":0"): v.numpy() for v in fn.variables}


@pytest.mark.parametrize("version", VERSIONS)
def test_gpu_function_holds_the_cudnn_op_with_the_artifacts_weights(version: int) -> None:
    path = MODEL_DIR / str(version)
    fn = forced_builder(path, MAXLEN, "/GPU:0")
    ops = cudnn.op_types(fn)
    assert ops["CudnnRNNV3"] == 1 and cudnn.uses_cudnn(fn)
    assert "While" not in ops  # no generic loop left beside it
    # The forcing was for tracing only: Keras' real check still sees no GPU on this machine.
    assert not importlib.import_module("keras.src.backend.tensorflow.rnn")._is_gpu_available()

    expected = _savedmodel_values(path)
    feeding = {v.name.removesuffix(":0"): v.numpy() for v in cudnn.cudnn_weight_variables(fn)}
    assert set(feeding) == LSTM_WEIGHTS  # exactly the LSTM's weights feed the cuDNN op
    captured = {v.name.removesuffix(":0"): v.numpy() for v in fn.variables}
    for name, value in expected.items():
        if "seed_generator" in name:  # dropout RNG state: not a weight
            continue
        np.testing.assert_array_equal(captured[name], value, err_msg=name)
    for name, value in feeding.items():
        np.testing.assert_array_equal(value, expected[name], err_msg=name)


def test_the_committed_savedmodel_has_no_cudnn_op() -> None:
    """Why the rebuilt function exists: a CPU export holds the generic While loop only."""
    for version in VERSIONS:
        sm = ServingSignature(MODEL_DIR / str(version), MAXLEN)
        ops = cudnn.op_types(sm._fn)
        assert ops["While"] >= 1 and not cudnn.uses_cudnn(sm._fn), version


@pytest.mark.parametrize("version", VERSIONS)
def test_rebuilt_network_equals_the_savedmodel_on_cpu(version: int) -> None:
    path = MODEL_DIR / str(version)
    reviews = load_imdb(str(SAMPLE)).test.texts[:64]
    from model_contract.artifact import load_artifact

    artifact = load_artifact(MODEL_DIR, version)
    ids = np.concatenate([cudnn.golden_ids(path), artifact.tokenizer.encode_batch(reviews)])
    fn = cudnn.build_cudnn_function(path, MAXLEN, "/CPU:0")  # no forcing: Keras' generic loop
    assert not cudnn.uses_cudnn(fn)
    got = fn(tf.constant(ids)).numpy()
    want = ServingSignature(path, MAXLEN).predict(ids)
    assert np.max(np.abs(got - want)) <= cudnn.PARITY_ATOL
    assert cudnn.refusal(fn, ServingSignature(path, MAXLEN), ids, "/CPU:0") is not None  # no op


def test_cpu_runner_keeps_its_xla_function_and_the_generic_loop() -> None:
    runner = ModelRunner(MODEL_DIR / "3", MAXLEN, BatchPolicy(max_batch_size=4), "/CPU:0")
    assert runner.kernel == cudnn.KERNEL_XLA_CPU and runner.xla
    compiled = getattr(runner._compiled, "function", None)  # model_contract/shared_xla.py
    assert compiled is not None and compiled.function_def.attr["_XlaMustCompile"].b
    ops = cudnn.op_types(compiled)
    assert ops["While"] >= 1 and not cudnn.uses_cudnn(compiled)
    assert runner._plain is runner._signature  # the CPU never uses the rebuilt network


def test_weight_mapping_by_name_then_shape_and_loud_failures() -> None:
    model = build_model(50, MAXLEN, recurrent_dropout=0.0)
    rng = np.random.default_rng(0)
    named: dict[str, np.ndarray] = {
        w.path: rng.standard_normal(tuple(w.shape)).astype(np.float32) for w in model.weights
    }
    seed: dict[str, np.ndarray] = {"seed_generator/seed_generator_state": np.zeros(2, np.int64)}
    assert map_weights(model, named | seed).keys() == named.keys()

    renamed = {f"other_{i}": v for i, v in enumerate(named.values())}  # names lost: shapes decide
    mapped = map_weights(model, renamed)
    for path, value in named.items():
        np.testing.assert_array_equal(mapped[path], value)

    missing = dict(named)
    del missing["lstm/lstm_cell/bias"]
    with pytest.raises(NetworkError, match=r"lstm/lstm_cell/bias \[256\]"):
        map_weights(model, missing)
    with pytest.raises(NetworkError, match="not used by the seed network"):
        map_weights(model, named | {"extra/kernel": np.zeros((3, 3), np.float32)})
    wrong = named | {"lstm/lstm_cell/kernel": np.zeros((128, 255), np.float32)}
    with pytest.raises(NetworkError):
        map_weights(model, wrong)


def test_rebuild_network_refuses_an_artifact_without_variables(tmp_path: Path) -> None:
    (tmp_path / "preprocessing.json").write_text('{"tokenizer": {"maxlen": 80}}')
    with pytest.raises(NetworkError, match="cannot read the SavedModel variables"):
        rebuild_network(tmp_path)


@pytest.mark.parametrize("version", VERSIONS)
def test_seed_weights_are_the_savedmodels_by_role(version: int) -> None:
    path = MODEL_DIR / str(version)
    weights = seed_weights(rebuild_network(path, MAXLEN))
    expected = _savedmodel_values(path)
    names = {
        "embedding": "embedding/embeddings",
        "kernel": "lstm/lstm_cell/kernel",
        "recurrent": "lstm/lstm_cell/recurrent_kernel",
        "bias": "lstm/lstm_cell/bias",
        "dense": "probability/kernel",
        "dense_bias": "probability/bias",
    }
    assert {f.name for f in fields(weights)} == set(names)
    for role, name in names.items():
        value = getattr(weights, role)
        assert value.dtype == np.float32
        np.testing.assert_array_equal(value, expected[name], err_msg=role)


def test_the_rebuilt_function_keeps_its_model_alive() -> None:
    """Its variables are held weakly: after a garbage collection they must still be there."""
    fn = cudnn.build_cudnn_function(MODEL_DIR / "3", MAXLEN, "/CPU:0")
    gc.collect()
    assert {v.name.removesuffix(":0") for v in fn.variables} >= LSTM_WEIGHTS
