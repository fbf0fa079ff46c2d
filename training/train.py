"""Train the seed LSTM on the Large Movie Review Dataset and export a versioned artifact.

    python -m training.train --data ../shared/data/aclImdb_v1_labeled.tar.gz
    python -m training.train --quick --data tests/data/imdb_sample   # smoke run, ~1 minute

Protocol: vocabulary, teacher and model see only the training split minus a stratified validation
hold-out; early stopping watches validation whole-review accuracy and restores the best weights;
the test set is scored once, at the end (docs/training.md).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from model_contract.scoring import sigmoid
from model_contract.tokenizer import Tokenizer, TokenizerConfig
from training import baselines
from training.calibration import reliability_diagram
from training.corpus import load_corpus
from training.data import DatasetError
from training.evaluation import classification_metrics, format_table, library_versions
from training.export import check_equivalence, next_version, write_artifact
from training.features import last_window, windows
from training.model_card import RELIABILITY_FILE
from training.options import (
    BATCH_SIZE,
    GOLDEN_REVIEWS,
    MAX_WINDOWS,
    MAXLEN,
    NUM_WORDS,
    SEED,
    levers,
    parse_args,
)
from training.student import (
    TrainingRows,
    calibrated,
    concat_rows,
    fit_policy,
    mode_metrics,
    score_reviews,
    training_rows,
    unlabelled_rows,
)
from training.teacher import cross_fit_teacher, fit_teacher, self_train
from training.vocabulary import build_word_index


def log(msg: str) -> None:
    print(f"[train {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> dict[str, Any]:
    import keras  # deferred: `--help` and argument errors stay instant

    from training.fit import fit_student, load_student, weights_provenance
    from training.model import inference_twin
    from training.review_tuning import run_stage_two

    keras.utils.set_random_seed(SEED)
    started = time.monotonic()
    log("loading dataset")
    corpus = load_corpus(args, log)
    ds, train, test, fit, val = corpus.dataset, corpus.train, corpus.test, corpus.fit, corpus.val
    fit_texts, fit_y, val_texts, val_y = fit.texts, fit.labels, val.texts, np.asarray(val.labels)
    test_y = np.asarray(test.labels)
    unlabelled = corpus.unlabelled.texts if corpus.unlabelled is not None else []

    stopwords = () if args.stopwords == "none" else TokenizerConfig().stopwords
    config = TokenizerConfig(
        num_words=NUM_WORDS, maxlen=MAXLEN, stopwords=stopwords, normalization=args.normalization
    )
    # Never sees validation or test text (unlabelled reviews are of other movies, copies dropped).
    word_index = build_word_index([*fit_texts, *unlabelled], config)
    tokenizer = Tokenizer(config, word_index)
    log(f"vocabulary: {len(word_index)} words kept, fingerprint {config.fingerprint()[:12]}")

    teacher, cross_fitted = None, None
    if args.teacher in ("nblr", "nblr-self"):
        fit_ids = [tokenizer.to_ids(t)[0] for t in fit_texts]
        pseudo = (
            [tokenizer.to_ids(t)[0] for t in unlabelled] if args.teacher == "nblr-self" else None
        )
        teacher = (
            fit_teacher(fit_ids, fit_y) if pseudo is None else self_train(fit_ids, fit_y, pseudo)
        )
        val_teacher = teacher.probabilities([tokenizer.to_ids(t)[0] for t in val_texts])
        log(
            f"teacher ({args.teacher}, bigrams) validation accuracy {((val_teacher >= 0.5) == val_y).mean():.4f}"
        )
        cross_fitted = cross_fit_teacher(fit_ids, fit_y, unlabelled=pseudo)  # the targets
    if teacher is None and args.spans == 0:
        x_fit, y_fit_arr = windows(tokenizer, fit_texts, fit_y, args.windows)
        rows = TrainingRows(x_fit, y_fit_arr.astype(np.float32), len(x_fit), 0)
    else:
        rows = training_rows(
            tokenizer, fit_texts, fit_y, cross_fitted, stride=args.stride, max_windows=MAX_WINDOWS,
            spans_per_review=args.spans, label_weight=args.label_weight, seed=SEED,
        )  # fmt: skip
    if unlabelled and teacher is not None:
        extra = unlabelled_rows(
            tokenizer, unlabelled, teacher, stride=args.stride, max_windows=MAX_WINDOWS,
            spans_per_review=args.unsup_spans, seed=SEED,
        )  # fmt: skip
        log(f"unlabelled rows: {len(extra.x)} ({extra.windows} windows, {extra.spans} spans)")
        rows = concat_rows(rows, extra)
    x_val = last_window(tokenizer, val_texts)
    log(f"training rows: {len(rows.x)} ({rows.windows} windows, {rows.spans} one-line spans)")

    fit_started = time.monotonic()
    model = load_student(args.init_from, tokenizer) if args.init_from else None
    history: dict[str, list[float]] = {}
    if args.epochs > 0:
        model, fitted = fit_student(
            args, rows, tokenizer, [*fit_texts, *unlabelled], val_texts, x_val, val_y,
            cosine_over_all=teacher is not None, log=log, initial=model,
        )  # fmt: skip
        history = fitted.history
    assert model is not None  # parse_args: --epochs 0 only with --init-from
    stage_two = None
    if args.review_epochs > 0:
        stage_two = run_stage_two(
            args, model, tokenizer, fit_texts, fit_y, val_texts, val_y, cross_fitted, log
        )
    fit_seconds = time.monotonic() - fit_started
    monitored = history.get("val_whole_review_accuracy", [])

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
            "best_epoch": int(np.argmax(monitored)) + 1 if monitored else None,
            "history": {k: [round(float(v), 5) for v in vs] for k, vs in history.items()},
            "review_stage": stage_two,
            "wall_time_s": round(time.monotonic() - started, 1),
            "fit_time_s": round(fit_seconds, 1),
            "levers": levers(args, all_windows=teacher is not None or args.spans > 0),
            "batch_size": BATCH_SIZE,
            "max_epochs": args.epochs,
            "quick": args.quick,
            "command": " ".join(["python -m training.train", *args.argv]),
            "weights_from": weights_provenance(args.init_from),
        },
        "data": {
            "source": Path(ds.source).name,
            "sha256": ds.sha256,
            "train_reviews": len(train.texts),
            "validation_reviews": len(val_texts),
            "fit_reviews": len(fit_texts),
            "fit_rows": len(rows.x),
            "validation_split": corpus.split,
            "unlabelled_reviews": len(unlabelled),
            "unlabelled_dropped": (
                {
                    "test_copies": corpus.unlabelled.dropped_test_copies,
                    "train_copies": corpus.unlabelled.dropped_train_copies,
                    "repeats": corpus.unlabelled.dropped_duplicates,
                }
                if corpus.unlabelled is not None
                else None
            ),
            "test_reviews": len(test.texts),
        },
        "versions": library_versions(),
    }
    default_z = getattr(test_scores, policy.default_mode)
    curves: dict[str, tuple[Any, Any]] = {
        "uncalibrated": (sigmoid(default_z), test_y),
        "calibrated": (calibrated(default_z, policy, policy.default_mode), test_y),
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
