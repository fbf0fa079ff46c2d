"""Turn tokenized reviews into training rows: whole-review windows and sentence-like short spans."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from model_contract.tokenizer import Tokenizer, pad_sequence, window_starts

# Sentence ends for cutting one-line spans out of reviews (the tokenizer drops punctuation, so
# spans are cut from the raw text and tokenized on their own, exactly as a one-line request is).
SENTENCE_END = re.compile(r"(?<=[.!?])\s+|<br\s*/?>", re.IGNORECASE)
MIN_SPAN_TOKENS = 3


def last_window(tokenizer: Tokenizer, texts: Sequence[str]) -> npt.NDArray[np.int32]:
    """What the seed fed the model: the last ``maxlen`` ids of each review."""
    return tokenizer.encode_batch(texts)


@dataclass(frozen=True)
class Rows:
    x: npt.NDArray[np.int32]  # (n, maxlen)
    review: npt.NDArray[np.int64]  # index of the review each row came from
    kind: npt.NDArray[np.int8]  # 0 = window of the review, 1 = short span


def review_windows(
    tokenizer: Tokenizer, texts: Sequence[str], stride: int, max_windows: int
) -> Rows:
    """Every serving window of every review (``Tokenizer.encode_windows``, same cut)."""
    rows, owner = [], []
    for i, text in enumerate(texts):
        w = tokenizer.encode_windows(text, stride, max_windows)
        rows.append(w.rows)
        owner.extend([i] * len(w.rows))
    x = np.concatenate(rows) if rows else np.zeros((0, tokenizer.config.maxlen), np.int32)
    return Rows(x, np.asarray(owner, dtype=np.int64), np.zeros(len(x), np.int8))


def windows(
    tokenizer: Tokenizer, texts: Sequence[str], labels: Sequence[int], max_windows: int
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int32]]:
    """Up to ``max_windows`` windows per review with the review's label (the v2 recipe)."""
    if max_windows < 1:
        raise ValueError("max_windows must be >= 1")
    maxlen = tokenizer.config.maxlen
    rows: list[npt.NDArray[np.int32]] = []
    ys: list[int] = []
    for text, label in zip(texts, labels, strict=True):
        ids, _ = tokenizer.to_ids(text)
        for start in window_starts(len(ids), maxlen, maxlen, max_windows):
            rows.append(pad_sequence(ids[start : start + maxlen], tokenizer.config))
            ys.append(label)
    return np.stack(rows), np.asarray(ys, dtype=np.int32)


def sentence_spans(tokenizer: Tokenizer, texts: Sequence[str], per_review: int, seed: int) -> Rows:
    """Up to ``per_review`` random sentences (or runs of sentences) of each review, as one-liners.

    Each span is tokenized on its own - start token, pre-padding - so it is exactly the row a
    one-sentence request becomes. Spans shorter than ``MIN_SPAN_TOKENS`` kept words are skipped;
    spans are capped at ``maxlen`` ids.
    """
    rng = np.random.default_rng(seed)
    rows, owner = [], []
    for i, text in enumerate(texts):
        sentences = [s for s in SENTENCE_END.split(text) if s and not s.isspace()]
        if not sentences:
            continue
        for _ in range(per_review):
            start = int(rng.integers(len(sentences)))
            length = 1 if rng.random() < 0.6 else int(rng.integers(2, 4))
            span = " ".join(sentences[start : start + length])
            enc = tokenizer.encode(span)
            if enc.n_tokens >= MIN_SPAN_TOKENS:
                rows.append(enc.ids)
                owner.append(i)
    x = np.stack(rows) if rows else np.zeros((0, tokenizer.config.maxlen), np.int32)
    return Rows(x, np.asarray(owner, dtype=np.int64), np.ones(len(x), np.int8))
