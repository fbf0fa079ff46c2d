"""Can the model read this text? A per-text verdict the service, /explain and the batch CLI share.

The model knows 20,000 English words. A text in another language, gibberish, emoji, code or a
URL still gets a label and a probability, but they are guesses: this module says so, with a
reason. Three signals, cheapest first:

* the text's shape: no letters at all (symbols, emoji, numbers, a bare URL), or code/markup;
* vocabulary coverage, from the tokenizer's own counts (``n_tokens``, ``n_oov``): the share of the
  words the model reads that it knows. Stopwords are dropped by the tokenizer before counting, so
  they are neither known nor unknown here: "not bad at all" is 2 words read, 2 known;
* a language identifier (``model_contract.language``), asked only about texts whose coverage is
  under ``CHECK_LANGUAGE_BELOW`` - an English text whose words the model mostly knows needs no
  detector (99.6 % of the IMDB test reviews) - and only when English function words are rare in
  them: a text of which at least ``ENGLISH_STOPWORDS_MIN`` of the words are English stopwords
  ("the", "to", "with", ...) is English with foreign words in it ("Great food, merci beaucoup to
  the chef!"), whatever the identifier makes of its other words.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from model_contract.tokenizer import TokenizerConfig, split_words

Reason = Literal[
    "no_words", "code_or_markup", "not_english", "only_stopwords", "no_known_words", "low_coverage"
]
# The documented set, in the order the checks run (the first that applies is the reason).
REASONS: dict[Reason, str] = {
    "no_words": "no letters: only symbols, emoji, numbers or a URL",
    "code_or_markup": "looks like code or markup, not prose",
    "not_english": "another language (see 'language'); the model reads English only",
    "only_stopwords": "only words the model drops (the, it, is, ...): it reads nothing",
    "no_known_words": "none of the words is in the model's vocabulary (e.g. 'meh', gibberish)",
    "low_coverage": "the model knows too few of the words (under a quarter, or under half "
    "with no English function word)",
}
# Below: low_coverage. The lowest of the 25,000 IMDB test reviews is 0.59, of the behavioural suite
# 0.33 ("i luved this movie, it was grat": 1 of its 3 read words is known).
MIN_COVERAGE = 0.25
CHECK_LANGUAGE_BELOW = 0.8  # the detector is asked only under this coverage (92 of 25,000 IMDB)
ENGLISH_STOPWORDS_MIN = 0.25  # mixed mostly-English texts: 0.27-0.50; other languages: 0-0.22
# ... and at least this many of them: in a four-word Portuguese or Hungarian sentence one "do" or
# "a" is already a quarter of the words.
ENGLISH_STOPWORDS_COUNT = 2
# Under this coverage, a text of at least MIN_WORDS_UNSURE words read with no English stopword at
# all is low_coverage even when the identifier is unsure ("Bellissimo film, attori bravissimi":
# 0.25, fastText torn between English and Italian at 0.34 each). English texts this short in
# coverage carry function words ("i luved this movie, it was grat": 0.33, four of them).
UNSURE_COVERAGE = 0.5
MIN_WORDS_UNSURE = 3
# Code and markup punctuation; "_" (rules like "_____") and "*" (star ratings) are prose too.
CODE_CHARS = "{}[]=;|\\^~`<>"
MIN_CODE_CHARS, MIN_CODE_SHARE = 3, 0.05
_LETTER = re.compile(r"[^\W\d_]")
_URL = re.compile(r"(?:\b[a-z][a-z0-9+.-]*://|\bwww\.|\bmailto:)\S*|\S+@\S+\.\w+", re.IGNORECASE)
_CODE_BYTES = CODE_CHARS.encode()
# One-line code with few code characters: SQL, a Python statement, a shell prompt. Anchored at the
# start and case-sensitive, so prose that begins "Select scenes from..." or "Import..." is left alone.
_CODE_LINE = re.compile(
    r"\s*(?:(?:SELECT|INSERT|UPDATE|DELETE)\s.*\b(?:FROM|INTO|SET|WHERE)\b"
    r"|def \w+\(|class \w+[(:]|import [\w.]+(?: as \w+)?\s*(?:;|$)|from [\w.]+ import \w"
    r"|print\(|\$ [a-z])"
)
MAX_CODE_LINE = 200  # characters: the one-line patterns are asked only of texts this short


@dataclass(frozen=True, slots=True)
class Readability:
    readable: bool
    reason: Reason | None  # None when readable
    coverage: float  # known / read words, 0.0 when the model reads no word
    language: str | None  # ISO 639-1 code when the identifier ran, else None


def coverage(n_tokens: int, n_oov: int) -> float:
    """Share of the words the model reads (stopwords excluded) that are in its vocabulary."""
    return (n_tokens - n_oov) / n_tokens if n_tokens else 0.0


def shape_reason(text: str) -> Reason | None:
    """``no_words`` or ``code_or_markup`` from the characters alone, else None.

    Cost: C-level scans only (``in``, one regex search that stops at the first letter, one
    ``bytes.translate``), ~3 us for a 1,300-character review; the URL regex runs only on texts
    that hint at one.
    """
    if "@" in text or "://" in text or "www." in text:
        text = _URL.sub(" ", text)
    if _LETTER.search(text) is None:
        return "no_words"
    first = text[0] if not text[0].isspace() else text.lstrip()[:1]
    last = text[-1] if not text[-1].isspace() else text.rstrip()[-1:]
    if first in ("{", "[") and last in ("}", "]"):  # JSON, a list, a code block
        return "code_or_markup"
    if len(text) <= MAX_CODE_LINE and "\n" not in text.strip() and _CODE_LINE.match(text):
        return "code_or_markup"
    raw = text.encode("utf-8", "surrogatepass")
    code = len(raw) - len(raw.translate(None, _CODE_BYTES))
    if code >= MIN_CODE_CHARS:
        # An HTML line break is how IMDB reviews separate paragraphs: its < and > are prose.
        code -= 2 * raw.count(b"<br")
        if code >= MIN_CODE_CHARS and code >= MIN_CODE_SHARE * len(text):
            return "code_or_markup"
    return None


def needs_language(text_reason: Reason | None, n_tokens: int, n_oov: int) -> bool:
    """Whether the language identifier decides this text (see the module docstring)."""
    return text_reason is None and coverage(n_tokens, n_oov) < CHECK_LANGUAGE_BELOW


def assess(
    text: str, n_tokens: int, n_oov: int, language: str | None = None, *, shape: bool = True
) -> Readability:
    """The verdict for one text from its tokenizer counts and, if it ran, the identifier's answer.

    ``shape=False``: ``shape_reason`` was already applied by the caller (and found nothing).
    """
    cov = coverage(n_tokens, n_oov)
    reason = shape_reason(text) if shape else None
    if reason is None:
        if language is not None and language != "en" and cov < CHECK_LANGUAGE_BELOW:
            reason = "not_english"
        elif n_tokens == 0:
            reason = "only_stopwords"
        elif cov == 0.0:
            reason = "no_known_words"
        elif cov < MIN_COVERAGE:
            reason = "low_coverage"
    return Readability(reason is None, reason, cov, language)


def stopword_share(text: str, n_tokens: int, config: TokenizerConfig) -> float:
    """Share of the text's words that are stopwords (the tokenizer kept ``n_tokens`` of them)."""
    n_words = len(split_words(text, config, stopwords=frozenset()))
    return (n_words - n_tokens) / n_words if n_words else 0.0


def stopword_count(text: str, n_tokens: int, config: TokenizerConfig) -> int:
    """How many of the text's words are stopwords (English function words the tokenizer drops)."""
    return len(split_words(text, config, stopwords=frozenset())) - n_tokens


def _english_words_settle_it(text: str, n_tokens: int, config: TokenizerConfig) -> bool:
    n_stop = stopword_count(text, n_tokens, config)
    n_words = n_stop + n_tokens
    return n_stop >= ENGLISH_STOPWORDS_COUNT and n_stop >= ENGLISH_STOPWORDS_MIN * n_words


Identify = Callable[[str], str]  # text -> ISO 639-1 code, '' when unsure (language.py)


def decide(
    texts: Sequence[str],
    counts: Sequence[tuple[int, int]],
    config: TokenizerConfig,
    identify: Identify | None,
    shapes: Sequence[Reason | None] | None = None,
) -> list[Readability]:
    """Every text's verdict from its (n_tokens, n_oov); the identifier is called only for the
    texts that need it (none: ``identify=None``). ``shapes``: ``shape_reason`` of each, if known.

    Blocking (the identifier takes ~20-100 us a text): the service runs it in a worker thread.
    """
    verdicts = []
    for i, (text, (n, oov)) in enumerate(zip(texts, counts, strict=True)):
        shape = shape_reason(text) if shapes is None else shapes[i]
        if shape is not None:
            verdicts.append(Readability(False, shape, coverage(n, oov), None))
            continue
        language = None
        if needs_language(shape, n, oov) and not _english_words_settle_it(text, n, config):
            language = identify(text) or None if identify is not None else None
            if (
                language is None
                and 0 < coverage(n, oov) < UNSURE_COVERAGE
                and n >= MIN_WORDS_UNSURE
                and stopword_count(text, n, config) == 0
            ):
                verdicts.append(Readability(False, "low_coverage", coverage(n, oov), None))
                continue
        verdicts.append(assess(text, n, oov, language, shape=False))
    return verdicts
