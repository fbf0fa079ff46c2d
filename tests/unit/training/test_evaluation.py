"""training.evaluation: the metrics every report, model card and comparison table is built from."""

from __future__ import annotations

import math

import numpy as np
import pytest

from training.evaluation import classification_metrics, format_table


def test_metrics_by_hand() -> None:
    y = [1, 1, 0, 0, 1]
    p = [0.9, 0.4, 0.2, 0.6, 0.7]
    m = classification_metrics(y, p)
    assert m["n"] == 5
    assert m["accuracy"] == 0.6  # 0.4 and 0.6 are wrong
    assert m["confusion_matrix"] == {"tn": 1, "fp": 1, "fn": 1, "tp": 2}
    expected_loss = -np.mean(
        [math.log(0.9), math.log(0.4), math.log(0.8), math.log(0.4), math.log(0.7)]
    )
    assert m["loss"] == pytest.approx(expected_loss, abs=1e-5)
    assert m["roc_auc"] == pytest.approx(5 / 6, abs=1e-5)  # 5 of 6 positive/negative pairs ordered


def test_threshold_and_shapes() -> None:
    y = np.array([1, 0, 1, 0])
    p = np.array([[0.55], [0.45], [0.65], [0.6]])  # a model's (n, 1) output
    assert classification_metrics(y, p)["accuracy"] == 0.75
    assert classification_metrics(y, p, threshold=0.62)["accuracy"] == 0.75
    assert classification_metrics(y, p, threshold=0.58)["confusion_matrix"]["fp"] == 1


def test_saturated_probabilities_give_a_finite_loss() -> None:
    m = classification_metrics([1, 0, 1], [0.0, 1.0, 1.0])  # two confidently wrong
    assert math.isfinite(m["loss"]) and m["loss"] > 5


def test_values_are_rounded_plain_python() -> None:
    m = classification_metrics([1, 0, 1, 0], [0.712345678, 0.3, 0.8, 0.1])
    assert all(isinstance(m[k], float) for k in ("accuracy", "loss", "roc_auc"))
    assert m["loss"] == round(m["loss"], 5)
    assert all(type(v) is int for v in m["confusion_matrix"].values())


def test_format_table() -> None:
    table = format_table(
        {
            "LSTM": {"accuracy": 0.89114, "loss": 0.2712, "roc_auc": 0.95678},
            "forest": {"accuracy": 0.5566, "loss": None, "roc_auc": None},
        }
    )
    assert table.splitlines() == [
        "| model | test accuracy | test loss | test ROC AUC |",
        "|---|---|---|---|",
        "| LSTM | 0.8911 | 0.2712 | 0.9568 |",
        "| forest | 0.5566 | — | — |",
    ]
