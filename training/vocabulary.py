"""Build the word index from training text (the write side of the tokenizer contract)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

from model_contract.tokenizer import TokenizerConfig, split_words


def build_word_index(texts: Iterable[str], config: TokenizerConfig) -> dict[str, int]:
    """Rank words by frequency (ties broken alphabetically, so the result is deterministic).

    Only words that can receive an id below ``num_words`` are kept; the rest are OOV anyway.
    """
    html_break = re.compile(config.html_break_pattern, re.IGNORECASE)
    word = re.compile(config.word_pattern)
    stop = frozenset(config.stopwords)
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(split_words(text, config, html_break, word, stop))
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    keep = config.num_words - config.index_from - 1
    return {w: rank for rank, (w, _) in enumerate(ranked[:keep], start=1)}
