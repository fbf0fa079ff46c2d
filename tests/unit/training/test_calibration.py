"""training.calibration: whole-review combination, Platt scaling and the calibration error."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.special import expit

from model_contract.scoring import logit
from training.calibration import (
    expected_calibration_error,
    fit_platt,
    mean_logits,
    reliability_diagram,
)


def test_mean_logits_groups_rows_by_review() -> None:
    probs = np.array([0.9, 0.1, 0.8, 0.7, 0.6, 0.5], dtype=np.float32)
    owner = np.array([0, 0, 1, 2, 2, 2])
    z = mean_logits(probs, owner, n_reviews=4)
    expected = np.array(
        [
            np.mean(logit(probs[0:2])),
            float(logit(probs[2])),
            np.mean(logit(probs[3:6])),
            0.0,  # a review without rows gets log-odds 0, not a division by zero
        ]
    )
    np.testing.assert_allclose(z, expected, rtol=1e-12, atol=1e-12)
    assert z.dtype == np.float64


def test_mean_logits_does_not_need_sorted_owners() -> None:
    probs = np.array([0.2, 0.9, 0.4, 0.7])
    owner = np.array([1, 0, 1, 0])
    np.testing.assert_allclose(
        mean_logits(probs, owner, 2), [np.mean(logit([0.9, 0.7])), np.mean(logit([0.2, 0.4]))]
    )


def test_mean_logits_clips_saturated_outputs() -> None:
    z = mean_logits(np.array([0.0, 1.0, 1.0]), np.array([0, 1, 1]), 2)
    assert np.isfinite(z).all() and z[0] < -15 and z[1] > 15


@pytest.mark.parametrize(("a", "b"), [(1.7, -0.4), (0.6, 0.8), (1.0, 0.0)])
def test_fit_platt_recovers_known_parameters(a: float, b: float) -> None:
    rng = np.random.default_rng(0)
    z = rng.normal(0.0, 2.0, 20_000)
    y = (rng.random(z.size) < expit(a * z + b)).astype(int)
    fitted_a, fitted_b = fit_platt(z, y)
    assert fitted_a == pytest.approx(a, abs=0.08)
    assert fitted_b == pytest.approx(b, abs=0.08)


def test_platt_turns_overconfident_scores_into_calibrated_ones() -> None:
    rng = np.random.default_rng(1)
    true_z = rng.normal(0.0, 1.5, 20_000)
    y = (rng.random(true_z.size) < expit(true_z)).astype(int)
    overconfident = 3.0 * true_z
    a, b = fit_platt(overconfident, y)
    assert a == pytest.approx(1 / 3, abs=0.03)
    before = expected_calibration_error(expit(overconfident), y)
    after = expected_calibration_error(expit(a * overconfident + b), y)
    assert after < 0.02 < 0.1 < before


def test_ece_of_a_calibrated_set_is_near_zero() -> None:
    rng = np.random.default_rng(2)
    p = rng.random(100_000)
    y = (rng.random(p.size) < p).astype(int)  # P(y=1) is exactly p
    assert expected_calibration_error(p, y) < 0.01


def test_ece_of_a_miscalibrated_set_is_large() -> None:
    rng = np.random.default_rng(3)
    p = rng.random(100_000)
    y = (rng.random(p.size) < 0.5 + (p - 0.5) / 3).astype(int)  # truth is far less sure
    assert expected_calibration_error(p, y) > 0.1


@pytest.mark.parametrize(
    ("p", "y", "ece"),
    [
        ([1.0, 0.0, 1.0], [1, 0, 1], 0.0),  # sure and right
        ([0.9] * 10, [0] * 10, 0.9),  # confident (0.9) and always wrong (accuracy 0)
        ([0.2] * 4, [0] * 4, 0.2),  # 80 % confident in "negative", always right
        ([0.6, 0.6, 0.6, 0.6, 0.6], [1, 1, 1, 0, 0], 0.0),  # 60 % sure, 60 % right
    ],
)
def test_ece_by_hand(p: list[float], y: list[int], ece: float) -> None:
    assert expected_calibration_error(p, y) == pytest.approx(ece, abs=1e-5)


def test_ece_accepts_column_vectors_and_rounds() -> None:
    p = np.array([[0.7], [0.3], [0.8]])
    assert expected_calibration_error(p, np.array([[1], [0], [0]])) == round(
        expected_calibration_error(p.ravel(), [1, 0, 0]), 5
    )


def test_reliability_diagram_writes_a_png(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    p = rng.random(2000)
    y = (rng.random(p.size) < p).astype(int)
    path = tmp_path / "reliability.png"
    reliability_diagram({"calibrated": (p, y), "overconfident": (expit(3 * logit(p)), y)}, path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
