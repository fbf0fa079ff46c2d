"""training.review_tuning (stage 2: the review-level loss) and fit.load_student (--init-from)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import keras
import numpy as np
import pytest

from model_contract.artifact import load_artifact
from model_contract.network import build_model, rebuild_network
from model_contract.tokenizer import INDEX_FROM, OOV_ID, Tokenizer, TokenizerConfig
from training.callbacks import WholeReviewAccuracy
from training.features import sentence_spans
from training.fit import load_student
from training.review_tuning import (
    ReviewBatches,
    ReviewLogit,
    fine_tune_reviews,
    review_items,
)
from training.teacher import cross_fit_teacher

ROOT = Path(__file__).resolve().parents[2]
V3 = ROOT / "model_artifacts" / "imdb_lstm" / "3"
MAXLEN, WORDS = 80, 500


def small_model() -> keras.Model:
    keras.utils.set_random_seed(0)
    return build_model(WORDS, MAXLEN, recurrent_dropout=0.0)


def test_review_logit_is_the_sigmoid_of_the_mean_window_logit() -> None:
    model = small_model()
    rng = np.random.default_rng(0)
    rows = rng.integers(INDEX_FROM, WORDS, (4, 3, MAXLEN)).astype(np.int32)
    mask = np.array([[1, 1, 1], [1, 1, 0], [1, 0, 0], [1, 1, 1]], dtype=np.float32)
    got = np.asarray(ReviewLogit(model)((rows, mask), training=False))
    p = np.asarray(model.predict(rows.reshape(-1, MAXLEN), verbose=0)).reshape(4, 3)
    z = np.log(p) - np.log1p(-p)
    want = 1 / (1 + np.exp(-(z * mask).sum(axis=1) / mask.sum(axis=1)))
    np.testing.assert_allclose(got, want, rtol=1e-5)


def items(n_items: int = 50, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Item i has 1 + i % 3 rows; every row of item i is filled with the value INDEX_FROM + i."""
    owner = np.concatenate([[i] * (1 + i % 3) for i in range(n_items)]).astype(np.int64)
    x = np.repeat((INDEX_FROM + owner)[:, None], MAXLEN, axis=1).astype(np.int32)
    perm = np.random.default_rng(seed).permutation(len(owner))  # rows in any order
    return x[perm], owner[perm], np.linspace(0, 1, n_items).astype(np.float32)


def test_batches_hold_whole_items_of_one_window_count_each_once_per_epoch() -> None:
    x, owner, targets = items()
    ds = ReviewBatches(x, owner, targets, batch_size=8, token_dropout=0.0, seed=1)
    for _ in range(2):
        seen: list[int] = []
        for b in range(len(ds)):
            (rows, mask), y = ds[b]
            assert rows.shape[0] == mask.shape[0] == len(y) <= 8 and (mask == 1).all()
            for item_rows, target in zip(rows, y, strict=True):
                item = int(item_rows[0, 0]) - INDEX_FROM
                assert (item_rows == INDEX_FROM + item).all()  # only its own rows
                assert len(item_rows) == 1 + item % 3 and target == targets[item]
                seen.append(item)
        assert sorted(seen) == list(range(len(targets)))
        first = [ds[b][1].tolist() for b in range(len(ds))]
        ds.on_epoch_end()
    assert first != [ds[b][1].tolist() for b in range(len(ds))]  # reshuffled


def test_token_dropout_hits_words_only_at_its_rate() -> None:
    x, owner, targets = items(300)
    x[:, :5] = 0  # padding stays
    ds = ReviewBatches(x, owner, targets, batch_size=32, token_dropout=0.3, seed=2)
    rows = np.concatenate([r.reshape(-1, MAXLEN) for (r, _), _ in (ds[b] for b in range(len(ds)))])
    assert (rows[:, :5] == 0).all()
    assert abs(float((rows[:, 5:] == OOV_ID).mean()) - 0.3) < 0.02


def test_items_are_reviews_with_blended_targets_and_stage_ones_spans() -> None:
    texts = [f"A {w} film. It was {w}, truly {w}! " * 30 for w in ["great", "awful"] * 20]
    labels = [1, 0] * 20
    config = TokenizerConfig(num_words=50)
    tok = Tokenizer(config, {w: r for r, w in enumerate(["film", "great", "awful", "truly"], 1)})
    teacher = cross_fit_teacher([tok.to_ids(t)[0] for t in texts], labels, folds=2)
    x, owner, targets = review_items(
        tok, texts, labels, teacher, stride=80, spans_per_review=2, label_weight=0.3, seed=5
    )
    spans = sentence_spans(tok, texts, 2, seed=5)
    n = len(texts)
    assert len(targets) == n + len(spans.x) and owner.max() == len(targets) - 1
    np.testing.assert_array_equal(x[owner >= n], spans.x)  # the spans stage 1 trained on
    full = teacher.probabilities([tok.to_ids(t)[0] for t in texts], np.arange(n))
    np.testing.assert_allclose(targets[:n], 0.3 * np.asarray(labels) + 0.7 * full, rtol=1e-6)
    assert all(1 <= (owner == i).sum() <= 8 for i in range(n))


class FixedScores(WholeReviewAccuracy):
    """Validation that reports given accuracies instead of predicting."""

    def __init__(self, scores: list[float]) -> None:
        keras.callbacks.Callback.__init__(self)
        self.scores = iter(scores)
        self._log = lambda _: None

    def accuracy(self, window_model: keras.Model) -> float:
        return next(self.scores)


def tiny_batches() -> ReviewBatches:
    rng = np.random.default_rng(0)
    x = rng.integers(INDEX_FROM, WORDS, (40, MAXLEN)).astype(np.int32)
    return ReviewBatches(x, np.arange(40) // 2, rng.random(20).astype(np.float32), 8, 0.0, 0)


@pytest.mark.parametrize(("scores", "kept"), [([0.8, 0.7, 0.75], False), ([0.8, 0.7, 0.9], True)])
def test_stage_two_is_kept_only_when_it_beats_stage_one(scores: list[float], kept: bool) -> None:
    model = small_model()
    before = model.get_weights()
    history: dict[str, Any] = fine_tune_reviews(
        model, tiny_batches(), 2, FixedScores(scores), patience=2, weight_average=0.0,
        log=lambda _: None,
    )  # fmt: skip
    assert history["start_val_whole_review_accuracy"] == [scores[0]]
    assert history["val_whole_review_accuracy"] == scores[1:]
    same = all(np.array_equal(a, b) for a, b in zip(before, model.get_weights(), strict=True))
    assert same is not kept


def test_load_student_holds_the_artifacts_weights_and_refuses_another_vocabulary() -> None:
    artifact = load_artifact(V3.parent, 3)
    model = load_student(V3, artifact.tokenizer)
    reference = rebuild_network(V3)
    for ours, theirs in zip(model.get_weights(), reference.get_weights(), strict=True):
        np.testing.assert_array_equal(ours, theirs)
    other = Tokenizer(artifact.tokenizer.config, {"only": 1})
    with pytest.raises(ValueError, match="tokenizer or vocabulary differs"):
        load_student(V3, other)
    with pytest.raises(ValueError, match="--init-from"):
        load_student(V3.parent / "99", artifact.tokenizer)
