"""training.teacher: the NB-weighted logistic regression teacher and its cross-fitting."""

from __future__ import annotations

import numpy as np
import pytest

from training.teacher import (
    FOLDS,
    CrossFitTeacher,
    Teacher,
    cross_fit_teacher,
    fit_teacher,
    self_train,
)

GOOD, BAD = 10, 11  # the only ids that carry the label in the synthetic corpus
NEUTRAL = np.arange(20, 120)


def corpus(n: int, seed: int, signal: bool = True) -> tuple[list[list[int]], list[int]]:
    """Reviews of random neutral ids; with ``signal``, positives carry GOOD and negatives BAD."""
    rng = np.random.default_rng(seed)
    labels = [int(y) for y in rng.integers(0, 2, n)]
    rows = []
    for y in labels:
        ids = [int(i) for i in rng.choice(NEUTRAL, 12)]
        if signal:
            ids.insert(int(rng.integers(len(ids))), GOOD if y else BAD)
        rows.append([1, *ids])  # start token first, as Tokenizer.to_ids returns
    return rows, labels


@pytest.fixture(scope="module")
def teacher_and_corpus() -> tuple[Teacher, list[list[int]], list[int]]:
    rows, labels = corpus(300, seed=0)
    return fit_teacher(rows, labels), rows, labels


def test_learns_the_obvious_words(
    teacher_and_corpus: tuple[Teacher, list[list[int]], list[int]],
) -> None:
    teacher, _, _ = teacher_and_corpus
    z_good, z_bad, z_neutral = teacher.logits([[1, GOOD], [1, BAD], [1, 20, 21]])
    assert z_good > 1.0 and z_bad < -1.0
    assert abs(z_neutral) < min(z_good, -z_bad)
    vocab = teacher.vectorizer.vocabulary_
    assert teacher.ratios[vocab[str(GOOD)]] > 1.0 > -1.0 > teacher.ratios[vocab[str(BAD)]]


def test_generalises_to_unseen_reviews(
    teacher_and_corpus: tuple[Teacher, list[list[int]], list[int]],
) -> None:
    teacher, _, _ = teacher_and_corpus
    rows, labels = corpus(200, seed=1)
    accuracy = np.mean((teacher.probabilities(rows) >= 0.5) == np.asarray(labels))
    assert accuracy > 0.95


def test_padding_and_start_token_are_ignored(
    teacher_and_corpus: tuple[Teacher, list[list[int]], list[int]],
) -> None:
    teacher, rows, _ = teacher_and_corpus
    row = rows[0][1:]
    z = teacher.logits([row, [1, *row], [0, 0, 0, 1, *row]])
    assert z[0] == pytest.approx(z[1]) == pytest.approx(z[2])


def test_probabilities_are_the_sigmoid_of_logits(
    teacher_and_corpus: tuple[Teacher, list[list[int]], list[int]],
) -> None:
    teacher, rows, _ = teacher_and_corpus
    z, p = teacher.logits(rows[:20]), teacher.probabilities(rows[:20])
    np.testing.assert_allclose(p, 1 / (1 + np.exp(-z)))
    assert teacher.logits([]).shape == (0,)


def test_rows_and_labels_must_match() -> None:
    with pytest.raises(ValueError, match="differ in length"):
        fit_teacher([[1, 2, 3]], [0, 1])


def test_cross_fit_needs_two_folds() -> None:
    rows, labels = corpus(20, seed=2)
    with pytest.raises(ValueError, match="folds"):
        cross_fit_teacher(rows, labels, folds=1)


@pytest.fixture(scope="module")
def noise_corpus() -> tuple[list[list[int]], list[int]]:
    """Labels that no word predicts: anything a teacher gets right about them is memorised."""
    rows, _ = corpus(200, seed=3, signal=False)
    labels = [int(y) for y in np.random.default_rng(4).integers(0, 2, len(rows))]
    return rows, labels


def test_in_sample_teacher_memorises_noise(noise_corpus: tuple[list[list[int]], list[int]]) -> None:
    # The reason for cross-fitting: scored by a teacher that saw them, noise labels come back.
    rows, labels = noise_corpus
    accuracy = np.mean((fit_teacher(rows, labels).logits(rows) >= 0) == np.asarray(labels))
    assert accuracy > 0.9


def test_cross_fit_scores_each_review_with_a_teacher_that_never_saw_it(
    noise_corpus: tuple[list[list[int]], list[int]],
) -> None:
    rows, labels = noise_corpus
    cf = cross_fit_teacher(rows, labels)
    p = cf.probabilities(rows, np.arange(len(rows)))
    accuracy = np.mean((p >= 0.5) == np.asarray(labels))
    assert 0.3 < accuracy < 0.7  # chance, not memory (200 reviews: sd 0.035)


def test_cross_fit_folds_are_stratified_partitions() -> None:
    rows, labels = corpus(150, seed=5)
    cf = cross_fit_teacher(rows, labels)
    assert len(cf.teachers) == FOLDS
    assert sorted(set(cf.fold_of.tolist())) == list(range(FOLDS))
    y = np.asarray(labels)
    for f in range(FOLDS):
        held_out = cf.fold_of == f
        assert abs(held_out.sum() - len(y) / FOLDS) <= 1
        assert abs(y[held_out].mean() - y.mean()) < 0.05
    again = cross_fit_teacher(rows, labels)
    np.testing.assert_array_equal(again.fold_of, cf.fold_of)  # seeded


def test_rows_are_routed_to_their_reviews_teacher() -> None:
    rows, labels = corpus(100, seed=6)
    cf = cross_fit_teacher(rows, labels, folds=3)
    # several rows per review (windows), in any order: each row uses its owner's fold
    owners = np.array([7, 3, 7, 99, 0, 3], dtype=np.int64)
    windows = [rows[i][: 5 + k] for k, i in enumerate(owners)]
    got = cf.probabilities(windows, owners)
    for row, owner, p in zip(windows, owners, got, strict=True):
        expected = cf.teachers[int(cf.fold_of[owner])].probabilities([row])[0]
        assert p == pytest.approx(expected)
    assert isinstance(cf, CrossFitTeacher) and got.shape == (len(windows),)


def test_ngram_range_is_a_parameter() -> None:
    rows, labels = corpus(200, seed=3)
    bigrams, trigrams = fit_teacher(rows, labels), fit_teacher(rows, labels, ngrams=(1, 3))
    assert len(trigrams.ratios) > len(bigrams.ratios)
    assert ((trigrams.probabilities(rows) >= 0.5) == np.asarray(labels)).mean() > 0.95


def test_self_training_learns_a_word_only_the_unlabelled_reviews_pair_with_the_label() -> None:
    # Labelled reviews carry GOOD/BAD; unlabelled ones carry GOOD/BAD *and* a new word each
    # (12 with GOOD, 13 with BAD). Only the pseudo-labels can teach the new words.
    rows, labels = corpus(200, seed=7)
    rng = np.random.default_rng(8)
    unlabelled = []
    for _ in range(300):
        good = bool(rng.integers(0, 2))
        unlabelled.append(
            [1, *(int(i) for i in rng.choice(NEUTRAL, 8)), *((GOOD, 12) if good else (BAD, 13))]
        )
    plain, selfish = fit_teacher(rows, labels), self_train(rows, labels, unlabelled)
    z_plain, z_self = plain.logits([[1, 12], [1, 13]]), selfish.logits([[1, 12], [1, 13]])
    assert z_plain[0] == pytest.approx(z_plain[1])  # unseen words: no opinion
    assert z_self[0] > 0.5 > -0.5 > z_self[1]


def test_self_training_keeps_only_confident_pseudo_labels() -> None:
    rows, labels = corpus(200, seed=9)
    noise = [
        [1, *(int(i) for i in np.random.default_rng(k).choice(NEUTRAL, 8)), 14] for k in range(200)
    ]
    # neutral reviews score near 0: none is confident, so word 14 stays unknown
    z = self_train(rows, labels, noise).logits([[1, 14]])
    assert abs(z[0]) < 0.5
    with pytest.raises(ValueError, match="threshold"):
        self_train(rows, labels, noise, threshold=-1.0)


def test_self_trained_cross_fit_teachers_never_saw_their_held_out_fold(
    noise_corpus: tuple[list[list[int]], list[int]],
) -> None:
    rows, labels = noise_corpus
    unlabelled, _ = corpus(100, seed=10)
    cf = cross_fit_teacher(rows, labels, unlabelled=unlabelled)
    p = cf.probabilities(rows, np.arange(len(rows)))
    assert 0.3 < np.mean((p >= 0.5) == np.asarray(labels)) < 0.7
