"""Classification metrics shared by training, baselines and the evaluate command."""

from __future__ import annotations

import platform
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.metrics import accuracy_score, confusion_matrix, log_loss, roc_auc_score


def classification_metrics(
    y_true: npt.ArrayLike, prob: npt.ArrayLike, threshold: float = 0.5
) -> dict[str, Any]:
    y = np.asarray(y_true).astype(int)
    p = np.clip(np.asarray(prob, dtype=np.float64).reshape(-1), 1e-7, 1 - 1e-7)
    pred = (p >= threshold).astype(int)
    tn, fp, fn, tp = confusion_matrix(y, pred, labels=[0, 1]).ravel()
    return {
        "n": len(y),
        "accuracy": round(float(accuracy_score(y, pred)), 5),
        "loss": round(float(log_loss(y, p, labels=[0, 1])), 5),
        "roc_auc": round(float(roc_auc_score(y, p)), 5),
        "confusion_matrix": {"tn": int(tn), "fp": int(fp), "fn": int(fn), "tp": int(tp)},
    }


def format_table(rows: dict[str, dict[str, Any]]) -> str:
    """A markdown table: one row per model, columns accuracy / loss / ROC AUC."""
    lines = ["| model | test accuracy | test loss | test ROC AUC |", "|---|---|---|---|"]
    for name, m in rows.items():
        loss = f"{m['loss']:.4f}" if m.get("loss") is not None else "—"
        auc = f"{m['roc_auc']:.4f}" if m.get("roc_auc") is not None else "—"
        lines.append(f"| {name} | {m['accuracy']:.4f} | {loss} | {auc} |")
    return "\n".join(lines)


def library_versions() -> dict[str, str]:
    import keras
    import sklearn
    import tensorflow as tf

    return {
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
        "scikit-learn": sklearn.__version__,
    }
