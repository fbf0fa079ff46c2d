"""Keras callback: whole-review validation accuracy, the number model selection watches."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import keras
import numpy as np
import numpy.typing as npt

from model_contract.tokenizer import Tokenizer
from training.calibration import mean_logits
from training.features import review_windows


class WholeReviewAccuracy(keras.callbacks.Callback):  # type: ignore[misc]
    """Adds ``val_whole_review_accuracy`` (mean window logit >= 0) to each epoch's logs."""

    def __init__(
        self,
        tokenizer: Tokenizer,
        texts: Sequence[str],
        labels: npt.NDArray[np.int_],
        stride: int,
        max_windows: int,
        log: Callable[[str], None],
    ) -> None:
        super().__init__()
        self._rows = review_windows(tokenizer, texts, stride, max_windows)
        self._n = len(texts)
        self._labels = np.asarray(labels)
        self._log = log

    def accuracy(self, window_model: keras.Model) -> float:
        """Whole-review accuracy of ``window_model`` (ids ``[n, maxlen]`` -> P) on the reviews."""
        probs = np.asarray(window_model.predict(self._rows.x, batch_size=512, verbose=0))
        z = mean_logits(probs.reshape(-1), self._rows.review, self._n)
        return float(((z >= 0) == self._labels).mean())

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        # Stage 2 trains a wrapper around the window model (training/review_tuning.py).
        acc = self.accuracy(getattr(self.model, "window_model", self.model))
        if logs is not None:
            logs["val_whole_review_accuracy"] = acc
        self._log(f"epoch {epoch + 1}: validation whole-review accuracy {acc:.4f}")
