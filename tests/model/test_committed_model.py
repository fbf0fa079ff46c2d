"""Quality of the committed artifact: all 25k test reviews when the dataset is there, else the sample."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from model_contract.artifact import load_artifact, resolve_version_dir
from tests.model.conftest import MODEL_DIR, SAMPLE, full_dataset_path
from training import evaluate

FULL_TEST_MIN_ACCURACY = 0.835  # the bar on all 25,000 test reviews
SAMPLE_MIN_ACCURACY = 0.80  # 300 reviews: looser, the sample's standard error is ~2.3 points


def test_committed_artifact_is_complete_and_consistent() -> None:
    artifact = load_artifact(MODEL_DIR)
    assert artifact.tokenizer.config.maxlen == 80 and artifact.tokenizer.config.num_words == 20_000
    assert artifact.tokenizer.vocabulary_size == 20_000 - 4
    metrics = artifact.metrics
    assert metrics["data"]["train_reviews"] == 25_000 and metrics["test"]["n"] == 25_000
    assert metrics["test"]["accuracy"] >= FULL_TEST_MIN_ACCURACY
    assert metrics["export_max_abs_diff"] <= 1e-5
    for file in ("MODEL_CARD.md", "word_index.json", "preprocessing.json", "variables"):
        assert (artifact.path / file).exists()


@pytest.mark.slow
def test_committed_artifact_accuracy(tmp_path: Path) -> None:
    data = full_dataset_path()
    out = tmp_path / "eval.json"
    assert (
        evaluate.main(
            ["--model-dir", str(MODEL_DIR), "--data", data or str(SAMPLE), "--json", str(out)]
        )
        == 0
    )
    test = json.loads(out.read_text())["test"]
    if data is None:
        assert test["n"] == 300
        assert test["accuracy"] >= SAMPLE_MIN_ACCURACY
        return
    assert test["n"] == 25_000
    assert test["accuracy"] >= FULL_TEST_MIN_ACCURACY
    recorded = load_artifact(MODEL_DIR).metrics["test"]
    assert abs(test["accuracy"] - recorded["accuracy"]) < 1e-3  # re-scoring reproduces training's
    assert resolve_version_dir(MODEL_DIR).name == str(json.loads(out.read_text())["version"])
