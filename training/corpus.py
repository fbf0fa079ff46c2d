"""The text a training run reads: labelled splits, the validation hold-out, unlabelled reviews.

Validation is held out by movie (``--split movie``, the default when the movie of every review is
known): the test set shares one movie in ~3,500 with train, so a random hold-out that shares movies
with the fit split rewards memorised names and plots that do not carry over to test.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from training.data import Dataset, Split, fit_validation_split, load_imdb, subsample
from training.options import QUICK_REVIEWS, SEED
from training.unlabelled import (
    Unlabelled,
    drop_copies,
    load_movies,
    load_unlabelled,
    movie_validation_split,
    movies_of,
)

# The shared data's README: 270 unlabelled reviews copy a test review. Checked on the full data.
EXPECTED_TEST_COPIES = 270
FULL_UNLABELLED = 50_000


@dataclass(frozen=True)
class Corpus:
    dataset: Dataset
    train: Split
    test: Split
    fit: Split
    val: Split
    unlabelled: Unlabelled | None
    split: str  # "movie" or "random"


def load_corpus(args: argparse.Namespace, log: Callable[[str], None]) -> Corpus:
    ds = load_imdb(args.data)
    train, test = ds.train, ds.test
    if args.quick:
        train, test = subsample(train, QUICK_REVIEWS, SEED), subsample(test, QUICK_REVIEWS, SEED)
    log(f"{len(train.texts)} train / {len(test.texts)} test reviews from {ds.source}")
    if args.split == "movie":
        if args.movies is None:
            raise ValueError("--split movie needs --movies (the aclImdb urls_*.txt files)")
        movies = movies_of(train, load_movies(Path(args.movies))["train"])
        fit, val = movie_validation_split(train, movies, args.validation_fraction, SEED)
        log(f"validation by movie: {len(val.texts)} reviews held out ({len(set(movies))} movies)")
    else:
        fit, val = fit_validation_split(train, args.validation_fraction, SEED)
    unlabelled = None
    if args.unsup is not None:
        raw = load_unlabelled(Path(args.unsup))
        # Copies are looked up among *all* labelled reviews, not just the (sub)sampled ones.
        unlabelled = drop_copies(raw, ds.train.texts, ds.test.texts)
        full = len(raw) == FULL_UNLABELLED and len(ds.test.texts) == 25_000
        if full and unlabelled.dropped_test_copies != EXPECTED_TEST_COPIES:
            raise ValueError(
                f"dropped {unlabelled.dropped_test_copies} copies of test reviews, the "
                f"dataset's README says {EXPECTED_TEST_COPIES}"
            )
        log(
            f"unlabelled: {len(unlabelled.texts)} kept of {len(raw)} (dropped "
            f"{unlabelled.dropped_test_copies} copies of test reviews, "
            f"{unlabelled.dropped_train_copies} of train reviews, "
            f"{unlabelled.dropped_duplicates} repeats)"
        )
        if args.quick:
            unlabelled = Unlabelled(
                unlabelled.texts[:QUICK_REVIEWS], unlabelled.dropped_test_copies,
                unlabelled.dropped_train_copies, unlabelled.dropped_duplicates,
            )  # fmt: skip
    return Corpus(ds, train, test, fit, val, unlabelled, args.split)
