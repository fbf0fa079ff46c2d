"""model_contract.latin1: the bytes fast path must split exactly like the tokenizer's word regex."""

from __future__ import annotations

import itertools
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from model_contract.latin1 import Latin1Words, is_latin1
from model_contract.tokenizer import DEFAULT_WORD_PATTERN

WORD = re.compile(DEFAULT_WORD_PATTERN)
LATIN1 = "".join(map(chr, range(256)))
# The characters the rule turns on: letters, digits, the underscore, apostrophes, spaces,
# Latin-1 letters/numbers that are not ASCII (é ß ª ² ½ µ), and symbols that are not.
TRICKY = "aZ9_' éÉßª²½\xd7µ¿-\t"  # \xd7: the multiplication sign


def reference(text: str, lowercase: bool) -> list[str]:
    """The definition: ``DEFAULT_WORD_PATTERN.findall`` (after lowercasing, when configured)."""
    return WORD.findall(text.lower() if lowercase else text)


def fast(text: str, lowercase: bool) -> list[str] | None:
    words = Latin1Words(lowercase).split(text)
    return None if words is None else [w.decode("latin-1") for w in words]


@pytest.mark.parametrize("lowercase", [True, False])
def test_every_latin1_character_alone_and_between_letters(lowercase: bool) -> None:
    for char in LATIN1:
        for text in (char, f"a{char}b", f"{char}{char}", f"x'{char}'y", f"{char}'s"):
            assert fast(text, lowercase) == reference(text, lowercase), repr(text)


@pytest.mark.parametrize("lowercase", [True, False])
def test_every_short_string_over_the_tricky_alphabet(lowercase: bool) -> None:
    alphabet = "a'_ é1"  # exhaustive up to length 5: apostrophe runs, edges, underscores
    for n in range(6):
        for chars in itertools.product(alphabet, repeat=n):
            text = "".join(chars)
            assert fast(text, lowercase) == reference(text, lowercase), repr(text)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("Don't STOP", ["don't", "stop"]),
        ("rock'n'roll", ["rock'n'roll"]),
        ("'quoted' words''", ["quoted", "words"]),
        ("a''b", ["a", "b"]),  # two apostrophes split a word
        ("a'''b a'", ["a", "b", "a"]),
        ("snake_case_name", ["snake", "case", "name"]),
        ("Café crème ÉTÉ", ["café", "crème", "été"]),
        ("10/10, ½ star²", ["10", "10", "½", "star²"]),
        ("5\xd76 µs", ["5", "6", "µs"]),
        ("", []),
        ("   \n\t", []),
    ],
)
def test_examples(text: str, words: list[str]) -> None:
    assert fast(text, lowercase=True) == words == reference(text, lowercase=True)


@pytest.mark.parametrize("text", ["naïve — no", "emoji 🙂 here", "Ⅻ", "curly \u2019quote\u2019"])
def test_text_outside_latin1_is_left_to_the_regex(text: str) -> None:
    assert not is_latin1(text)
    assert Latin1Words(lowercase=True).split(text) is None


def test_is_latin1() -> None:
    assert is_latin1("") and is_latin1(LATIN1)
    assert not is_latin1("\u0100") and not is_latin1("abc\u2019")


@settings(max_examples=600, deadline=None)
@given(st.text(alphabet=st.characters(max_codepoint=255), max_size=40), st.booleans())
def test_any_latin1_text_matches_the_regex(text: str, lowercase: bool) -> None:
    assert fast(text, lowercase) == reference(text, lowercase)


@settings(max_examples=600, deadline=None)
@given(st.text(alphabet=TRICKY, max_size=30), st.booleans())
def test_dense_tricky_text_matches_the_regex(text: str, lowercase: bool) -> None:
    assert fast(text, lowercase) == reference(text, lowercase)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=30))
def test_any_text_is_either_split_exactly_or_refused(text: str) -> None:
    words = fast(text, lowercase=True)
    assert (words is None) == (not is_latin1(text))
    if words is not None:
        assert words == reference(text, lowercase=True)
