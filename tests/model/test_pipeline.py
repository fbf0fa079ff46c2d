"""Training end to end in quick mode, and the exported inference twin's equivalence."""

from __future__ import annotations

import json
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from model_contract.artifact import load_artifact
from model_contract.network import EMBEDDING_DIM, build_model
from model_contract.savedmodel import ServingSignature
from model_contract.tokenizer import Tokenizer, TokenizerConfig
from tests.model.conftest import SAMPLE
from training import train
from training.data import Dataset
from training.export import EQUIVALENCE_ATOL, export_savedmodel
from training.model import compile_model, inference_twin
from training.vocabulary import build_word_index


def test_quick_mode_data_to_prediction(tmp_path: Path, sample: Dataset) -> None:
    model_dir = tmp_path / "imdb_lstm"
    assert train.main(["--quick", "--data", str(SAMPLE), "--model-dir", str(model_dir)]) == 0
    artifact = load_artifact(model_dir)  # reload: fingerprint + word-index hash verified
    assert artifact.version == 1
    metrics = json.loads((artifact.path / "metrics.json").read_text())
    assert metrics["training"]["epochs_run"] == 1
    assert metrics["training"]["command"].startswith("python -m training.train --quick --data")
    assert metrics["data"]["sha256"] and metrics["versions"]["tensorflow"] == tf.__version__
    assert set(metrics["baselines"]) == {
        "random forest (padded ids, seed baseline)",
        "TF-IDF + logistic regression (full text)",
        "NB-LR teacher (student's ids, full text)",
    }
    assert metrics["test"]["n"] == len(sample.test.texts)
    assert "Known limits" in (artifact.path / "MODEL_CARD.md").read_text()
    # Whole-review scoring and its calibration ship in the artifact and are read back.
    assert artifact.scoring.default_mode in ("whole", "last")
    assert set(artifact.scoring.platt) == {"whole", "last"}
    assert metrics["test_modes"]["whole"]["n"] == len(sample.test.texts)
    assert (artifact.path / "reliability.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # Each weight is stored once (the embedding matrix is the artifact's bulk).
    num_words = artifact.tokenizer.config.num_words
    stored = tf.train.list_variables(str(artifact.path / "variables" / "variables"))
    assert [shape for _, shape in stored].count([num_words, EMBEDDING_DIM]) == 1

    serve = ServingSignature(artifact.path, artifact.tokenizer.config.maxlen)
    ids = artifact.tokenizer.encode_batch(sample.test.texts[:7])
    prob = serve.predict(ids)
    assert prob.shape == (7,) and np.all((prob >= 0) & (prob <= 1))

    # A second run gets the next version; an explicit existing version is refused.
    assert (
        train.main(
            ["--quick", "--no-baselines", "--data", str(SAMPLE), "--model-dir", str(model_dir)]
        )
        == 0
    )
    assert (model_dir / "2" / "saved_model.pb").exists()
    assert (
        train.main(
            ["--quick", "--data", str(SAMPLE), "--model-dir", str(model_dir), "--version", "1"]
        )
        == 2
    )


def test_exported_twin_equals_trained_model(tmp_path: Path, sample: Dataset) -> None:
    """recurrent_dropout=0 copy (cuDNN-eligible) == trained model, also after SavedModel export."""
    config = TokenizerConfig(num_words=2_000)
    tok = Tokenizer(config, build_word_index(sample.train.texts, config))
    x, y = tok.encode_batch(sample.train.texts), np.asarray(sample.train.labels)
    keras.utils.set_random_seed(7)
    model = build_model(config.num_words, config.maxlen)
    compile_model(model)
    model.fit(x, y, batch_size=32, epochs=1, verbose=0)  # non-trivial weights

    twin = inference_twin(model, config.num_words, config.maxlen)
    assert twin.get_layer("lstm").recurrent_dropout == 0
    x_test = tok.encode_batch(sample.test.texts)
    trained = model(x_test, training=False).numpy().reshape(-1)
    np.testing.assert_allclose(
        twin(x_test, training=False).numpy().reshape(-1), trained, atol=EQUIVALENCE_ATOL, rtol=0
    )

    export_savedmodel(twin, tmp_path / "sm", config.maxlen)
    # ServingSignature checks the exported input spec (int32 [None, maxlen]) on load.
    exported = ServingSignature(tmp_path / "sm", config.maxlen).predict(x_test)
    np.testing.assert_allclose(exported, trained, atol=EQUIVALENCE_ATOL, rtol=0)
    assert np.std(trained) > 1e-3  # the comparison is not between two constant outputs


@pytest.mark.parametrize(
    "argv",
    [
        ["--windows", "0"],
        ["--rf-trees", "0"],
        ["--version", "0"],
        ["--label-weight", "1.5"],
        ["--spans", "-1"],
        ["--stride", "0"],
        ["--stride", "81"],
    ],
)
def test_bad_arguments(argv: list[str]) -> None:
    assert train.main(argv) == 2


def test_quick_mode_with_unlabelled_reviews_and_movie_validation(tmp_path: Path) -> None:
    """The v4 recipe's data path end to end (`make train-smoke`): unlabelled reviews distilled
    from the teacher with the copies of test reviews dropped, validation held out by movie, and
    the Unicode clean-up recorded in the artifact's tokenizer."""
    extra = str(SAMPLE.with_name("aclImdb_sample_extra.tar.gz"))
    model_dir = tmp_path / "imdb_lstm"
    argv = ["--quick", "--no-baselines", "--data", str(SAMPLE), "--unsup", extra]
    assert train.main([*argv, "--movies", extra, "--model-dir", str(model_dir)]) == 0
    artifact = load_artifact(model_dir)
    metrics = json.loads((artifact.path / "metrics.json").read_text())
    data = metrics["data"]
    assert data["validation_split"] == "movie"
    assert data["unlabelled_dropped"]["test_copies"] == 4  # the sample's real copies
    assert data["unlabelled_reviews"] > 0
    assert data["fit_rows"] > 2 * data["fit_reviews"]  # the unlabelled rows were added
    assert artifact.tokenizer.config.normalization == "nfkc"
    assert metrics["training"]["levers"]["unlabelled"] is True
    # Without --movies a movie split is refused with a message, not a traceback.
    assert train.main([*argv, "--split", "movie", "--model-dir", str(model_dir)]) == 2
