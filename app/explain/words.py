"""A review's words as the tokenizer sees them, with where they stand in the text, and the
per-word answer ``/explain`` returns.

The tokenizer itself only yields ids (its fast path never builds word strings); explanations need
every word - stopwords too - with its character offsets, id and position in the id sequence. The
result is checked against ``Tokenizer.to_ids`` on every call, so it can never drift from what the
model is fed. (Named tuples, not dataclasses: a long review has hundreds of words per request.)
"""

from __future__ import annotations

import re
import weakref
from dataclasses import dataclass
from itertools import accumulate, repeat
from typing import Literal, NamedTuple, TypedDict

import numpy as np
import numpy.typing as npt

from model_contract.normalize import nfkc_with_offsets
from model_contract.readability import Reason
from model_contract.tokenizer import Tokenizer

Status = Literal["scored", "oov", "stopword", "not_scored", "not_explained"]


class Word(NamedTuple):
    """One word of the review as written, in order; ``position`` indexes the model's id sequence."""

    text: str
    start: int | None  # character offsets into the review (None if they could not be kept)
    end: int | None
    id: int | None  # None: a stopword the tokenizer drops
    position: int | None


_LOOKUPS: weakref.WeakKeyDictionary[Tokenizer, dict[str, int | None]] = weakref.WeakKeyDictionary()


def _lookup(tokenizer: Tokenizer) -> dict[str, int | None]:
    """word -> id for the kept vocabulary (the tokenizer's rule), stopwords -> None; built once
    per tokenizer."""
    table = _LOOKUPS.get(tokenizer)
    if table is None:
        cfg = tokenizer.config
        limit = cfg.num_words - cfg.index_from
        kept = {w: r + cfg.index_from for w, r in tokenizer.word_index.items() if 0 < r < limit}
        table = {**kept, **dict.fromkeys(cfg.stopwords)}
        _LOOKUPS[tokenizer] = table
    return table


def split_words(tokenizer: Tokenizer, text: str) -> list[Word]:
    """Every word of ``text`` (stopwords included) with its offsets, id and position.

    The kept ids must equal ``Tokenizer.to_ids`` - the model's input. A version's Unicode clean-up
    is applied character by character so each word keeps its offsets in the text as sent. Where
    that or lowercasing changes the words (a few non-Latin letters, composed accents), offsets are
    dropped and the words are split as the tokenizer's reference path splits them, so positions
    always match what the model saw.
    """
    cfg = tokenizer.config
    reference = tokenizer.to_ids(text)[0][1:]
    offsets: list[int] | None = None  # index in ``text`` of each character of ``clean``
    clean = text
    if cfg.normalization == "nfkc" and not text.isascii():
        clean, offsets = nfkc_with_offsets(text)
    for keep_offsets in (True, False):
        if not keep_offsets:  # the tokenizer's own clean-up, words without offsets
            clean, offsets = tokenizer.normalize(text), None
        blanked = re.sub(
            cfg.html_break_pattern, lambda m: " " * len(m[0]), clean, flags=re.IGNORECASE
        )
        folded = blanked.lower() if cfg.lowercase else blanked
        if keep_offsets and len(folded) != len(clean):
            continue
        words = _scan(tokenizer, text, folded, keep_offsets, offsets)
        if [w.id for w in words if w.position is not None] == reference:
            return words
    raise RuntimeError("explanation tokens differ from the tokenizer's ids")


def _scan(
    tokenizer: Tokenizer, text: str, folded: str, keep_offsets: bool, offsets: list[int] | None
) -> list[Word]:
    cfg = tokenizer.config
    spans = [m.span() for m in re.finditer(cfg.word_pattern, folded)]
    tokens = [folded[a:b] for a, b in spans]
    ids = list(map(_lookup(tokenizer).get, tokens, repeat(cfg.oov_id)))  # None: a stopword
    kept = accumulate(i is not None for i in ids)
    positions = [p if i is not None else None for p, i in zip(kept, ids, strict=True)]
    if not keep_offsets:
        return list(map(Word._make, zip(tokens, repeat(None), repeat(None), ids, positions)))
    if offsets is not None:  # back from the cleaned text to the text as sent
        spans = [(offsets[a], offsets[b - 1] + 1) for a, b in spans]
    shown = [text[a:b] for a, b in spans]
    starts, ends = [a for a, _ in spans], [b for _, b in spans]
    return list(map(Word._make, zip(shown, starts, ends, ids, positions, strict=True)))


class TokenExplanation(TypedDict):
    """One word of the answer, exactly as it goes on the wire (``schemas.TokenExplanation``)."""

    text: str
    start: int | None
    end: int | None
    id: int | None
    in_vocabulary: bool
    status: Status
    contribution: float | None  # log-odds
    probability_change: float | None


class ExplainResponseDict(TypedDict):
    """The ``/explain`` answer as serialized (``schemas.ExplainResponse`` documents it)."""

    label: Literal["positive", "negative"]
    probability: float
    windows: int
    readable: bool
    reason: Reason | None
    coverage: float
    language: str | None
    model_version: str
    scoring: Literal["whole", "last"]
    method: Literal["occlusion", "gradient"]
    baseline: Literal["remove", "oov"]
    unit: Literal["logit"]
    logit: float
    rows: int
    explained_words: int
    tokens: list[TokenExplanation]


@dataclass(frozen=True)
class Explanation:
    probability: float
    logit: float  # calibrated log-odds of the review (``probability`` = its sigmoid)
    tokens: list[TokenExplanation]
    windows: int
    rows: int
    explained_words: int


def assemble(
    words: list[Word],
    positions: npt.NDArray[np.intp],
    contributions: npt.NDArray[np.float64],
    probability: float,
    review_logit: float,
    *,
    seen: npt.NDArray[np.bool_],
    oov_id: int,
    windows: int,
    rows: int,
) -> Explanation:
    """Every word with its status and, for ``positions``, its contribution (log-odds) and the
    matching change in P(positive): ``probability`` - sigmoid(``review_logit`` - contribution)."""
    without = review_logit - contributions
    p_without = 0.5 * (1.0 + np.tanh(0.5 * without))  # the sigmoid, without overflow
    by_position = dict(
        zip(
            positions.tolist(),
            zip(contributions.tolist(), (probability - p_without).tolist(), strict=True),
            strict=True,
        )
    )
    seen_list = seen.tolist()
    tokens: list[TokenExplanation] = []
    for w in words:
        status: Status
        c = dp = None
        if w.position is None:
            status = "stopword"
        elif not seen_list[w.position]:
            status = "not_scored"
        elif w.id == oov_id:
            status = "oov"
        elif w.position in by_position:
            status = "scored"
            c, dp = by_position[w.position]
        else:
            status = "not_explained"
        tokens.append(
            {
                "text": w.text,
                "start": w.start,
                "end": w.end,
                "id": w.id,
                "in_vocabulary": w.id is not None and w.id != oov_id,
                "status": status,
                "contribution": c,
                "probability_change": dp,
            }
        )
    return Explanation(probability, review_logit, tokens, windows, rows, len(by_position))
