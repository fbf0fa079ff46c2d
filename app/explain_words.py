"""A review's words as the tokenizer sees them, with where they stand in the text.

The tokenizer itself only yields ids (its fast path never builds word strings); explanations need
every word - stopwords too - with its character offsets, id and position in the id sequence. The
result is checked against ``Tokenizer.to_ids`` on every call, so it can never drift from what the
model is fed.
"""

from __future__ import annotations

import re
import weakref
from dataclasses import dataclass

from model_contract.tokenizer import Tokenizer


@dataclass(frozen=True)
class Word:
    """One word of the review as written, in order; ``position`` indexes the model's id sequence."""

    text: str
    start: int | None  # character offsets into the review (None if they could not be kept)
    end: int | None
    id: int | None  # None: a stopword the tokenizer drops
    position: int | None


_LOOKUPS: weakref.WeakKeyDictionary[Tokenizer, dict[str, int]] = weakref.WeakKeyDictionary()


def _lookup(tokenizer: Tokenizer) -> dict[str, int]:
    """word -> id for the kept vocabulary (the tokenizer's rule), built once per tokenizer."""
    table = _LOOKUPS.get(tokenizer)
    if table is None:
        cfg = tokenizer.config
        limit = cfg.num_words - cfg.index_from
        table = {w: r + cfg.index_from for w, r in tokenizer.word_index.items() if 0 < r < limit}
        _LOOKUPS[tokenizer] = table
    return table


def split_words(tokenizer: Tokenizer, text: str) -> list[Word]:
    """Every word of ``text`` (stopwords included) with its offsets, id and position.

    The kept ids must equal ``Tokenizer.to_ids`` - the model's input. Where lowercasing changes a
    text's length or letters (a few non-Latin ones), offsets are dropped and the words are split as
    the tokenizer's reference regex path splits them, so positions always match what the model saw.
    """
    cfg = tokenizer.config
    reference = tokenizer.to_ids(text)[0][1:]
    blanked = re.sub(cfg.html_break_pattern, lambda m: " " * len(m[0]), text, flags=re.IGNORECASE)
    for keep_offsets in (True, False):
        folded = blanked.lower() if cfg.lowercase else blanked
        if keep_offsets and len(folded) != len(text):
            continue
        words = _scan(tokenizer, text, folded, keep_offsets)
        if [w.id for w in words if w.position is not None] == reference:
            return words
    raise RuntimeError("explanation tokens differ from the tokenizer's ids")


def _scan(tokenizer: Tokenizer, text: str, folded: str, keep_offsets: bool) -> list[Word]:
    cfg = tokenizer.config
    stop, table, oov = frozenset(cfg.stopwords), _lookup(tokenizer), cfg.oov_id
    words: list[Word] = []
    position = 0
    for m in re.finditer(cfg.word_pattern, folded):
        token = m[0]
        start, end = (m.start(), m.end()) if keep_offsets else (None, None)
        shown = text[m.start() : m.end()] if keep_offsets else token
        if token in stop:
            words.append(Word(shown, start, end, None, None))
        else:
            position += 1
            words.append(Word(shown, start, end, table.get(token, oov), position))
    return words
