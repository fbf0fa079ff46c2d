"""training.callbacks: the whole-review validation accuracy model selection watches."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import numpy.typing as npt

from model_contract.tokenizer import Tokenizer, TokenizerConfig
from training.callbacks import WholeReviewAccuracy
from training.features import review_windows
from training.vocabulary import build_word_index

CONFIG = TokenizerConfig(maxlen=6, num_words=1000, stopwords=())
# Long reviews (several windows): "good"/"bad" words decide each window's score.
TEXTS = [
    "good " * 3 + "plain " * 12 + "bad",  # mostly neutral windows, one good, last window bad
    "bad " * 20,
    "good " * 20,
    "bad " * 3 + "plain " * 10 + "good",  # the mirror image: last window good, label negative
]
LABELS = np.array([1, 0, 1, 0])
TOK = Tokenizer(CONFIG, build_word_index(TEXTS, CONFIG))
GOOD, BAD = TOK.word_index["good"] + 3, TOK.word_index["bad"] + 3


class WordCounter(keras.Model):  # type: ignore[misc]
    """A stand-in model: P(positive) = sigmoid(#good - #bad) per row."""

    def call(self, x: Any) -> Any:
        x = keras.ops.cast(x, "int32")
        score = keras.ops.sum(
            keras.ops.cast(x == GOOD, "float32") - keras.ops.cast(x == BAD, "float32"), axis=1
        )
        return keras.ops.sigmoid(score)


def expected_accuracy(stride: int) -> float:
    rows = review_windows(TOK, TEXTS, stride, 32)
    z = (rows.x == GOOD).sum(1) - (rows.x == BAD).sum(1)  # the logit of each window
    whole = np.bincount(rows.review, weights=z) / np.bincount(rows.review)
    result: float = float(((whole >= 0) == LABELS).mean())
    return result


def test_logs_the_whole_review_accuracy_each_epoch() -> None:
    lines: list[str] = []
    callback = WholeReviewAccuracy(TOK, TEXTS, LABELS, stride=6, max_windows=32, log=lines.append)
    callback.set_model(WordCounter())
    logs: dict[str, Any] = {}
    callback.on_epoch_end(0, logs)
    callback.on_epoch_end(1, None)  # Keras may pass no logs: only the log line then
    expected = expected_accuracy(6)
    assert logs == {"val_whole_review_accuracy": expected}
    assert lines == [f"epoch {n}: validation whole-review accuracy {expected:.4f}" for n in (1, 2)]
    # Reviews 0 and 3 end against their label: the last window alone gets them wrong, the mean
    # window logit right - the callback measures the latter.
    assert expected == 1.0
    last = TOK.encode_batch(TEXTS)
    assert (((last == GOOD).sum(1) - (last == BAD).sum(1) >= 0) == LABELS).mean() == 0.5


def test_windows_follow_the_stride_and_cap() -> None:
    callback = WholeReviewAccuracy(TOK, TEXTS, LABELS, stride=3, max_windows=2, log=print)
    rows: npt.NDArray[np.int64] = callback._rows.review
    assert np.bincount(rows).max() <= 2
    np.testing.assert_array_equal(callback._rows.x, review_windows(TOK, TEXTS, 3, 2).x)
