"""What the LSTM (the student) is trained on, and how it is scored in both serving modes."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from model_contract.scoring import MODES, Mode, Platt, ScoringPolicy, sigmoid
from model_contract.tokenizer import Tokenizer
from training.calibration import expected_calibration_error, fit_platt, mean_logits
from training.evaluation import classification_metrics
from training.features import Rows, review_windows, sentence_spans
from training.teacher import CrossFitTeacher, Teacher

Predict = Callable[[npt.NDArray[np.int32]], npt.NDArray[np.float32]]
COMBINER_FOLDS = 5


@dataclass(frozen=True)
class TrainingRows:
    x: npt.NDArray[np.int32]
    y: npt.NDArray[np.float32]  # soft targets in [0, 1]
    windows: int
    spans: int


def training_rows(
    tokenizer: Tokenizer,
    texts: Sequence[str],
    labels: Sequence[int],
    teacher: CrossFitTeacher | None,
    *,
    stride: int,
    max_windows: int,
    spans_per_review: int,
    label_weight: float,
    seed: int,
) -> TrainingRows:
    """Every serving window of every review plus one-line spans, with their targets.

    Windows: ``label_weight * label + (1 - label_weight) * teacher``. Spans: the teacher's score
    alone (a sentence of a positive review is often neutral or negative). The teacher is
    cross-fitted: a review's rows are scored by a teacher that never saw that review. Without a
    teacher every row gets its review's label.
    """
    y_review = np.asarray(labels, dtype=np.float64)
    wins = review_windows(tokenizer, texts, stride, max_windows)
    spans = (
        sentence_spans(tokenizer, texts, spans_per_review, seed)
        if spans_per_review > 0
        else Rows(
            np.zeros((0, wins.x.shape[1]), np.int32), np.zeros(0, np.int64), np.zeros(0, np.int8)
        )
    )
    if teacher is None:
        y_win, y_span = y_review[wins.review], y_review[spans.review]
    else:
        p_win = teacher.probabilities(list(wins.x), wins.review)
        y_win = label_weight * y_review[wins.review] + (1 - label_weight) * p_win
        y_span = teacher.probabilities(list(spans.x), spans.review)
    x = np.concatenate([wins.x, spans.x])
    y = np.concatenate([y_win, y_span]).astype(np.float32)
    return TrainingRows(x=x, y=y, windows=len(wins.x), spans=len(spans.x))


def unlabelled_rows(
    tokenizer: Tokenizer,
    texts: Sequence[str],
    teacher: Teacher,
    *,
    stride: int,
    max_windows: int,
    spans_per_review: int,
    seed: int,
) -> TrainingRows:
    """Every serving window and ``spans_per_review`` spans of unlabelled reviews, each with the
    teacher's score as its target. The teacher was fitted on the fit split only, so none of these
    reviews was in its training data: no cross-fitting is needed."""
    wins = review_windows(tokenizer, texts, stride, max_windows)
    spans = sentence_spans(tokenizer, texts, spans_per_review, seed) if spans_per_review else None
    x = wins.x if spans is None else np.concatenate([wins.x, spans.x])
    y = teacher.probabilities(list(x)).astype(np.float32)
    return TrainingRows(x=x, y=y, windows=len(wins.x), spans=len(x) - len(wins.x))


def concat_rows(a: TrainingRows, b: TrainingRows) -> TrainingRows:
    return TrainingRows(
        np.concatenate([a.x, b.x]), np.concatenate([a.y, b.y]), a.windows + b.windows,
        a.spans + b.spans,
    )  # fmt: skip


@dataclass(frozen=True)
class Scores:
    """Uncalibrated per-review log-odds in both modes."""

    whole: npt.NDArray[np.float64]
    last: npt.NDArray[np.float64]
    windows_per_review: float


def score_reviews(
    predict: Predict, tokenizer: Tokenizer, texts: Sequence[str], stride: int, max_windows: int
) -> Scores:
    rows = review_windows(tokenizer, texts, stride, max_windows)
    probs = predict(rows.x)
    whole = mean_logits(probs, rows.review, len(texts))
    # rows[0] of each review is its last window (encode_windows' order)
    first = np.concatenate([[0], np.flatnonzero(np.diff(rows.review)) + 1])
    last = mean_logits(probs[first], np.arange(len(texts)), len(texts))
    return Scores(whole, last, len(rows.x) / max(len(texts), 1))


def fit_last_weight(val: Scores, y_val: npt.ArrayLike, folds: int = COMBINER_FOLDS) -> float:
    """The whole-mode combiner: weight of the last window's logit beside the mean, or 0.

    Kept only if it beats the plain mean on validation out of fold (each fold's weight fitted on
    the others, its reviews scored after Platt scaling), so the selection is not in-sample.
    """
    y = np.asarray(y_val)
    x = np.column_stack([val.whole, val.last])
    plain, combined = 0, 0
    for fit, held in StratifiedKFold(folds, shuffle=True, random_state=0).split(x, y):
        plain += int(np.sum((_lr(x[fit, :1], y[fit]).predict(x[held, :1])) == y[held]))
        combined += int(np.sum((_lr(x[fit], y[fit]).predict(x[held])) == y[held]))
    w = _lr(x, y).coef_[0]
    return float(w[1] / w[0]) if combined > plain and w[0] > 0 and w[1] > 0 else 0.0


def _lr(x: npt.NDArray[np.float64], y: npt.NDArray[np.int_]) -> LogisticRegression:
    return LogisticRegression(C=1e6, max_iter=1000).fit(x, y)


def policy_logits(scores: Scores, policy: ScoringPolicy, mode: Mode) -> npt.NDArray[np.float64]:
    """Each review's log-odds before Platt, combined as ``ScoringPolicy.combine`` does."""
    if mode == "whole":
        return scores.whole + policy.last_weight * scores.last
    return scores.last


def fit_policy(val: Scores, y_val: npt.ArrayLike, stride: int, max_windows: int) -> ScoringPolicy:
    """Combiner and Platt scaling per mode on validation; the default mode is the more accurate."""
    bare = ScoringPolicy(
        stride=stride, max_windows=max_windows, last_weight=fit_last_weight(val, y_val)
    )
    z = {m: policy_logits(val, bare, m) for m in MODES}
    platt: dict[str, Platt] = {m: Platt(*fit_platt(z[m], y_val)) for m in MODES}
    y = np.asarray(y_val)
    acc = {m: float(((z[m] >= 0) == y).mean()) for m in MODES}
    default: Mode = "whole" if acc["whole"] >= acc["last"] else "last"
    return replace(bare, default_mode=default, platt=platt)


def calibrated(z: npt.ArrayLike, policy: ScoringPolicy, mode: Mode) -> npt.NDArray[np.float64]:
    """P(positive) from combined log-odds, as ``ScoringPolicy.combine`` computes it, vectorised."""
    cal = policy.platt.get(mode, Platt())
    return sigmoid(cal.a * np.asarray(z, dtype=np.float64) + cal.b)


def chunked(predict: Predict, batch: int) -> Predict:
    """``predict`` over any number of rows, ``batch`` rows per call."""

    def call(ids: npt.NDArray[np.int32]) -> npt.NDArray[np.float32]:
        out = [predict(ids[i : i + batch]) for i in range(0, len(ids), batch)]
        return np.concatenate(out) if out else np.zeros(0, dtype=np.float32)

    return call


def mode_metrics(scores: Scores, y: npt.ArrayLike, policy: ScoringPolicy) -> dict[str, Any]:
    """Accuracy/loss/AUC and ECE before and after calibration, for both modes."""
    out: dict[str, Any] = {"windows_per_review": round(scores.windows_per_review, 3)}
    for mode in MODES:
        z = policy_logits(scores, policy, mode)
        raw, calibrated_p = sigmoid(z), calibrated(z, policy, mode)
        out[mode] = classification_metrics(y, calibrated_p) | {
            "ece_uncalibrated": expected_calibration_error(raw, y),
            "ece": expected_calibration_error(calibrated_p, y),
        }
    return out
