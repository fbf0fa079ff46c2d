"""Stage 2: fine-tune the window model on what the service answers - the mean of a review's window
log-odds - instead of on each window alone.

Stage 1 (``training/fit.py``) teaches every 80-token window its own target; the service then
averages the windows' logits. Here the loss is taken where the answer is made: a batch holds whole
reviews (their windows stacked, ``[reviews, windows, 80]`` with a mask), the seed network scores
every window, the masked mean of their logits is the review's logit, and binary cross-entropy is
taken against the review's target (``label_weight`` x label + the rest the cross-fitted teacher's
score of the full review). One-line spans stay in the mix as one-window "reviews" with the
teacher's score, so short inputs are not forgotten. The network is the seed's, unchanged: the
wrapper only reshapes and averages, and only the window model is exported.

Reviews are bucketed by window count (a batch of 1-window reviews is never padded to 8 windows).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import Any

import keras
import numpy as np
import numpy.typing as npt
from keras import ops

from model_contract.tokenizer import Tokenizer
from training.augment import drop_words
from training.callbacks import WholeReviewAccuracy
from training.features import review_windows, sentence_spans
from training.options import BATCH_SIZE, MAX_WINDOWS, SEED
from training.teacher import CrossFitTeacher

EPSILON = 1e-6


class ReviewLogit(keras.Model):  # type: ignore[misc]
    """``([reviews, k, maxlen] ids, [reviews, k] mask) -> P(positive)`` of the mean window logit."""

    def __init__(self, window_model: keras.Model, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.window_model = window_model

    def call(self, inputs: Sequence[Any], training: bool | None = None) -> Any:
        rows, mask = inputs
        shape = ops.shape(rows)
        p = self.window_model(ops.reshape(rows, (-1, shape[2])), training=training)
        p = ops.clip(ops.reshape(p, (shape[0], shape[1])), EPSILON, 1.0 - EPSILON)
        z = ops.log(p) - ops.log(1.0 - p)
        mean = ops.sum(z * mask, axis=1) / ops.maximum(ops.sum(mask, axis=1), 1.0)
        return ops.sigmoid(mean)


class ReviewBatches(keras.utils.PyDataset):  # type: ignore[misc]
    """Batches of ``batch_size`` items of equal window count, reshuffled every epoch; token
    dropout as in stage 1 (fresh masks each time a batch is built)."""

    def __init__(
        self,
        x: npt.NDArray[np.int32],
        owner: npt.NDArray[np.int64],
        targets: npt.NDArray[np.float32],
        batch_size: int,
        token_dropout: float,
        seed: int,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if len(x) != len(owner) or (len(owner) and owner.max() >= len(targets)):
            raise ValueError("every row needs an owner item with a target")
        if not 0.0 <= token_dropout < 1.0:
            raise ValueError("token dropout rate must be in [0, 1)")
        self.x, self.targets, self.rate = x, targets, token_dropout
        self.rng = np.random.default_rng(seed)
        order = np.argsort(owner, kind="stable")
        starts = np.searchsorted(owner[order], np.arange(len(targets)))
        counts = np.bincount(owner, minlength=len(targets))
        self.item_rows = [order[s : s + c] for s, c in zip(starts, counts, strict=True)]
        self.batch_size = batch_size
        self.batches = self._plan()

    def _plan(self) -> list[npt.NDArray[np.int64]]:
        counts = np.array([len(r) for r in self.item_rows])
        batches: list[npt.NDArray[np.int64]] = []
        for k in np.unique(counts[counts > 0]):
            items = self.rng.permutation(np.flatnonzero(counts == k))
            batches += [
                items[i : i + self.batch_size] for i in range(0, len(items), self.batch_size)
            ]
        return [batches[i] for i in self.rng.permutation(len(batches))]

    def __len__(self) -> int:
        return len(self.batches)

    def __getitem__(
        self, index: int
    ) -> tuple[tuple[npt.NDArray[np.int32], npt.NDArray[np.float32]], npt.NDArray[np.float32]]:
        items = self.batches[index]
        rows = np.stack([self.x[self.item_rows[i]] for i in items])  # (b, k, maxlen)
        drop_words(rows, self.rng, self.rate)
        mask = np.ones(rows.shape[:2], dtype=np.float32)
        return (rows, mask), self.targets[items]

    def on_epoch_end(self) -> None:
        self.batches = self._plan()


REVIEW_LEARNING_RATE = 3e-4  # a fine-tune of a converged model: well below stage 1's 1e-3
REVIEW_MAX_WINDOWS = 8  # per review in stage 2 (thinned evenly, as the service thins)


def review_items(
    tokenizer: Tokenizer,
    texts: Sequence[str],
    labels: Sequence[int],
    teacher: CrossFitTeacher,
    *,
    stride: int,
    spans_per_review: int,
    label_weight: float,
    seed: int,
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int64], npt.NDArray[np.float32]]:
    """Rows, their item (review or span) and each item's target, for :class:`ReviewBatches`.

    Spans are cut with the same seed as stage 1's, so they are the same spans.
    """
    n = len(texts)
    wins = review_windows(tokenizer, texts, stride, REVIEW_MAX_WINDOWS)
    full = teacher.probabilities([tokenizer.to_ids(t)[0] for t in texts], np.arange(n))
    y_review = label_weight * np.asarray(labels, dtype=np.float64) + (1 - label_weight) * full
    spans = sentence_spans(tokenizer, texts, spans_per_review, seed)
    y_span = teacher.probabilities(list(spans.x), spans.review)
    x = np.concatenate([wins.x, spans.x])
    owner = np.concatenate([wins.review, n + np.arange(len(spans.x))])
    targets = np.concatenate([y_review, y_span]).astype(np.float32)
    return x, owner, targets


def fine_tune_reviews(
    model: keras.Model,
    batches: ReviewBatches,
    epochs: int,
    validation: WholeReviewAccuracy,
    *,
    patience: int,
    weight_average: float,
    log: Callable[[str], None],
) -> dict[str, list[float]]:
    """Fine-tune ``model`` in place; keeps stage 1's weights unless an epoch beats them on
    validation whole-review accuracy. Returns the Keras history (plus the starting accuracy)."""
    start_weights = model.get_weights()
    start = validation.accuracy(model)
    log(f"stage 2 (review-level loss): validation whole-review accuracy before {start:.4f}")
    wrapper = ReviewLogit(model)
    steps = epochs * len(batches)
    wrapper.compile(
        optimizer=keras.optimizers.Adam(
            keras.optimizers.schedules.CosineDecay(REVIEW_LEARNING_RATE, steps, alpha=0.02)
        ),
        loss="binary_crossentropy",
    )
    callbacks: list[keras.callbacks.Callback] = [
        validation,
        keras.callbacks.EarlyStopping(
            monitor="val_whole_review_accuracy", mode="max", patience=patience,
            restore_best_weights=True, verbose=1,
        ),
    ]  # fmt: skip
    if weight_average > 0:
        from training.averaging import WeightAverage

        callbacks.insert(0, WeightAverage(weight_average))
    history = wrapper.fit(batches, epochs=epochs, callbacks=callbacks, verbose=2)
    result = {k: [float(v) for v in vs] for k, vs in history.history.items()}
    best = max(result["val_whole_review_accuracy"])
    if best <= start:
        model.set_weights(start_weights)
        log(f"stage 2 did not beat stage 1 on validation ({best:.4f} <= {start:.4f}): kept stage 1")
    result["start_val_whole_review_accuracy"] = [start]
    return result


def run_stage_two(
    args: argparse.Namespace,
    model: keras.Model,
    tokenizer: Tokenizer,
    fit_texts: Sequence[str],
    fit_y: Sequence[int],
    val_texts: Sequence[str],
    val_y: npt.NDArray[np.int_],
    teacher: CrossFitTeacher | None,
    log: Callable[[str], None],
) -> dict[str, object]:
    """``--review-epochs``: build the review items, fine-tune, report what happened."""
    if teacher is None:
        raise ValueError("--review-epochs needs the teacher (--teacher nblr)")
    x, owner, targets = review_items(
        tokenizer, fit_texts, fit_y, teacher, stride=args.stride,
        spans_per_review=args.spans, label_weight=args.label_weight, seed=SEED,
    )  # fmt: skip
    batches = ReviewBatches(x, owner, targets, BATCH_SIZE, args.token_dropout, SEED)
    log(f"stage 2: {len(targets)} items ({len(x)} rows) in {len(batches)} batches")
    validation = WholeReviewAccuracy(tokenizer, val_texts, val_y, args.stride, MAX_WINDOWS, log)
    history = fine_tune_reviews(
        model, batches, args.review_epochs, validation,
        patience=args.patience, weight_average=args.weight_average, log=log,
    )  # fmt: skip
    start = history["start_val_whole_review_accuracy"][0]
    best = max(history["val_whole_review_accuracy"])
    return {
        "epochs_run": len(history["val_whole_review_accuracy"]),
        "kept": best > start,
        "start_val_whole_review_accuracy": start,
        "best_val_whole_review_accuracy": best,
        "history": {k: [round(v, 5) for v in vs] for k, vs in history.items()},
        "learning_rate": REVIEW_LEARNING_RATE,
        "max_windows": REVIEW_MAX_WINDOWS,
    }
