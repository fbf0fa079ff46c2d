"""model_contract.savedmodel: the one place the SavedModel is called, and the checks on loading."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from model_contract.artifact import ArtifactError, load_artifact
from model_contract.savedmodel import ServingSignature

MODEL_DIR = Path(__file__).resolve().parents[2] / "model_artifacts" / "imdb_lstm"


@pytest.fixture(scope="module")
def v3() -> tuple[ServingSignature, np.ndarray]:
    artifact = load_artifact(MODEL_DIR, 3)
    texts = ["A moving, beautifully acted film.", "A dull, lifeless mess.", "ok"]
    ids = artifact.tokenizer.encode_batch(texts)
    return ServingSignature(artifact.path, artifact.tokenizer.config.maxlen), ids


def test_predict_is_one_probability_per_row(v3: tuple[ServingSignature, np.ndarray]) -> None:
    signature, ids = v3
    p = signature.predict(ids)
    assert p.shape == (3,) and p.dtype == np.float32
    assert ((p > 0) & (p < 1)).all()
    assert p[0] > 0.5 > p[1]
    # Row by row gives the same numbers as the batch (no cross-row state).
    single = np.concatenate([signature.predict(ids[i : i + 1]) for i in range(3)])
    np.testing.assert_allclose(single, p, atol=1e-6)
    assert signature.predict(np.zeros((0, signature.maxlen), np.int32)).shape == (0,)


def test_the_call_is_traceable_for_xla(v3: tuple[ServingSignature, np.ndarray]) -> None:
    signature, ids = v3
    compiled = tf.function(lambda x: signature(x), jit_compile=True)
    np.testing.assert_allclose(
        compiled(tf.constant(ids)).numpy(), signature.predict(ids), atol=1e-5
    )


def test_wrong_row_length_refused() -> None:
    with pytest.raises(ArtifactError, match=r"'token_ids' is .* expected int32 \[None, 100\]"):
        ServingSignature(MODEL_DIR / "3", maxlen=100)


def test_a_savedmodel_without_the_serving_signature_refused(tmp_path: Path) -> None:
    module = tf.Module()
    module.f = tf.function(
        lambda token_ids: {"probability": tf.reduce_mean(tf.cast(token_ids, tf.float32), axis=1)},
        input_signature=[tf.TensorSpec([None, 80], tf.int32, name="token_ids")],
    )
    tf.saved_model.save(module, str(tmp_path), signatures={"other": module.f})
    with pytest.raises(ArtifactError, match="has no signature 'serving_default'"):
        ServingSignature(tmp_path, maxlen=80)


def test_a_float_input_refused(tmp_path: Path) -> None:
    module = tf.Module()
    module.f = tf.function(
        lambda token_ids: {"probability": tf.reduce_mean(token_ids, axis=1)},
        input_signature=[tf.TensorSpec([None, 80], tf.float32, name="token_ids")],
    )
    tf.saved_model.save(module, str(tmp_path), signatures={"serving_default": module.f})
    with pytest.raises(ArtifactError, match="expected int32"):
        ServingSignature(tmp_path, maxlen=80)
