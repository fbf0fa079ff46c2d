"""The unlabelled reviews and the movie of each review: copies dropped, validation by movie."""

from __future__ import annotations

from pathlib import Path

import pytest

from training.data import DatasetError, Split, load_imdb
from training.unlabelled import (
    drop_copies,
    load_movies,
    load_unlabelled,
    movie_validation_split,
    movies_of,
)

DATA = Path(__file__).resolve().parents[2] / "data"
SAMPLE, EXTRA = DATA / "aclImdb_sample.tar.gz", DATA / "aclImdb_sample_extra.tar.gz"


def test_copies_of_labelled_reviews_and_repeats_are_dropped() -> None:
    out = drop_copies(
        ["new one", " test review \n", "a train review", "new one", "new two"],
        train_texts=["a train review"],
        test_texts=["test review"],
    )
    assert out.texts == ["new one", "new two"]
    assert (out.dropped_test_copies, out.dropped_train_copies, out.dropped_duplicates) == (1, 1, 1)


def test_the_committed_sample_holds_real_test_copies_and_they_are_dropped() -> None:
    ds = load_imdb(str(SAMPLE))
    unsup = load_unlabelled(EXTRA)
    out = drop_copies(unsup, ds.train.texts, ds.test.texts)
    assert out.dropped_test_copies == 4  # the sample carries the 4 real copies of its test reviews
    assert not {t.strip() for t in out.texts} & {t.strip() for t in ds.test.texts}


def test_movies_and_a_split_that_keeps_each_movie_on_one_side() -> None:
    ds = load_imdb(str(SAMPLE))
    movies = load_movies(EXTRA)
    assert len(movies["train"]) == len(movies["test"]) == 25_000
    assert movies["train"]["pos/0"] == "tt0453418"  # urls_pos.txt line 0
    of_train = movies_of(ds.train, movies["train"])
    fit, val = movie_validation_split(ds.train, of_train, 0.2, seed=1)
    movie = dict(zip(ds.train.ids, of_train, strict=True))
    assert {movie[i] for i in fit.ids}.isdisjoint({movie[i] for i in val.ids})
    assert len(fit.ids) + len(val.ids) == len(ds.train.ids)
    assert 0.1 < len(val.ids) / len(ds.train.ids) < 0.3


def test_a_review_without_a_movie_is_an_error() -> None:
    split = Split(["x"], [1], ["pos/99999_9"])
    with pytest.raises(DatasetError, match="no movie"):
        movies_of(split, {"pos/0": "tt1"})
