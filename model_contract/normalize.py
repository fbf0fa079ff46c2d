"""Unicode clean-up the tokenizer applies before it splits words (``TokenizerConfig.normalization``).

Text copied from the web carries characters a reader never sees but that split or hide words:
soft hyphens and zero-width spaces inside words, fullwidth letters, ligatures, and Cyrillic or
Greek look-alikes swapped into English words. Each of them turned a known word into two unknown
fragments, which pushed a clearly positive review to about 0.5.

``"nfkc"`` (new model versions) removes invisible format characters, applies NFKC, and maps
Cyrillic/Greek look-alike letters to their Latin twins inside words that are written mostly in
Latin letters. ``"none"`` (v1-v3) leaves the text as it is: those versions keep exactly the ids
they were trained with. The mode is part of the tokenizer's fingerprint, so a served model can
never be fed text cleaned another way than its training text.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

NORMALIZATIONS = ("none", "nfkc")

# Format characters with no glyph that appear inside words: soft hyphen, combining grapheme
# joiner, Mongolian vowel separator, zero-width space/non-joiner/joiner, word joiner, the invisible
# operators, and the byte-order mark used as a zero-width no-break space.
_INVISIBLE = dict.fromkeys(
    map(ord, "\u00ad\u034f\u180e\u200b\u200c\u200d\u2060\u2061\u2062\u2063\u2064\ufeff")
)

# Look-alikes of Latin letters (Unicode's confusables, the unambiguous ones only).
_CYRILLIC = "аеорсухіјѕԁһԛԝАВЕКМНОРСТХІЈЅ"  # noqa: RUF001 (the point)
_CYR_LATIN = "aeopcyxijsdhqwABEKMHOPCTXIJS"
_GREEK = "οαεινρκτυΑΒΕΖΗΙΚΜΝΟΡΤΥΧ"
_GREEK_LATIN = "oaeivpktuABEZHIKMNOPTYX"
_LOOKALIKE = str.maketrans(_CYRILLIC + _GREEK, _CYR_LATIN + _GREEK_LATIN)
_LOOKALIKE_CHARS = frozenset(_CYRILLIC + _GREEK)
# Presence checks by regex: ``str.translate`` with a dict and ``frozenset.isdisjoint`` walk a
# non-ASCII text in Python-object steps (~160 and ~30 us for a 2 KB review), a character class
# search in C (~5 us). The texts that hold none (nearly all) then skip both.
_INVISIBLE_SEARCH = re.compile("[" + "".join(map(chr, _INVISIBLE)) + "]").search
_LOOKALIKE_SEARCH = re.compile("[" + "".join(sorted(_LOOKALIKE_CHARS)) + "]").search
_WORD = re.compile(r"[^\W_]+")
_ASCII_LETTER = re.compile(r"[A-Za-z]")
_NON_LATIN_LETTER = re.compile(r"[^\W\d_A-Za-z\u00c0-\u024f]")


def nfkc(text: str) -> str:
    """Invisible characters removed, NFKC, look-alikes mapped back to Latin in Latin text."""
    if text.isascii():  # nothing to do, and the common case: one C-level check
        return text
    if _INVISIBLE_SEARCH(text) is not None:
        text = text.translate(_INVISIBLE)
    return _fold_lookalikes(unicodedata.normalize("NFKC", text))


def nfkc_with_offsets(text: str) -> tuple[str, list[int]]:
    """``nfkc`` character by character, with the index in ``text`` of each output character.

    For the offsets of the words ``/explain`` shows. It equals ``nfkc(text)`` unless NFKC composes
    across characters (a letter plus a combining accent); the caller checks the ids it gets.
    """
    pieces: list[str] = []
    offsets: list[int] = []
    for i, char in enumerate(text):
        piece = "" if ord(char) in _INVISIBLE else unicodedata.normalize("NFKC", char)
        pieces.append(piece)
        offsets.extend([i] * len(piece))
    return _fold_lookalikes("".join(pieces)), offsets  # the folding keeps every length


def _fold_lookalikes(text: str) -> str:
    if _LOOKALIKE_SEARCH(text) is None:
        return text
    # A text written mostly in Latin letters gets every look-alike mapped; one written mostly in
    # Cyrillic or Greek keeps them, except inside words that also hold a Latin letter.
    latin_text = len(_ASCII_LETTER.findall(text)) > len(_NON_LATIN_LETTER.findall(text))

    def fix(match: re.Match[str]) -> str:
        word = match[0]
        if _LOOKALIKE_CHARS.isdisjoint(word):
            return word
        if latin_text or _ASCII_LETTER.search(word):
            return word.translate(_LOOKALIKE)
        return word

    return _WORD.sub(fix, text)


def normalizer(mode: str) -> Callable[[str], str] | None:
    """The clean-up function of a ``TokenizerConfig.normalization`` mode (None: leave text as is)."""
    if mode not in NORMALIZATIONS:
        raise ValueError(f"normalization must be one of {NORMALIZATIONS}, not {mode!r}")
    return nfkc if mode == "nfkc" else None
