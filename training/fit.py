"""Build the seed network, initialise it, and fit it on the training rows (keras).

Model selection watches validation *whole-review* accuracy (``training/callbacks.py``) and restores
the best epoch's weights.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import keras
import numpy as np
import numpy.typing as npt

from model_contract.network import build_model
from model_contract.tokenizer import Tokenizer
from training.callbacks import WholeReviewAccuracy
from training.model import compile_model
from training.options import (
    BATCH_SIZE,
    COSINE_EPOCHS,
    LEARNING_RATE,
    MAX_WINDOWS,
    MAXLEN,
    NUM_WORDS,
    SEED,
)
from training.student import TrainingRows


def fit_student(
    args: argparse.Namespace,
    rows: TrainingRows,
    tokenizer: Tokenizer,
    fit_texts: Sequence[str],
    val_texts: Sequence[str],
    x_val: npt.NDArray[np.int32],
    val_y: npt.NDArray[np.int_],
    *,
    cosine_over_all: bool,
    log: Callable[[str], None],
    initial: keras.Model | None = None,
) -> tuple[keras.Model, Any]:
    """The trained model (best epoch restored) and its Keras history; ``initial``: train this
    model further instead of a fresh one (``--init-from``)."""
    model = initial if initial is not None else build_model(NUM_WORDS, MAXLEN)
    if initial is None and args.embedding_init in ("ppmi-svd", "ppmi-svd-v3"):
        from model_contract.network import EMBEDDING_DIM
        from training.pretrain import ppmi_svd_embeddings

        vectors = ppmi_svd_embeddings(
            [tokenizer.to_ids(t)[0] for t in fit_texts],
            NUM_WORDS,
            EMBEDDING_DIM,
            v3_shift=args.embedding_init == "ppmi-svd-v3",
        )
        model.get_layer("embedding").set_weights([vectors])
        log(f"embedding initialised from {args.embedding_init} vectors of the fit split")
    cosine_epochs = args.epochs if cosine_over_all else COSINE_EPOCHS
    learning_rate: float | keras.optimizers.schedules.LearningRateSchedule = LEARNING_RATE
    if args.lr_schedule == "cosine":
        steps_per_epoch = -(-len(rows.x) // BATCH_SIZE)
        learning_rate = keras.optimizers.schedules.CosineDecay(
            LEARNING_RATE, decay_steps=cosine_epochs * steps_per_epoch, alpha=0.02
        )
    compile_model(model, learning_rate)
    whole_review = WholeReviewAccuracy(tokenizer, val_texts, val_y, args.stride, MAX_WINDOWS, log)
    callbacks: list[keras.callbacks.Callback] = [
        whole_review,
        keras.callbacks.EarlyStopping(
            monitor="val_whole_review_accuracy",
            mode="max",
            patience=args.patience,
            restore_best_weights=True,
            verbose=1,
        ),
    ]
    if args.weight_average > 0:
        from training.averaging import WeightAverage

        callbacks.insert(0, WeightAverage(args.weight_average))  # first: the others see the mean
        log(f"weight averaging: EMA decay {args.weight_average} per step")
    if args.lr_schedule == "plateau":
        callbacks.append(
            keras.callbacks.ReduceLROnPlateau(
                monitor="val_loss", factor=0.5, patience=0, min_lr=1e-5, verbose=1
            )
        )
    if args.token_dropout > 0:
        from training.augment import TokenDropout

        batches = TokenDropout(
            rows.x, rows.y, BATCH_SIZE, args.token_dropout, SEED,
            rare_rate=args.rare_word_dropout,
        )  # fmt: skip
        history = model.fit(
            batches,
            epochs=args.epochs,
            validation_data=(x_val, val_y),
            callbacks=callbacks,
            verbose=2,
        )
    else:
        history = model.fit(
            rows.x,
            rows.y,
            batch_size=BATCH_SIZE,
            epochs=args.epochs,
            validation_data=(x_val, val_y),
            callbacks=callbacks,
            shuffle=True,
            verbose=2,
        )
    return model, history


def load_student(artifact_dir: Path, tokenizer: Tokenizer) -> keras.Model:
    """A trainable seed network holding a committed artifact's weights (``--init-from``).

    The artifact must tokenize exactly like this run (same config and word index), or its
    embedding rows would mean other words: refused with a ``ValueError``.
    """
    from model_contract.artifact import ArtifactError, load_artifact
    from model_contract.network import NetworkError, rebuild_network
    from model_contract.tokenizer import word_index_sha256

    try:
        artifact = load_artifact(artifact_dir.parent, int(artifact_dir.name))
        theirs = artifact.tokenizer
        if theirs.config.fingerprint() != tokenizer.config.fingerprint() or word_index_sha256(
            theirs.word_index
        ) != word_index_sha256(tokenizer.word_index):
            raise ValueError("its tokenizer or vocabulary differs")
        model = build_model(NUM_WORDS, MAXLEN)  # trainable: the seed's recurrent dropout
        model.set_weights(rebuild_network(artifact.path, MAXLEN).get_weights())
    except (ArtifactError, NetworkError, ValueError) as exc:
        raise ValueError(f"--init-from {artifact_dir}: {exc}") from None
    return model


def weights_provenance(artifact_dir: Path | None) -> dict[str, Any] | None:
    """How ``--init-from``'s weights were trained (its own metrics' "training"), for the record."""
    if artifact_dir is None:
        return None
    training = json.loads((artifact_dir / "metrics.json").read_text(encoding="utf-8"))["training"]
    keys = ("command", "epochs_run", "best_epoch", "wall_time_s", "fit_time_s", "history", "levers")
    return {"artifact": str(artifact_dir)} | {k: training.get(k) for k in keys}
