"""The training run's named constants and command line (``python -m training.train --help``)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from training import baselines

SEED = 1234
NUM_WORDS = 20_000
MAXLEN = 80
BATCH_SIZE = 32
MAX_EPOCHS = 10  # the seed ran 15; v3's cosine schedule spans 10 (early stopping on top)
VALIDATION_FRACTION = 0.1  # random hold-out (v1-v3)
MOVIE_VALIDATION_FRACTION = 0.15  # by movie: larger, since one movie's reviews move together
DEFAULT_UNSUP_SPANS = 1  # one-line spans cut from each unlabelled review
EARLY_STOPPING_PATIENCE = 3
LEARNING_RATE = 1e-3  # Adam's default, as in the seed
COSINE_EPOCHS = 3  # with hard labels the LSTM overfits after 1-2 epochs at a constant 1e-3
DEFAULT_WINDOWS = 3  # label-only recipe (--teacher none): windows per review
DEFAULT_STRIDE = 80  # training windows = serving windows (model_contract.tokenizer.window_starts)
MAX_WINDOWS = 32  # per review, in training and serving
DEFAULT_SPANS = 2  # one-line spans cut from each training review
DEFAULT_TOKEN_DROPOUT = 0.15
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
    p.add_argument(
        "--unsup",
        default=os.environ.get("IMDB_UNSUP"),
        help="the 50,000 unlabelled reviews (aclImdb/train/unsup: the official tarball, the "
        "shared aclImdb_v1_unsup.tar.gz or a folder; default $IMDB_UNSUP): their windows and "
        "spans are distilled from the teacher; copies of labelled reviews are dropped",
    )
    p.add_argument(
        "--movies",
        default=os.environ.get("IMDB_URLS"),
        help="the movie of every labelled review (aclImdb/{train,test}/urls_*.txt: tarball or "
        "folder; default $IMDB_URLS); enables --split movie",
    )
    p.add_argument(
        "--split",
        choices=["movie", "random"],
        help="validation hold-out: whole movies (default with --movies) or random reviews (v1-v3)",
    )
    p.add_argument("--validation-fraction", type=float, help="share of train held out")
    p.add_argument(
        "--unsup-spans", type=int, default=DEFAULT_UNSUP_SPANS, help="spans per unlabelled review"
    )
    p.add_argument(
        "--normalization",
        choices=["nfkc", "none"],
        default="nfkc",
        help="Unicode clean-up before splitting words (model_contract/normalize.py); none: v1-v3",
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
        choices=["nblr", "nblr-self", "none"],
        default="nblr",
        help="nblr: distil an NB-weighted bigram logistic regression (training/teacher.py) into every "
        "window and span; nblr-self: that teacher self-trained on its confident labels of the --unsup "
        "reviews; none: the review label for every window (v2 recipe)",
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
        "--rare-word-dropout",
        type=float,
        default=None,
        metavar="RATE",
        help="token dropout rate for words of frequency rank >= 5,000 (many film and actor names "
        "are there); default: the same as --token-dropout",
    )
    p.add_argument(
        "--patience",
        type=int,
        default=EARLY_STOPPING_PATIENCE,
        help="epochs without a better validation whole-review accuracy before stopping",
    )
    p.add_argument(
        "--embedding-init",
        choices=["random", "ppmi-svd", "ppmi-svd-v3"],
        default="ppmi-svd",
        help="ppmi-svd: start the embedding from co-occurrence vectors of the fit split's text "
        "(ppmi-svd-v3: with the extra PMI shift v3 was trained with, to reproduce it) "
        "(training/pretrain.py); random: Keras' default initialiser, as in the seed",
    )
    p.add_argument(
        "--weight-average",
        type=float,
        default=0.0,
        metavar="DECAY",
        help="validate, select and export an exponential moving average of the weights with this "
        "per-step decay, e.g. 0.999 (training/averaging.py); 0 = off, the last weights",
    )
    p.add_argument(
        "--review-epochs",
        type=int,
        default=0,
        help="stage 2: epochs of fine-tuning on the review-level loss (mean window logit vs the "
        "review's target; training/review_tuning.py); kept only if it beats stage 1 on validation",
    )
    p.add_argument(
        "--init-from",
        type=Path,
        metavar="ARTIFACT",
        help="start from this artifact's weights (a version folder with the same vocabulary) "
        "instead of random/PPMI; with --epochs 0 stage 1 is skipped",
    )
    p.add_argument("--no-baselines", action="store_true", help="skip random forest and TF-IDF")
    p.add_argument("--rf-trees", type=int, default=baselines.RF_TREES)
    p.add_argument(
        "--quick",
        action="store_true",
        help=f"smoke run: {QUICK_REVIEWS} reviews per split, 1 epoch, 10-tree forest",
    )
    p.add_argument("--report", type=Path, help="also write the metrics JSON here")
    args = p.parse_args(argv)  # then the checks argparse cannot express:
    args.argv = sys.argv[1:] if argv is None else list(argv)
    if args.split is None:
        args.split = "movie" if args.movies else "random"
    if args.validation_fraction is None:
        args.validation_fraction = (
            MOVIE_VALIDATION_FRACTION if args.split == "movie" else VALIDATION_FRACTION
        )
    if not 0.0 < args.validation_fraction < 0.5:
        raise ValueError("--validation-fraction must be in (0, 0.5)")
    if args.teacher == "nblr-self" and not args.unsup:
        raise ValueError("--teacher nblr-self needs --unsup, the reviews it labels")
    if args.unsup_spans < 0:
        raise ValueError("--unsup-spans must be >= 0")
    if args.epochs < (0 if args.init_from else 1):
        raise ValueError("--epochs must be >= 1 (0 only with --init-from)")
    if args.review_epochs < 0:
        raise ValueError("--review-epochs must be >= 0")
    if args.windows < 1:
        raise ValueError("--windows must be >= 1")
    if not 0.0 <= args.label_weight <= 1.0:
        raise ValueError("--label-weight must be in [0, 1]")
    if not 0.0 <= args.token_dropout < 1.0:
        raise ValueError("--token-dropout must be in [0, 1)")
    if args.weight_average != 0.0 and not 0.0 < args.weight_average < 1.0:
        raise ValueError("--weight-average must be 0 (off) or in (0, 1)")
    if args.rare_word_dropout is not None and not 0.0 <= args.rare_word_dropout < 1.0:
        raise ValueError("--rare-word-dropout must be in [0, 1)")
    if args.rare_word_dropout is not None and args.token_dropout == 0:
        raise ValueError("--rare-word-dropout needs --token-dropout > 0")
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
        args.epochs, args.rf_trees = min(args.epochs, 1), min(args.rf_trees, 10)
        args.review_epochs = min(args.review_epochs, 1)
    return args


def levers(args: argparse.Namespace, all_windows: bool) -> dict[str, object]:
    """The recipe's choices as recorded in the run report (``metrics.json`` → training.levers)."""
    return {
        "teacher": args.teacher,
        "label_weight": args.label_weight,
        "spans": args.spans,
        "stride": args.stride,
        "token_dropout": args.token_dropout,
        "embedding_init": args.embedding_init,
        "patience": args.patience,
        "windows": "all" if all_windows else args.windows,
        "stopwords": args.stopwords,
        "lr_schedule": args.lr_schedule,
        "weight_average": args.weight_average,
        "review_epochs": args.review_epochs,
        "rare_word_dropout": args.rare_word_dropout,
        "init_from": str(args.init_from) if args.init_from else None,
        "validation": f"{args.split} {args.validation_fraction}",
        "unlabelled": bool(args.unsup),
        "unsup_spans": args.unsup_spans if args.unsup else 0,
        "normalization": args.normalization,
    }


def command_parser(prog: str, doc: str | None) -> argparse.ArgumentParser:
    """The parser every training command starts from: its docstring as help, and ``--data``."""
    p = argparse.ArgumentParser(
        prog=prog, description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--data", help="dataset tarball or folder (default: $IMDB_DATA, then cache)")
    return p
