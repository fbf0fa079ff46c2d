"""Whole-review combination and probability calibration, fitted on the validation split."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
from sklearn.linear_model import LogisticRegression

from model_contract.scoring import logit

ECE_BINS = 15


def mean_logits(
    probs: npt.NDArray[np.floating], owner: npt.NDArray[np.int64], n_reviews: int
) -> npt.NDArray[np.float64]:
    """The service's combination: the mean of each review's window logits."""
    sums = np.bincount(owner, weights=logit(probs), minlength=n_reviews)
    counts = np.bincount(owner, minlength=n_reviews)
    return sums / np.maximum(counts, 1)


def fit_platt(logits: npt.NDArray[np.floating], y: npt.ArrayLike) -> tuple[float, float]:
    """P = sigmoid(a * logit + b), maximum likelihood on held-out reviews (Platt scaling)."""
    model = LogisticRegression(C=1e6, max_iter=1000)
    model.fit(np.asarray(logits, dtype=np.float64).reshape(-1, 1), np.asarray(y))
    return float(model.coef_[0, 0]), float(model.intercept_[0])


def expected_calibration_error(
    probs: npt.ArrayLike, y: npt.ArrayLike, bins: int = ECE_BINS
) -> float:
    """ECE over equal-width bins of the predicted class's confidence (Guo et al. 2017)."""
    p = np.asarray(probs, dtype=np.float64).reshape(-1)
    labels = np.asarray(y).reshape(-1)
    conf = np.where(p >= 0.5, p, 1 - p)
    correct = (p >= 0.5).astype(int) == labels
    edges = np.linspace(0.5, 1.0, bins + 1)
    idx = np.clip(np.digitize(conf, edges[1:-1]), 0, bins - 1)
    ece = 0.0
    for b in range(bins):
        mask = idx == b
        if mask.any():
            ece += mask.mean() * abs(correct[mask].mean() - conf[mask].mean())
    return round(float(ece), 5)


def reliability_diagram(
    curves: dict[str, tuple[npt.ArrayLike, npt.ArrayLike]], path: Path, bins: int = ECE_BINS
) -> None:
    """P(positive) binned vs the observed fraction of positives, one curve per name."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 5), dpi=100)
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", label="perfect")
    edges = np.linspace(0, 1, bins + 1)
    for name, (probs, y) in curves.items():
        p, labels = np.asarray(probs).reshape(-1), np.asarray(y).reshape(-1)
        idx = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
        xs, ys = [], []
        for b in range(bins):
            mask = idx == b
            if mask.sum() >= 10:
                xs.append(p[mask].mean())
                ys.append(labels[mask].mean())
        ece = expected_calibration_error(p, labels, bins)
        ax.plot(xs, ys, marker="o", label=f"{name} (ECE {ece:.3f})")
    ax.set_xlabel("predicted P(positive)")
    ax.set_ylabel("observed fraction positive")
    ax.set_title("Reliability on the IMDB test set (15 bins)")
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
