"""Unicode clean-up before word splitting: what text copied from the web does to a review."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from model_contract.normalize import nfkc, normalizer
from model_contract.tokenizer import Tokenizer, TokenizerConfig

ROOT = Path(__file__).resolve().parents[3]
WORDS = {"great": 1, "wonderful": 2, "film": 3, "fine": 4, "acting": 5, "café": 6}
NEW = Tokenizer(TokenizerConfig(stopwords=(), normalization="nfkc"), WORDS)
OLD = Tokenizer(TokenizerConfig(stopwords=()), WORDS)

CLEAN = "great wonderful film, fine acting"
DIRTY = {
    "cyrillic look-alikes": "grеat wоndеrful fіlm, finе аcting",  # noqa: RUF001
    "greek look-alikes": "grεat wοnderful film, fine acting",  # noqa: RUF001
    "fullwidth": "ｇｒｅａｔ ｗｏｎｄｅｒｆｕｌ ｆｉｌｍ, ﬁne acting",  # noqa: RUF001
    "zero-width space": "gre\u200bat won\u200cderful fi\u200dlm, fi\u2060ne act\ufeffing",
    "soft hyphen": "gre\u00adat wonder\u00adful film, fine act\u00ading",
    "all-homoglyph word in latin text": "great wonderful film, fine асting",  # noqa: RUF001
}


@pytest.mark.parametrize("case", sorted(DIRTY))
def test_copied_text_reads_like_the_clean_text(case: str) -> None:
    assert NEW.to_ids(DIRTY[case]) == NEW.to_ids(CLEAN)
    assert OLD.to_ids(DIRTY[case]) != OLD.to_ids(CLEAN)  # what v1-v3 see (and were trained on)


def test_other_scripts_and_accents_are_left_alone() -> None:
    russian = "Это был очень скучный фильм, актеры играли ужасно."
    greek = "Η ταινία ήταν πολύ βαρετή."  # noqa: RUF001
    assert nfkc(russian) == russian
    assert nfkc(greek) == greek
    assert nfkc("café naïve") == "café naïve"  # NFKC composes; nothing is stripped
    assert NEW.to_ids("café")[0][1:] == [6 + 3]
    assert nfkc("plain ascii stays the same object") == "plain ascii stays the same object"


def test_mixed_word_in_cyrillic_text_is_mapped_only_where_latin() -> None:
    # a mostly-Cyrillic text keeps its Cyrillic words, but a word mixing both scripts is fixed
    assert nfkc("Это фильм grеat") == "Это фильм great"  # noqa: RUF001


def test_unknown_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="normalization"):
        normalizer("nfd")
    with pytest.raises(ValueError, match="normalization"):
        TokenizerConfig(normalization="lower")


@pytest.mark.parametrize("version", ["1", "2", "3"])
def test_committed_versions_keep_their_fingerprint(version: str) -> None:
    """v1-v3 were trained without normalization: their config reads back as "none" and its
    fingerprint is the one they shipped (the new field is not serialized for them)."""
    prep = json.loads(
        (ROOT / "model_artifacts" / "imdb_lstm" / version / "preprocessing.json").read_text()
    )
    config = TokenizerConfig.from_dict(prep["tokenizer"])
    assert config.normalization == "none"
    assert "normalization" not in config.to_dict()
    assert config.fingerprint() == prep["fingerprint"]


def test_new_config_records_its_mode() -> None:
    config = TokenizerConfig(normalization="nfkc")
    assert config.to_dict()["normalization"] == "nfkc"
    assert TokenizerConfig.from_dict(config.to_dict()).fingerprint() == config.fingerprint()
    assert config.fingerprint() != TokenizerConfig().fingerprint()


def test_the_nfkc_mode_is_frozen() -> None:
    """A model trained with "nfkc" is served with "nfkc": its tables may never change meaning
    (the fingerprint names the mode, not the tables). A new table is a new mode."""
    import hashlib

    import model_contract.normalize as n

    tables = repr((sorted(n._INVISIBLE), sorted(n._LOOKALIKE.items())))
    digest = hashlib.sha256(tables.encode()).hexdigest()
    assert digest == "f47ec6f041d46ffa9b3561d8e72152f8d30053e103dd5f6741196b5197a3e7a4"


def test_presence_checks_do_not_change_the_result() -> None:
    """``nfkc`` skips the deletion and the folding when a regex finds nothing to delete or fold:
    same output as always applying them (the definition), on random mixes of every kind."""
    import random
    import unicodedata

    from model_contract import normalize

    def reference(text: str) -> str:
        if text.isascii():
            return text
        out = unicodedata.normalize("NFKC", text.translate(normalize._INVISIBLE))
        if normalize._LOOKALIKE_CHARS.isdisjoint(out):
            return out
        return normalize._fold_lookalikes(out)

    pieces = [
        "great", "film", " ", ", ", "café", "naïve", "\uff46\uff49\uff4c\uff4d", "\ufb01", "Это", "фильм", "ταινία",
        *map(chr, normalize._INVISIBLE), *normalize._LOOKALIKE_CHARS, "e\u0301", "😀",
    ]  # fmt: skip
    rng = random.Random(7)
    for _ in range(3000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 12)))
        assert nfkc(text) == reference(text), repr(text)
