"""training.student: the LSTM's training targets and how it is scored in both serving modes.

A fake teacher and a fake model stand in for the real ones: the functions under test only route
rows, targets and outputs, and the arithmetic is checked exactly.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from model_contract.scoring import Platt, ScoringPolicy, logit, sigmoid
from model_contract.tokenizer import Tokenizer, TokenizerConfig
from training.features import review_windows, sentence_spans
from training.student import (
    Scores,
    calibrated,
    chunked,
    fit_last_weight,
    fit_policy,
    mode_metrics,
    policy_logits,
    score_reviews,
    training_rows,
)
from training.teacher import CrossFitTeacher
from training.vocabulary import build_word_index

MAXLEN, STRIDE, MAX_WINDOWS = 8, 4, 6
TEXTS = [
    " ".join(f"r{r}w{k}" for k in range(n)) + ". " + " ".join(f"r{r}v{k}" for k in range(5)) + "."
    for r, n in enumerate([2, 9, 30, 60])
]
LABELS = [1, 0, 1, 0]
CONFIG = TokenizerConfig(maxlen=MAXLEN, num_words=10_000, stopwords=())
TOK = Tokenizer(CONFIG, build_word_index(TEXTS, CONFIG))


class OwnerTeacher(CrossFitTeacher):
    """P(positive) of a row = 0.1 + 0.2 * its review index; records what it was asked."""

    def __init__(self) -> None:
        super().__init__([], np.zeros(0, dtype=np.int64))
        self.calls: list[tuple[int, list[int]]] = []

    def probabilities(self, rows, owners):  # type: ignore[no-untyped-def]
        self.calls.append((len(rows), [int(o) for o in owners]))
        return 0.1 + 0.2 * np.asarray(owners, dtype=np.float64)


def rows_for(teacher: CrossFitTeacher | None, label_weight: float = 0.3, spans: int = 3):
    return training_rows(
        TOK, TEXTS, LABELS, teacher, stride=STRIDE, max_windows=MAX_WINDOWS,
        spans_per_review=spans, label_weight=label_weight, seed=5,
    )  # fmt: skip


def test_rows_are_every_window_then_the_spans() -> None:
    rows = rows_for(None)
    wins = review_windows(TOK, TEXTS, STRIDE, MAX_WINDOWS)
    spans = sentence_spans(TOK, TEXTS, 3, seed=5)
    np.testing.assert_array_equal(rows.x, np.concatenate([wins.x, spans.x]))
    assert (rows.windows, rows.spans) == (len(wins.x), len(spans.x))
    assert rows.spans > 0 and rows.x.dtype == np.int32 and rows.y.dtype == np.float32


def test_without_a_teacher_every_row_has_its_reviews_label() -> None:
    rows = rows_for(None)
    wins = review_windows(TOK, TEXTS, STRIDE, MAX_WINDOWS)
    spans = sentence_spans(TOK, TEXTS, 3, seed=5)
    expected = np.asarray(LABELS)[np.concatenate([wins.review, spans.review])]
    np.testing.assert_array_equal(rows.y, expected)


@pytest.mark.parametrize("label_weight", [0.0, 0.3, 1.0])
def test_window_targets_mix_label_and_teacher_spans_use_the_teacher(label_weight: float) -> None:
    teacher = OwnerTeacher()
    rows = rows_for(teacher, label_weight)
    wins = review_windows(TOK, TEXTS, STRIDE, MAX_WINDOWS)
    spans = sentence_spans(TOK, TEXTS, 3, seed=5)
    p_win, p_span = 0.1 + 0.2 * wins.review, 0.1 + 0.2 * spans.review
    y_win = label_weight * np.asarray(LABELS)[wins.review] + (1 - label_weight) * p_win
    np.testing.assert_allclose(rows.y[: rows.windows], y_win, rtol=1e-6)
    np.testing.assert_allclose(rows.y[rows.windows :], p_span, rtol=1e-6)  # no label at all
    # The teacher was asked about each row with the review that row came from (cross-fitting).
    assert teacher.calls == [
        (len(wins.x), wins.review.tolist()),
        (len(spans.x), spans.review.tolist()),
    ]


def test_no_spans_requested() -> None:
    rows = rows_for(OwnerTeacher(), spans=0)
    assert rows.spans == 0 and len(rows.x) == rows.windows == len(rows.y)


def fake_predict(x: npt.NDArray[np.int32]) -> npt.NDArray[np.float32]:
    """A deterministic 'model': P(positive) from the ids of the row."""
    z = (x.astype(np.int64) * np.arange(1, x.shape[1] + 1)).sum(axis=1) % 11 - 5.0
    return sigmoid(z / 2).astype(np.float32)


def test_score_reviews_in_both_modes() -> None:
    scores = score_reviews(fake_predict, TOK, TEXTS, STRIDE, MAX_WINDOWS)
    for i, text in enumerate(TEXTS):
        rows = TOK.encode_windows(text, STRIDE, MAX_WINDOWS).rows
        assert scores.whole[i] == pytest.approx(float(np.mean(logit(fake_predict(rows)))))
        # last mode = the first row of each review = encode(text), the seed's input
        last = fake_predict(TOK.encode(text).ids[None, :])
        assert scores.last[i] == pytest.approx(float(logit(last)[0]))
    n_rows = len(review_windows(TOK, TEXTS, STRIDE, MAX_WINDOWS).x)
    assert scores.windows_per_review == n_rows / len(TEXTS) > 1
    assert scores.whole[0] == scores.last[0]  # a short review is one window


def test_fit_policy_picks_the_more_accurate_mode() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 400)
    right = np.where(y == 1, 1.0, -1.0) * rng.uniform(0.5, 3.0, y.size)
    noisy = right * np.where(rng.random(y.size) < 0.3, -1, 1)  # 70 % right
    assert fit_policy(Scores(right, noisy, 3.0), y, 40, 16).default_mode == "whole"
    chosen = fit_policy(Scores(noisy, noisy[::-1].copy(), 3.0), y, 40, 16)
    noisy_last = fit_policy(Scores(noisy[::-1].copy(), right, 3.0), y, 40, 16)
    acc = {
        m: np.mean((policy_logits(Scores(noisy[::-1].copy(), right, 3.0), noisy_last, m) >= 0) == y)
        for m in ("whole", "last")
    }
    assert acc[noisy_last.default_mode] == max(acc.values()) == 1.0
    assert (chosen.stride, chosen.max_windows) == (40, 16)
    assert set(chosen.platt) == {"whole", "last"} and chosen.platt["whole"].a > 0
    assert fit_policy(Scores(right, right, 3.0), y, 40, 16).default_mode == "whole"  # tie


def review_logits(n: int, seed: int, last_helps: bool) -> tuple[Scores, npt.NDArray[np.int_]]:
    """Reviews of 3 windows: the mean is a noisy read; with ``last_helps`` the last window (part
    of the mean, as in serving) carries the verdict, otherwise it is noise like the others."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    sign = np.where(y == 1, 1.0, -1.0)
    last = (2.0 * sign if last_helps else 0.0) + rng.normal(0, 1.5, n)
    others = 0.6 * sign[:, None] + rng.normal(0, 2.0, (n, 2))
    return Scores((last + others.sum(axis=1)) / 3, last, 3.0), y


def test_combiner_weights_the_last_window_when_it_carries_the_verdict() -> None:
    scores, y = review_logits(3000, seed=11, last_helps=True)
    weight = fit_last_weight(scores, y)
    assert weight > 0.2
    policy = fit_policy(scores, y, 80, 32)
    assert policy.last_weight == weight
    served = np.mean((policy_logits(scores, policy, "whole") >= 0) == y)
    assert served > np.mean((scores.whole >= 0) == y) + 0.01


def test_combiner_stays_off_when_the_last_window_adds_nothing() -> None:
    scores, y = review_logits(3000, seed=12, last_helps=False)
    assert fit_last_weight(scores, y) == 0.0
    assert fit_policy(scores, y, 80, 32).last_weight == 0.0


@pytest.mark.parametrize("last_weight", [0.0, 0.35])
@pytest.mark.parametrize("mode", ["whole", "last"])
def test_policy_logits_then_calibrated_is_combine_vectorised(mode: str, last_weight: float) -> None:
    platt = {"whole": Platt(1.4, -0.2), "last": Platt(0.7, 0.3)}
    policy = ScoringPolicy(platt=platt, last_weight=last_weight)  # type: ignore[arg-type]
    rng = np.random.default_rng(2)
    reviews = [rng.random(int(rng.integers(1, 6))) for _ in range(50)]
    scores = Scores(
        np.array([np.mean(logit(p)) for p in reviews]),
        np.array([logit(p[0]) for p in reviews]),
        3.0,
    )
    z = policy_logits(scores, policy, mode)  # type: ignore[arg-type]
    served = [list(p) if mode == "whole" else [p[0]] for p in reviews]  # "last": one row is sent
    expected = [policy.combine(rows, mode) for rows in served]  # type: ignore[arg-type]
    np.testing.assert_allclose(calibrated(z, policy, mode), expected, rtol=1e-9)  # type: ignore[arg-type]


@pytest.mark.parametrize("mode", ["whole", "last"])
def test_calibrated_is_combine_vectorised(mode: str) -> None:
    policy = ScoringPolicy(platt={"whole": Platt(1.4, -0.2), "last": Platt(0.7, 0.3)})
    rng = np.random.default_rng(1)
    reviews = [rng.random(int(rng.integers(1, 6))) for _ in range(50)]
    z = np.array([np.mean(logit(p)) for p in reviews])
    expected = [policy.combine(list(p), mode) for p in reviews]  # type: ignore[arg-type]
    np.testing.assert_allclose(calibrated(z, policy, mode), expected, rtol=1e-9)  # type: ignore[arg-type]
    assert calibrated([0.0], ScoringPolicy(), mode)[0] == 0.5  # type: ignore[arg-type]


def test_chunked_calls_in_batches_and_keeps_order() -> None:
    sizes: list[int] = []

    def predict(x: npt.NDArray[np.int32]) -> npt.NDArray[np.float32]:
        sizes.append(len(x))
        return x[:, 0].astype(np.float32)

    x = np.arange(23, dtype=np.int32)[:, None]
    out = chunked(predict, 5)(x)
    assert sizes == [5, 5, 5, 5, 3]
    np.testing.assert_array_equal(out, np.arange(23, dtype=np.float32))
    empty = chunked(predict, 5)(np.zeros((0, 1), np.int32))
    assert empty.shape == (0,) and empty.dtype == np.float32


def test_mode_metrics_reports_both_modes_before_and_after_calibration() -> None:
    rng = np.random.default_rng(2)
    y = rng.integers(0, 2, 300)
    z = (2 * y - 1) * 3.0 + rng.normal(0, 2, y.size)  # overconfident log-odds
    scores = Scores(z, z / 2, 2.5)
    policy = fit_policy(scores, y, 40, 16)
    metrics = mode_metrics(scores, y, policy)
    assert metrics["windows_per_review"] == 2.5
    for mode in ("whole", "last"):
        m = metrics[mode]
        assert {"accuracy", "loss", "roc_auc", "ece", "ece_uncalibrated"} <= m.keys()
        assert m["ece"] <= m["ece_uncalibrated"] + 0.02
    assert metrics["whole"]["ece"] < metrics["whole"]["ece_uncalibrated"]
