"""app/explain/words.py: the words a person sees line up with the ids the model saw; the answer's
dicts have exactly the response schema's keys."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from app.config import Settings
from app.explain import schemas
from app.explain.words import ExplainResponseDict, TokenExplanation, split_words
from model_contract.artifact import load_artifact
from model_contract.tokenizer import Tokenizer, TokenizerConfig
from training.data import load_imdb

SAMPLE = Path(__file__).resolve().parents[3] / "data" / "aclImdb_sample.tar.gz"
VOCAB = ["good", "bad", "film", "plot", "great", "awful", "fine", "dull", "not", "acting", "fun"]
CONFIG = TokenizerConfig(num_words=14, maxlen=8, stopwords=("the", "a", "and"))  # "fun" is OOV
TOKENIZER = Tokenizer(CONFIG, {w: r for r, w in enumerate(VOCAB, start=1)})


@pytest.fixture(scope="module")
def real() -> tuple[Tokenizer, list[str]]:
    artifact = load_artifact(Settings().resolved_model_dir())
    return artifact.tokenizer, load_imdb(str(SAMPLE)).test.texts


def test_answer_dicts_have_the_response_schema_keys() -> None:
    # the dicts ``assemble`` builds are the wire format: the same keys as the response schema
    assert set(TokenExplanation.__annotations__) == set(schemas.TokenExplanation.model_fields)
    assert set(ExplainResponseDict.__annotations__) == set(schemas.ExplainResponse.model_fields)


def test_words_match_tokenizer_even_when_lowercasing_changes_length() -> None:
    for text in [
        "İstanbul good film",
        "ÉTÉ great",
        "ﬁne ǅ good <BR/>bad",
        "good\u0130bad",
        "x" * 3,
    ]:
        words = split_words(TOKENIZER, text)
        kept = [w.id for w in words if w.position is not None]
        assert kept == TOKENIZER.to_ids(text)[0][1:]
        for w in words:
            assert w.start is None or text[w.start : w.end] == w.text


def test_fuzz_every_text_splits_like_the_tokenizer(real: tuple[Tokenizer, list[str]]) -> None:
    """No text makes the explanation's words disagree with the model's ids (that would be a 500)."""
    tokenizer, texts = real
    rng = random.Random(11)
    alphabet = "aAzZ09 '_-<>/brBR\n\t.,!?éÉßẞİıǅǆﬁﬀΣσςДд日本🎬\u0301\u200b\u00a0\ufb01"
    cases = ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 60))) for _ in range(3000)]
    cases += [t[: rng.randint(0, len(t))] + "".join(rng.sample(alphabet, 5)) for t in texts]
    for text in cases:
        words = split_words(tokenizer, text)
        assert [w.id for w in words if w.position is not None] == tokenizer.to_ids(text)[0][1:]
        for w in words:
            assert w.start is None or text[w.start : w.end] == w.text


def test_words_match_a_normalizing_tokenizer() -> None:
    """A version trained with the Unicode clean-up: the words line up with the model's ids and
    keep their offsets in the text as sent."""
    config = TokenizerConfig(num_words=14, maxlen=8, stopwords=("the",), normalization="nfkc")
    tokenizer = Tokenizer(config, {w: r for r, w in enumerate(VOCAB, start=1)})
    for text in ["gооd film", "gre\u200bat fi\u00adlm", "ｇｏｏｄ acting", "the good film"]:  # noqa: RUF001
        words = split_words(tokenizer, text)
        kept = [w.id for w in words if w.position is not None]
        assert kept == tokenizer.to_ids(text)[0][1:]
        assert config.oov_id not in kept  # the clean-up found every word
        for w in words:  # offsets point into the text as sent, even where it was cleaned
            assert w.start is not None and w.end is not None
            assert text[w.start : w.end] == w.text
    assert split_words(tokenizer, "the good film")[1].start == 4
    soft = split_words(tokenizer, "gre\u00adat fi\u00adlm")
    assert [(w.text, w.start, w.end) for w in soft] == [
        ("gre\u00adat", 0, 6),
        ("fi\u00adlm", 7, 12),
    ]
