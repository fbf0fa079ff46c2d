"""The one tokenizer shared by training and serving.

Everything that decides which integer ids a review becomes lives here, and every parameter that
influences it is part of :class:`TokenizerConfig`, whose fingerprint ships inside the model artifact.
The service refuses to start when the artifact's fingerprint differs from the one this code computes,
so a change to this module can never silently skew served predictions away from training.

Id conventions follow ``keras.datasets.imdb``: 0 = padding, 1 = start of review, 2 = out of
vocabulary, word of frequency rank ``r`` (1 = most frequent) -> id ``r + 3``; only ids below
``num_words`` are kept. Sequences are padded and truncated at the front ('pre'), exactly like
``keras.utils.pad_sequences`` defaults, so the *last* ``maxlen`` ids of a review are what the model sees.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from itertools import repeat

import numpy as np
import numpy.typing as npt

from model_contract.latin1 import Latin1Words, is_latin1
from model_contract.normalize import normalizer
from model_contract.windows import pad_sequence as pad_sequence  # re-exported: the contract
from model_contract.windows import window_starts as window_starts

# Bump when the *behaviour* of this module changes in a way the config fields do not capture.
TOKENIZER_VERSION = 2

PAD_ID = 0
START_ID = 1
OOV_ID = 2
INDEX_FROM = 3

DEFAULT_WORD_PATTERN = r"[^\W_]+(?:'[^\W_]+)*"

# Frequent function words that carry no sentiment. Dropping them lets the 80-token window cover
# more of the review. Negations and contrast words ("not", "no", "but", "never", ...) are
# deliberately absent: they flip or qualify sentiment and must reach the model.
DEFAULT_STOPWORDS: tuple[str, ...] = (
    "the", "a", "an", "and", "of", "to", "is", "in", "it", "this", "that", "i", "was", "as",
    "with", "for", "on", "are", "be", "his", "her", "he", "she", "by", "at", "from", "they",
    "have", "has", "one", "all", "who", "so", "you", "its", "it's", "there", "about", "their",
    "what", "or", "if", "some", "just", "can", "out", "up", "been", "were", "which", "would",
    "do", "me", "my", "him", "them", "we", "had", "will", "when", "than", "into", "also",
    "then", "these", "those", "our", "your", "does", "did", "being", "am", "us",
)  # fmt: skip


@dataclass(frozen=True)
class TokenizerConfig:
    """Every parameter that influences the ids a text becomes."""

    num_words: int = 20_000
    maxlen: int = 80
    lowercase: bool = True
    html_break_pattern: str = r"<br\s*/?>"
    word_pattern: str = DEFAULT_WORD_PATTERN
    stopwords: tuple[str, ...] = field(default=DEFAULT_STOPWORDS)
    padding: str = "pre"
    truncating: str = "pre"
    pad_id: int = PAD_ID
    start_id: int = START_ID
    oov_id: int = OOV_ID
    index_from: int = INDEX_FROM
    version: int = TOKENIZER_VERSION
    # Unicode clean-up before splitting (model_contract/normalize.py): "none" for v1-v3, "nfkc" for
    # newer versions. Left out of the serialized config when "none", so the fingerprints of the
    # versions trained before it existed are unchanged.
    normalization: str = "none"

    def __post_init__(self) -> None:
        if self.num_words <= self.index_from:
            raise ValueError(f"num_words must exceed index_from={self.index_from}")
        if self.maxlen < 1:
            raise ValueError("maxlen must be positive")
        if self.padding not in ("pre", "post") or self.truncating not in ("pre", "post"):
            raise ValueError("padding and truncating must be 'pre' or 'post'")
        normalizer(self.normalization)  # raises ValueError for an unknown mode

    def to_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["stopwords"] = sorted(set(self.stopwords))
        if self.normalization == "none":
            del data["normalization"]
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> TokenizerConfig:
        values = dict(data)
        values["stopwords"] = tuple(values.get("stopwords", ()))  # type: ignore[arg-type]
        return cls(**values)  # type: ignore[arg-type]

    def fingerprint(self) -> str:
        canonical = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


def word_index_sha256(word_index: Mapping[str, int]) -> str:
    canonical = json.dumps(dict(sorted(word_index.items())), separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class Encoded:
    """One review as model input plus the statistics the service exports as metrics."""

    ids: npt.NDArray[np.int32]  # shape (maxlen,)
    n_tokens: int  # words before truncation (start token excluded)
    n_oov: int


@dataclass(frozen=True)
class Windows:
    """One review as several model rows (whole-review scoring)."""

    rows: npt.NDArray[np.int32]  # shape (k, maxlen), k >= 1; rows[0] is the last window
    n_tokens: int
    n_oov: int


class Tokenizer:
    """Text -> words -> ids -> fixed-length int32 rows."""

    def __init__(self, config: TokenizerConfig, word_index: Mapping[str, int]) -> None:
        self.config = config
        self.word_index = dict(word_index)
        self._html_break = re.compile(config.html_break_pattern, re.IGNORECASE)
        self._word = re.compile(config.word_pattern)
        self._stopwords = frozenset(config.stopwords)
        self._normalize = normalizer(config.normalization)
        # Every match of the default break pattern starts with "<" (checked only for that one).
        self._break_starts_lt = config.html_break_pattern == r"<br\s*/?>"
        # Precompute word -> id once: the hot path is then one dict lookup per word. Stopwords map
        # to 0 (never a word's id, and falsy) so one C-level ``filter(None, ...)`` drops them.
        limit = config.num_words - config.index_from
        self._ids = {w: r + config.index_from for w, r in word_index.items() if 0 < r < limit}
        self._ids_or_stop = {**self._ids, **dict.fromkeys(self._stopwords, 0)}
        self._latin1 = (
            Latin1Words(config.lowercase) if config.word_pattern == DEFAULT_WORD_PATTERN else None
        )
        self._offsets = np.arange(config.maxlen)  # a window's positions, for cutting windows
        self._latin1_ids = {
            w.encode("latin-1"): i for w, i in self._ids_or_stop.items() if is_latin1(w)
        }

    @property
    def vocabulary_size(self) -> int:
        return len(self._ids)

    def normalize(self, text: str) -> str:
        """The text as the word splitter sees it (Unicode clean-up of the config, if any)."""
        return self._normalize(text) if self._normalize is not None else text

    def words(self, text: str) -> list[str]:
        return split_words(text, self.config, self._html_break, self._word, self._stopwords)

    def _tokens(self, text: str) -> list[int]:
        """Ids of the kept words (no start token): ``split_words`` + lookup, loops run in C."""
        if self._normalize is not None:
            text = self._normalize(text)
        if self._break_starts_lt is False or "<" in text:  # no "<": the sub cannot match
            text = self._html_break.sub(" ", text)
        oov = repeat(self.config.oov_id)
        words = self._latin1.split(text) if self._latin1 is not None else None
        if words is not None:  # 99.9 % of IMDB reviews are Latin-1: same words, ~2x faster
            return list(filter(None, map(self._latin1_ids.get, words, oov)))
        if self.config.lowercase:
            text = text.lower()
        return list(filter(None, map(self._ids_or_stop.get, self._word.findall(text), oov)))

    def to_ids(self, text: str) -> tuple[list[int], int]:
        """Unpadded ids (start token first) and the number of out-of-vocabulary words."""
        tokens = self._tokens(text)
        return [self.config.start_id, *tokens], tokens.count(self.config.oov_id)

    def encode(self, text: str) -> Encoded:
        tokens = self._tokens(text)
        n_tokens, n_oov = len(tokens), tokens.count(self.config.oov_id)
        config = self.config
        if config.padding == "pre" and config.truncating == "pre":
            # Same row as pad_sequence([start_id, *tokens]) without building the full list.
            maxlen = config.maxlen
            kept = tokens[-maxlen:] if n_tokens >= maxlen else [config.start_id, *tokens]
            row = np.full(maxlen, config.pad_id, dtype=np.int32)
            row[maxlen - len(kept) :] = kept
        else:
            row = pad_sequence([config.start_id, *tokens], config)
        return Encoded(ids=row, n_tokens=n_tokens, n_oov=n_oov)

    def encode_windows(self, text: str, stride: int, max_windows: int) -> Windows:
        """Every ``maxlen`` window of the review (see :func:`window_starts`), last window first.

        The first row is exactly ``encode(text).ids`` (the seed's input); a review of at most
        ``maxlen`` ids is that one row.
        """
        tokens = self._tokens(text)
        n_tokens, n_oov = len(tokens), tokens.count(self.config.oov_id)
        config, maxlen = self.config, self.config.maxlen
        if n_tokens < maxlen or config.truncating != "pre":
            return Windows(
                pad_sequence([config.start_id, *tokens], config)[None, :], n_tokens, n_oov
            )
        # One int32 array of the review's ids, windows cut from it by one fancy index: no
        # per-window Python lists (same rows as slicing ``[start_id, *tokens]``).
        ids = np.empty(n_tokens + 1, dtype=np.int32)
        ids[0] = config.start_id
        ids[1:] = tokens
        starts = window_starts(n_tokens + 1, maxlen, stride, max_windows)
        return Windows(ids[np.add.outer(starts, self._offsets)], n_tokens, n_oov)

    def encode_batch(self, texts: Sequence[str]) -> npt.NDArray[np.int32]:
        if not texts:
            return np.zeros((0, self.config.maxlen), dtype=np.int32)
        return np.stack([self.encode(t).ids for t in texts])


def split_words(
    text: str,
    config: TokenizerConfig,
    html_break: re.Pattern[str] | None = None,
    word: re.Pattern[str] | None = None,
    stopwords: frozenset[str] | None = None,
) -> list[str]:
    html_break = html_break or re.compile(config.html_break_pattern, re.IGNORECASE)
    word = word or re.compile(config.word_pattern)
    stop = stopwords if stopwords is not None else frozenset(config.stopwords)
    clean = normalizer(config.normalization)
    if clean is not None:
        text = clean(text)
    text = html_break.sub(" ", text)
    if config.lowercase:
        text = text.lower()
    return [w for w in word.findall(text) if w not in stop]
