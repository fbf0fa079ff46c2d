"""The tokenizer's fast path for Latin-1 text (99.9 % of IMDB reviews): bytes, no regex engine."""

from __future__ import annotations


class Latin1Words:
    """``DEFAULT_WORD_PATTERN.findall`` for Latin-1 text, as bytes, without the regex engine.

    One ``bytes.translate`` lowercases and turns every byte that is neither alphanumeric nor an
    apostrophe into a space; apostrophes not between two alphanumerics (the only ones the pattern
    keeps) become spaces too; ``split()`` then yields exactly the pattern's matches. The regex
    path stays the reference: tests compare both on every review of the committed sample and on
    adversarial strings.
    """

    def __init__(self, lowercase: bool) -> None:
        table = bytearray(b" " * 256)
        for byte in range(256):  # every Latin-1 char lowercases to one Latin-1 char
            char = chr(byte).lower() if lowercase else chr(byte)
            if (char.isalnum() and char != "_") or char == "'":
                table[byte] = ord(char)
        self._table = bytes(table)

    def split(self, text: str) -> list[bytes] | None:
        """The words, or None when ``text`` is not Latin-1 (the caller then uses the regex)."""
        try:
            data = text.encode("latin-1").translate(self._table)
        except UnicodeEncodeError:
            return None
        if b"'" in data:
            # Pairs first, so no two apostrophes touch; then any apostrophe next to a space
            # (the padding makes the text's ends spaces as well).
            data = b" " + data.replace(b"''", b"  ") + b" "
            data = data.replace(b" '", b"  ").replace(b"' ", b"  ")
        return data.split()


def is_latin1(text: str) -> bool:
    return all(ord(char) < 256 for char in text)
