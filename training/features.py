"""Turn tokenized reviews into model inputs, including the multi-window augmentation."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from app.tokenizer import Tokenizer, pad_sequence


def last_window(tokenizer: Tokenizer, texts: Sequence[str]) -> npt.NDArray[np.int32]:
    """What the service feeds the model: the last ``maxlen`` ids of each review."""
    return tokenizer.encode_batch(texts)


def windows(
    tokenizer: Tokenizer, texts: Sequence[str], labels: Sequence[int], max_windows: int
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int32]]:
    """Up to ``max_windows`` non-overlapping ``maxlen`` windows per review, walking back from the end.

    The first window is exactly the serving input; earlier windows are extra training examples with
    the review's label (an 80-token slice of a positive review still reads positive, mostly).
    """
    if max_windows < 1:
        raise ValueError("max_windows must be >= 1")
    maxlen = tokenizer.config.maxlen
    rows: list[npt.NDArray[np.int32]] = []
    ys: list[int] = []
    for text, label in zip(texts, labels, strict=True):
        ids, _ = tokenizer.to_ids(text)
        end = len(ids)
        for _ in range(max_windows):
            rows.append(pad_sequence(ids[max(0, end - maxlen) : end], tokenizer.config))
            ys.append(label)
            end -= maxlen
            if end <= maxlen // 2:  # a short leftover would be mostly padding: skip it
                break
    return np.stack(rows), np.asarray(ys, dtype=np.int32)
