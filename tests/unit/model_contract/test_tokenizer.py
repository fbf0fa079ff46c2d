"""The shared tokenizer: text rules, Keras IMDB id conventions, and parity with Keras padding."""

from __future__ import annotations

import random
from pathlib import Path

import keras
import numpy as np
import pytest

from model_contract.tokenizer import (
    OOV_ID,
    PAD_ID,
    START_ID,
    Tokenizer,
    TokenizerConfig,
    window_starts,
    word_index_sha256,
)
from training.data import load_imdb
from training.vocabulary import build_word_index

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "aclImdb_sample.tar.gz"
CONFIG = TokenizerConfig()


@pytest.fixture(scope="module")
def real_reviews() -> tuple[list[str], list[str]]:
    ds = load_imdb(str(SAMPLE))
    return ds.train.texts, ds.test.texts


def test_text_rules() -> None:
    tok = Tokenizer(TokenizerConfig(stopwords=()), {})
    words = tok.words("I DON'T like it.<br /><br />Rock'n'roll, café_au_lait 10/10")
    assert words == ["i", "don't", "like", "it", "rock'n'roll", "café", "au", "lait", "10", "10"]
    assert "br" not in tok.words("good<br/>bad<BR />ugly")


def test_stopwords_dropped_but_negations_kept() -> None:
    tok = Tokenizer(CONFIG, {})
    assert tok.words("The movie was not good and it is no fun") == [
        "movie",
        "not",
        "good",
        "no",
        "fun",
    ]


def test_vocabulary_ranked_by_frequency_with_alphabetical_ties() -> None:
    cfg = TokenizerConfig(stopwords=(), num_words=100)
    index = build_word_index(["b a c", "a b", "a", "zz yy"], cfg)
    assert index == {"a": 1, "b": 2, "c": 3, "yy": 4, "zz": 5}
    assert build_word_index(["zz yy", "a", "a b", "b a c"], cfg) == index  # order-independent


def test_keras_imdb_id_conventions() -> None:
    cfg = TokenizerConfig(stopwords=(), num_words=6, maxlen=6)  # ids 3+1..5 kept: ranks 1 and 2
    tok = Tokenizer(cfg, {"good": 1, "film": 2, "bad": 3})
    ids, n_oov = tok.to_ids("good film bad unknown")
    assert ids == [START_ID, 4, 5, OOV_ID, OOV_ID]  # rank r -> r + 3; id >= num_words -> OOV
    assert n_oov == 2
    enc = tok.encode("good film bad unknown")
    assert enc.ids.tolist() == [PAD_ID, START_ID, 4, 5, OOV_ID, OOV_ID]
    assert (enc.n_tokens, enc.n_oov) == (4, 2)


def test_word_index_is_capped_to_kept_ids(real_reviews: tuple[list[str], list[str]]) -> None:
    cfg = TokenizerConfig(num_words=500)
    index = build_word_index(real_reviews[0], cfg)
    assert sorted(index.values()) == list(range(1, 500 - 3))
    assert max(index.values()) + cfg.index_from < cfg.num_words


def test_padding_parity_with_keras_on_real_reviews(
    real_reviews: tuple[list[str], list[str]],
) -> None:
    train, test = real_reviews
    tok = Tokenizer(CONFIG, build_word_index(train, CONFIG))
    raw = [tok.to_ids(t)[0] for t in test]
    lengths = [len(r) for r in raw]
    assert min(lengths) < CONFIG.maxlen < max(lengths), "sample must hold short and long reviews"
    expected = keras.utils.pad_sequences(raw, maxlen=CONFIG.maxlen)  # Keras defaults: pre / pre
    np.testing.assert_array_equal(tok.encode_batch(test), expected)
    assert tok.encode_batch(test).dtype == np.int32


EDGE_CASES = [
    "", "'", "''", "'''", "a'", "'a", "a''b", "a'''b", "a'b'c", "a'b''c", "'a'b'", "don't'",
    "rock'n'roll", "x' 'y", "_a_", "a_b'c", "10/10", "ABC'DEF", "a'_b", "tab\there", "<br/>a'<br />",
    "it's a 'quoted' word", "l'amour'", "''tis", "o'neill's", "a' b", "a 'b", "'a' 'b'",
]  # fmt: skip


def reference_ids(tok: Tokenizer, text: str) -> list[int]:
    # The regex path (``split_words``) is the definition; the Latin-1 fast path must match it.
    return [tok._ids.get(w, OOV_ID) for w in tok.words(text)]


@pytest.mark.parametrize("lowercase", [True, False])
def test_latin1_fast_path_matches_the_regex_reference(
    real_reviews: tuple[list[str], list[str]], lowercase: bool
) -> None:
    train, test = real_reviews
    cfg = TokenizerConfig(lowercase=lowercase)
    tok = Tokenizer(cfg, build_word_index(train, cfg))
    rng = random.Random(0)
    alphabet = (
        "ab'_ -.<>/Z1éÉßª²½\xd7µ\u2019\t\"br"  # \xd7 = multiplication sign, \u2019 = curly quote
    )
    fuzz = ["".join(rng.choices(alphabet, k=rng.randint(0, 14))) for _ in range(20_000)]
    texts = [*EDGE_CASES, *train, *test, *(t.upper() for t in test), *fuzz]
    n_latin1 = sum(max(t, default="a") <= "\xff" for t in texts)
    assert len(texts) // 2 < n_latin1 < len(texts), "both the fast path and the regex must run"
    for text in texts:
        assert tok.to_ids(text)[0][1:] == reference_ids(tok, text), repr(text)


def test_fingerprint_tracks_every_parameter() -> None:
    base = TokenizerConfig()
    assert base.fingerprint() == TokenizerConfig.from_dict(base.to_dict()).fingerprint()
    variants = [
        TokenizerConfig(maxlen=81),
        TokenizerConfig(num_words=19_999),
        TokenizerConfig(stopwords=()),
        TokenizerConfig(word_pattern=r"\w+"),
        TokenizerConfig(truncating="post"),
        TokenizerConfig(lowercase=False),
    ]
    assert len({v.fingerprint() for v in variants} | {base.fingerprint()}) == len(variants) + 1


def test_word_index_hash_is_order_independent() -> None:
    assert word_index_sha256({"a": 1, "b": 2}) == word_index_sha256({"b": 2, "a": 1})
    assert word_index_sha256({"a": 1, "b": 2}) != word_index_sha256({"a": 2, "b": 1})


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"maxlen": 0}, "maxlen"),
        ({"num_words": 3}, "num_words"),
        ({"padding": "middle"}, "padding"),
    ],
)
def test_bad_config_rejected(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TokenizerConfig(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("n_ids", [1, 79, 80, 81, 159, 160, 161, 400, 3000])
@pytest.mark.parametrize(("stride", "max_windows"), [(80, 32), (40, 32), (80, 5), (80, 1)])
def test_window_starts_cover_the_review_with_full_windows(
    n_ids: int, stride: int, max_windows: int
) -> None:
    maxlen = 80
    starts = window_starts(n_ids, maxlen, stride, max_windows)
    assert 1 <= len(starts) <= max_windows
    assert starts[0] == max(0, n_ids - maxlen)  # the last window (the seed's input) comes first
    assert all(0 <= s <= max(0, n_ids - maxlen) for s in starts)  # no window runs into padding
    assert len(set(starts)) == len(starts)
    if n_ids > maxlen and len(starts) > 1:
        assert 0 in starts  # ... and one starts at the first id
    if max_windows >= -(-max(n_ids - maxlen, 0) // stride) + 1:  # not thinned: every id covered
        covered = {i for s in starts for i in range(s, min(s + maxlen, n_ids))}
        assert covered == set(range(n_ids))


def test_first_window_is_the_encoded_row(real_reviews: tuple[list[str], list[str]]) -> None:
    train, test = real_reviews
    tok = Tokenizer(CONFIG, build_word_index(train, CONFIG))
    for text in [*test, "", "good", "word " * 79, "word " * 80, "word " * 200]:
        windows = tok.encode_windows(text, 80, 32)
        np.testing.assert_array_equal(windows.rows[0], tok.encode(text).ids)
        assert windows.rows.shape[1] == CONFIG.maxlen and windows.rows.dtype == np.int32


@pytest.mark.parametrize(("stride", "max_windows"), [(80, 32), (40, 32), (80, 3), (80, 1)])
def test_windows_are_the_slices_of_the_id_list(
    real_reviews: tuple[list[str], list[str]], stride: int, max_windows: int
) -> None:
    """The windows cut from one id array equal the definition: slices of ``to_ids``."""
    train, test = real_reviews
    tok = Tokenizer(CONFIG, build_word_index(train, CONFIG))
    for text in [*test[:300], "", "good", "word " * 79, "word " * 80, "word " * 81, "x " * 500]:
        ids, n_oov = tok.to_ids(text)
        starts = window_starts(len(ids), CONFIG.maxlen, stride, max_windows)
        expected = [tok.encode(text).ids] if len(ids) <= CONFIG.maxlen else [
            ids[s : s + CONFIG.maxlen] for s in starts
        ]  # fmt: skip
        windows = tok.encode_windows(text, stride, max_windows)
        np.testing.assert_array_equal(windows.rows, np.array(expected, dtype=np.int32))
        assert (windows.n_tokens, windows.n_oov) == (len(ids) - 1, n_oov)
