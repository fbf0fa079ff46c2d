"""Train the seed LSTM on the Large Movie Review Dataset and export a versioned artifact.

    python -m training.train --data ../shared/data/aclImdb_v1_labeled.tar.gz
    python -m training.train --quick --data tests/data/imdb_sample   # smoke run, ~1 minute

Protocol: vocabulary and model see only the training split minus a stratified validation hold-out;
early stopping watches validation loss and restores the best weights; the test set is scored once.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.model_selection import train_test_split

from model_contract.scoring import sigmoid
from model_contract.tokenizer import Tokenizer, TokenizerConfig
from training import baselines
from training.calibration import reliability_diagram
from training.data import Dataset, DatasetError, Split, load_imdb
from training.evaluation import classification_metrics, format_table, library_versions
from training.export import check_equivalence, next_version, write_artifact
from training.features import last_window, windows
from training.model_card import RELIABILITY_FILE
from training.student import TrainingRows, fit_policy, mode_metrics, score_reviews, training_rows
from training.teacher import cross_fit_teacher, fit_teacher
from training.vocabulary import build_word_index

SEED = 1234
NUM_WORDS = 20_000
MAXLEN = 80
BATCH_SIZE = 32
MAX_EPOCHS = 15
VALIDATION_FRACTION = 0.1
EARLY_STOPPING_PATIENCE = 2
LEARNING_RATE = 1e-3  # Adam's default, as in the seed
COSINE_EPOCHS = 3  # with hard labels the LSTM overfits after 1-2 epochs at a constant 1e-3
DEFAULT_WINDOWS = 3  # label-only recipe (--teacher none): windows per review
DEFAULT_STRIDE = 80  # training windows = serving windows (model_contract.tokenizer.window_starts)
MAX_WINDOWS = 32  # per review, in training and serving
DEFAULT_SPANS = 2  # one-line spans cut from each training review
DEFAULT_TOKEN_DROPOUT = 0.0
DEFAULT_LABEL_WEIGHT = 0.3  # target = w * review label + (1 - w) * teacher, for review windows
GOLDEN_REVIEWS = 4  # validation reviews whose ids ship in the artifact as a parity check
QUICK_REVIEWS = 400  # per split in --quick mode
DEFAULT_MODEL_DIR = Path("model_artifacts/imdb_lstm")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m training.train",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--data",
        help="aclImdb_v1.tar.gz, the labeled repack, or an aclImdb/ folder "
        "(default: $IMDB_DATA, then the download cache, then download)",
    )
    p.add_argument("--model-dir", type=Path, default=DEFAULT_MODEL_DIR)
    p.add_argument("--version", type=int, help="artifact version (default: highest + 1)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing version")
    p.add_argument("--epochs", type=int, default=MAX_EPOCHS, help="maximum epochs")
    p.add_argument(
        "--windows",
        type=int,
        default=DEFAULT_WINDOWS,
        help="80-token training windows per review (1 = the seed's last window only)",
    )
    p.add_argument(
        "--stopwords",
        choices=["default", "none"],
        default="default",
        help="drop frequent function words (negations kept) before windowing",
    )
    p.add_argument(
        "--lr-schedule",
        choices=["constant", "plateau", "cosine"],
        default="cosine",
        help="plateau: halve the learning rate when validation loss stalls; cosine: decay "
        f"from {LEARNING_RATE} towards 0 over {COSINE_EPOCHS} epochs",
    )
    p.add_argument(
        "--teacher",
        choices=["nblr", "none"],
        default="nblr",
        help="nblr: distil an NB-weighted bigram logistic regression (training/teacher.py) into "
        "every window and span; none: the review label for every window (v2 recipe)",
    )
    p.add_argument(
        "--label-weight",
        type=float,
        default=DEFAULT_LABEL_WEIGHT,
        help="share of the review label in a window's target (the rest is the teacher's score)",
    )
    p.add_argument(
        "--spans", type=int, default=DEFAULT_SPANS, help="one-line spans per training review"
    )
    p.add_argument(
        "--stride", type=int, default=DEFAULT_STRIDE, help="window stride (training and serving)"
    )
    p.add_argument(
        "--token-dropout",
        type=float,
        default=DEFAULT_TOKEN_DROPOUT,
        help="share of words replaced by the OOV id, fresh each epoch (training/augment.py)",
    )
    p.add_argument(
        "--patience",
        type=int,
        default=EARLY_STOPPING_PATIENCE,
        help="epochs without a better validation whole-review accuracy before stopping",
    )
    p.add_argument(
        "--embedding-init",
        choices=["random", "ppmi-svd"],
        default="random",
        help="ppmi-svd: start the embedding from co-occurrence vectors of the fit split's text "
        "(training/pretrain.py); random: Keras' default initialiser, as in the seed",
    )
    p.add_argument("--no-baselines", action="store_true", help="skip random forest and TF-IDF")
    p.add_argument("--rf-trees", type=int, default=baselines.RF_TREES)
    p.add_argument(
        "--quick",
        action="store_true",
        help=f"smoke run: {QUICK_REVIEWS} reviews per split, 1 epoch, 10-tree forest",
    )
    p.add_argument("--report", type=Path, help="also write the metrics JSON here")
    args = p.parse_args(argv)
    args.argv = sys.argv[1:] if argv is None else list(argv)
    if args.epochs < 1:
        raise ValueError("--epochs must be >= 1")
    if args.windows < 1:
        raise ValueError("--windows must be >= 1")
    if not 0.0 <= args.label_weight <= 1.0:
        raise ValueError("--label-weight must be in [0, 1]")
    if not 0.0 <= args.token_dropout < 1.0:
        raise ValueError("--token-dropout must be in [0, 1)")
    if args.patience < 1:
        raise ValueError("--patience must be >= 1")
    if args.spans < 0:
        raise ValueError("--spans must be >= 0")
    if not 1 <= args.stride <= MAXLEN:
        raise ValueError(f"--stride must be in [1, {MAXLEN}]")
    if args.rf_trees < 1:
        raise ValueError("--rf-trees must be >= 1")
    if args.version is not None and args.version < 1:
        raise ValueError("--version must be a positive integer")
    if args.quick:
        args.epochs, args.rf_trees = 1, min(args.rf_trees, 10)
    return args


def log(msg: str) -> None:
    print(f"[train {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def subsample(split: Split, n: int, seed: int) -> Split:
    """A stratified, seeded subset (used by --quick)."""
    if len(split.texts) <= n:
        return split
    idx, _ = train_test_split(
        np.arange(len(split.texts)), train_size=n, random_state=seed, stratify=split.labels
    )
    idx = np.sort(idx)
    return Split(
        [split.texts[i] for i in idx], [split.labels[i] for i in idx], [split.ids[i] for i in idx]
    )


def run(args: argparse.Namespace) -> dict[str, Any]:
    import keras  # deferred: `--help` and argument errors stay instant

    from training.callbacks import WholeReviewAccuracy
    from training.model import build_model, compile_model, inference_twin

    keras.utils.set_random_seed(SEED)
    started = time.monotonic()
    log("loading dataset")
    ds: Dataset = load_imdb(args.data)
    train, test = ds.train, ds.test
    if args.quick:
        train, test = subsample(train, QUICK_REVIEWS, SEED), subsample(test, QUICK_REVIEWS, SEED)
    log(f"{len(train.texts)} train / {len(test.texts)} test reviews from {ds.source}")

    fit_idx, val_idx = train_test_split(
        np.arange(len(train.texts)),
        test_size=VALIDATION_FRACTION,
        random_state=SEED,
        stratify=train.labels,
    )
    fit_texts = [train.texts[i] for i in fit_idx]
    fit_y = [train.labels[i] for i in fit_idx]
    val_texts = [train.texts[i] for i in val_idx]
    val_y = np.asarray([train.labels[i] for i in val_idx])
    test_y = np.asarray(test.labels)

    stopwords = () if args.stopwords == "none" else TokenizerConfig().stopwords
    config = TokenizerConfig(num_words=NUM_WORDS, maxlen=MAXLEN, stopwords=stopwords)
    word_index = build_word_index(fit_texts, config)  # never sees validation or test text
    tokenizer = Tokenizer(config, word_index)
    log(f"vocabulary: {len(word_index)} words kept, fingerprint {config.fingerprint()[:12]}")

    teacher, cross_fitted = None, None
    if args.teacher == "nblr":
        fit_ids = [tokenizer.to_ids(t)[0] for t in fit_texts]
        teacher = fit_teacher(fit_ids, fit_y)  # reported as a baseline
        val_teacher = teacher.probabilities([tokenizer.to_ids(t)[0] for t in val_texts])
        log(
            f"teacher (NB-LR bigrams) validation accuracy {((val_teacher >= 0.5) == val_y).mean():.4f}"
        )
        cross_fitted = cross_fit_teacher(fit_ids, fit_y)  # gives the training targets
    if teacher is None and args.spans == 0:
        x_fit, y_fit_arr = windows(tokenizer, fit_texts, fit_y, args.windows)
        rows = TrainingRows(x_fit, y_fit_arr.astype(np.float32), len(x_fit), 0)
    else:
        rows = training_rows(
            tokenizer, fit_texts, fit_y, cross_fitted, stride=args.stride, max_windows=MAX_WINDOWS,
            spans_per_review=args.spans, label_weight=args.label_weight, seed=SEED,
        )  # fmt: skip
    x_val = last_window(tokenizer, val_texts)
    log(f"training rows: {len(rows.x)} ({rows.windows} windows, {rows.spans} one-line spans)")

    model = build_model(NUM_WORDS, MAXLEN)
    if args.embedding_init == "ppmi-svd":
        from training.model import EMBEDDING_DIM
        from training.pretrain import ppmi_svd_embeddings

        vectors = ppmi_svd_embeddings(
            [tokenizer.to_ids(t)[0] for t in fit_texts], NUM_WORDS, EMBEDDING_DIM
        )
        model.get_layer("embedding").set_weights([vectors])
        log("embedding initialised from PPMI-SVD vectors of the fit split")
    cosine_epochs = COSINE_EPOCHS if teacher is None else args.epochs
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
    if args.lr_schedule == "plateau":
        callbacks.append(
            keras.callbacks.ReduceLROnPlateau(
                monitor="val_loss", factor=0.5, patience=0, min_lr=1e-5, verbose=1
            )
        )
    fit_started = time.monotonic()
    if args.token_dropout > 0:
        from training.augment import TokenDropout

        batches = TokenDropout(rows.x, rows.y, BATCH_SIZE, args.token_dropout, SEED)
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
    fit_seconds = time.monotonic() - fit_started
    monitored = history.history["val_whole_review_accuracy"]

    twin = inference_twin(model, NUM_WORDS, MAXLEN)
    max_diff = check_equivalence(model, twin, x_val[:512])

    def predict(x: np.ndarray) -> np.ndarray:
        return np.asarray(twin.predict(x, batch_size=512, verbose=0)).reshape(-1)

    val_scores = score_reviews(predict, tokenizer, val_texts, args.stride, MAX_WINDOWS)
    policy = fit_policy(val_scores, val_y, args.stride, MAX_WINDOWS)
    val_modes = mode_metrics(val_scores, val_y, policy)
    # The test set, once: both modes, calibrated with the validation fit.
    test_scores = score_reviews(predict, tokenizer, test.texts, args.stride, MAX_WINDOWS)
    test_modes = mode_metrics(test_scores, test_y, policy)
    val_metrics = val_modes[policy.default_mode]
    test_metrics = test_modes[policy.default_mode]
    log(
        f"default mode {policy.default_mode}: validation accuracy {val_metrics['accuracy']:.4f}, "
        f"test accuracy {test_metrics['accuracy']:.4f} (last-80 {test_modes['last']['accuracy']:.4f},"
        f" whole {test_modes['whole']['accuracy']:.4f}), test ECE {test_metrics['ece']:.4f}"
    )

    baseline_metrics: dict[str, Any] = {}
    if not args.no_baselines:
        log(f"baselines: random forest ({args.rf_trees} trees), TF-IDF + logistic regression")
        baseline_metrics = baselines.run_all(
            tokenizer, fit_texts, fit_y, test.texts, test_y, rf_trees=args.rf_trees
        )
        if teacher is not None:
            test_ids = [tokenizer.to_ids(t)[0] for t in test.texts]
            baseline_metrics["NB-LR teacher (student's ids, full text)"] = classification_metrics(
                test_y, teacher.probabilities(test_ids)
            )

    metrics: dict[str, Any] = {
        "seed": SEED,
        "validation": val_metrics,
        "test": test_metrics,
        "validation_modes": val_modes,
        "test_modes": test_modes,
        "scoring": policy.to_dict(),
        "baselines": baseline_metrics,
        "export_max_abs_diff": max_diff,
        "training": {
            "epochs_run": len(monitored),
            "best_epoch": int(np.argmax(monitored)) + 1,
            "history": {k: [round(float(v), 5) for v in vs] for k, vs in history.history.items()},
            "wall_time_s": round(time.monotonic() - started, 1),
            "fit_time_s": round(fit_seconds, 1),
            "levers": {
                "teacher": args.teacher,
                "label_weight": args.label_weight,
                "spans": args.spans,
                "stride": args.stride,
                "token_dropout": args.token_dropout,
                "embedding_init": args.embedding_init,
                "patience": args.patience,
                "windows": args.windows if teacher is None and args.spans == 0 else "all",
                "stopwords": args.stopwords,
                "lr_schedule": args.lr_schedule,
            },
            "batch_size": BATCH_SIZE,
            "max_epochs": args.epochs,
            "quick": args.quick,
            "command": " ".join(["python -m training.train", *args.argv]),
        },
        "data": {
            "source": Path(ds.source).name,
            "sha256": ds.sha256,
            "train_reviews": len(train.texts),
            "validation_reviews": len(val_texts),
            "fit_reviews": len(fit_texts),
            "fit_rows": len(rows.x),
            "test_reviews": len(test.texts),
        },
        "versions": library_versions(),
    }
    default_z = getattr(test_scores, policy.default_mode)
    calibrated = [policy.combine([float(sigmoid(z))], policy.default_mode) for z in default_z]
    curves: dict[str, tuple[Any, Any]] = {
        "uncalibrated": (sigmoid(default_z), test_y),
        "calibrated": (calibrated, test_y),
    }

    def add_reliability_diagram(folder: Path) -> None:
        reliability_diagram(curves, folder / RELIABILITY_FILE)

    version = args.version or next_version(args.model_dir)
    path = write_artifact(
        model_dir=args.model_dir,
        version=version,
        twin=twin,
        tokenizer=tokenizer,
        golden_texts=val_texts[:GOLDEN_REVIEWS],
        metrics=metrics,
        overwrite=args.overwrite,
        extras=add_reliability_diagram,
    )
    log(f"exported {path}")
    print(format_table({"LSTM": test_metrics} | baseline_metrics))
    if args.report:
        args.report.write_text(json.dumps(metrics, indent=2) + "\n")
    return metrics


def main(argv: list[str] | None = None) -> int:
    try:
        args = parse_args(argv)
        run(args)
    except (ValueError, DatasetError, FileExistsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
