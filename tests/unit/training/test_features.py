"""training.features: whole-review windows and one-line sentence spans as training rows."""

from __future__ import annotations

import numpy as np
import pytest

from model_contract.tokenizer import PAD_ID, START_ID, Tokenizer, TokenizerConfig, window_starts
from training.features import (
    MIN_SPAN_TOKENS,
    last_window,
    review_windows,
    sentence_spans,
    windows,
)
from training.vocabulary import build_word_index

MAXLEN = 8


def words(prefix: str, n: int) -> str:
    return " ".join(f"{prefix}{k}" for k in range(n))


def tokenizer_for(texts: list[str], maxlen: int = MAXLEN) -> Tokenizer:
    config = TokenizerConfig(maxlen=maxlen, num_words=10_000, stopwords=())
    return Tokenizer(config, build_word_index(texts, config))


REVIEWS = [words("a", 3), words("b", 7), words("c", 20), words("d", 50)]
TOK = tokenizer_for(REVIEWS)


@pytest.mark.parametrize(("stride", "max_windows"), [(4, 5), (8, 32), (3, 1)])
def test_review_windows_are_the_serving_windows(stride: int, max_windows: int) -> None:
    rows = review_windows(TOK, REVIEWS, stride, max_windows)
    per_review = [TOK.encode_windows(t, stride, max_windows).rows for t in REVIEWS]
    np.testing.assert_array_equal(rows.x, np.concatenate(per_review))
    counts = [len(r) for r in per_review]
    np.testing.assert_array_equal(rows.review, np.repeat(np.arange(len(REVIEWS)), counts))
    assert rows.x.dtype == np.int32 and rows.x.shape == (sum(counts), MAXLEN)
    assert (rows.kind == 0).all() and len(rows.kind) == len(rows.x)
    assert max(counts) <= max_windows and counts[:2] == [1, 1]  # short reviews: one row
    # The first row of each review is what the seed fed the model: its last window.
    firsts = np.flatnonzero(np.diff(np.r_[-1, rows.review]))
    np.testing.assert_array_equal(rows.x[firsts], last_window(TOK, REVIEWS))


def test_review_windows_of_no_reviews() -> None:
    rows = review_windows(TOK, [], 4, 5)
    assert rows.x.shape == (0, MAXLEN) and rows.review.shape == (0,) and rows.kind.shape == (0,)


def test_last_window_is_the_encoded_batch() -> None:
    np.testing.assert_array_equal(last_window(TOK, REVIEWS), TOK.encode_batch(REVIEWS))


def test_label_windows_cut_without_overlap_and_carry_the_label() -> None:
    x, y = windows(TOK, REVIEWS, [0, 1, 0, 1], max_windows=3)
    expected = [
        len(window_starts(len(TOK.to_ids(t)[0]), MAXLEN, MAXLEN, 3)) for t in REVIEWS
    ]  # stride = maxlen: the v2 recipe's windows do not overlap
    assert expected == [1, 1, 3, 3]
    np.testing.assert_array_equal(y, np.repeat([0, 1, 0, 1], expected))
    assert x.shape == (sum(expected), MAXLEN) and x.dtype == np.int32
    assert not (x == PAD_ID).all(axis=1).any()
    with pytest.raises(ValueError, match="max_windows"):
        windows(TOK, REVIEWS, [0, 1, 0, 1], max_windows=0)
    with pytest.raises(ValueError, match="shorter"):  # zip(strict=True): one label per text
        windows(TOK, REVIEWS, [0, 1], max_windows=3)


# --- sentence spans ---------------------------------------------------------------------------
# Review r, sentence k: four words unique to it, so a span's ids say which sentences it joined.
SENTENCES = [[f"r{r}s{k}w{j}" for j in range(4)] for r in range(3) for k in range(5)]
ENDS = [". ", "<BR>", "! ", "<br /><br />", "? "]


def review(r: int) -> str:
    return "".join(" ".join(SENTENCES[r * 5 + k]).capitalize() + ENDS[k] for k in range(5)).strip()


SPAN_TEXTS = [review(r) for r in range(3)]
SPAN_TOK = tokenizer_for(SPAN_TEXTS, maxlen=20)


def sentence_ids(r: int, k: int) -> list[int]:
    return SPAN_TOK.to_ids(" ".join(SENTENCES[r * 5 + k]))[0][1:]


def test_spans_are_runs_of_whole_sentences_of_their_own_review() -> None:
    spans = sentence_spans(SPAN_TOK, SPAN_TEXTS, per_review=40, seed=0)
    assert (spans.kind == 1).all() and spans.x.shape[1] == 20
    found = set()
    for row, r in zip(spans.x, spans.review, strict=True):
        ids = [int(i) for i in row if i != PAD_ID]
        assert ids[0] == START_ID  # tokenized on its own, exactly as a one-line request
        runs = {
            (k, n): [i for j in range(n) for i in sentence_ids(int(r), k + j)]
            for k in range(5)
            for n in (1, 2, 3)
            if k + n <= 5
        }
        match = [kn for kn, run in runs.items() if run == ids[1:]]
        assert match, f"row {ids} is not 1-3 consecutive sentences of review {r}"
        found.add(match[0])
    assert {n for _, n in found} == {1, 2, 3}  # single sentences and runs of two and three
    # Every sentence stands alone at least once: ". ", "! ", "? ", "<br /><br />" and "<BR>"
    # all end a sentence.
    assert {k for k, n in found if n == 1} == set(range(5))
    assert sorted(set(spans.review.tolist())) == [0, 1, 2]


def test_spans_are_seeded() -> None:
    a = sentence_spans(SPAN_TOK, SPAN_TEXTS, per_review=6, seed=1)
    b = sentence_spans(SPAN_TOK, SPAN_TEXTS, per_review=6, seed=1)
    c = sentence_spans(SPAN_TOK, SPAN_TEXTS, per_review=6, seed=2)
    np.testing.assert_array_equal(a.x, b.x)
    np.testing.assert_array_equal(a.review, b.review)
    assert not np.array_equal(a.x, c.x)


def test_spans_too_short_are_skipped() -> None:
    texts = ["Hi. Ok.", "", "   ", "Fine!"]  # at most two words in any span
    tok = tokenizer_for(texts)
    spans = sentence_spans(tok, texts, per_review=10, seed=0)
    assert spans.x.shape == (0, MAXLEN) and len(spans.review) == 0
    long_enough = sentence_spans(tok, [*texts, "One two three."], per_review=3, seed=0)
    assert long_enough.review.tolist() == [4, 4, 4]
    assert ((long_enough.x != PAD_ID).sum(axis=1) - 1 >= MIN_SPAN_TOKENS).all()


def test_spans_are_capped_at_maxlen() -> None:
    text = " ".join(f"w{k}" for k in range(30)) + "."
    tok = tokenizer_for([text])
    spans = sentence_spans(tok, [text], per_review=2, seed=0)
    np.testing.assert_array_equal(spans.x, np.stack([tok.encode(text).ids] * 2))
