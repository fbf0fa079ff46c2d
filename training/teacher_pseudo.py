"""A stronger teacher from the unlabelled reviews? The NB-LR teacher refitted on its own confident
pseudo-labels (self-training), on validation held out by movie, scored on full reviews and as the
student is scored (80-token windows, mean logit). Never the test set.

    python -m training.teacher_pseudo --data <labeled> --unsup <unsup> --movies <urls>
"""

from __future__ import annotations

import json
import sys

import numpy as np

from model_contract.tokenizer import Tokenizer, TokenizerConfig
from training.calibration import mean_logits
from training.corpus import load_corpus
from training.features import review_windows
from training.options import MAX_WINDOWS, parse_args
from training.teacher import Teacher, fit_teacher
from training.vocabulary import build_word_index

THRESHOLDS = (1.0, 2.0)  # |teacher logit| a pseudo-label needs


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)  # training.train's flags: --data, --unsup, --movies, --split, ...
    if args.unsup is None:
        raise SystemExit("error: --unsup is needed")
    corpus = load_corpus(args, lambda msg: print(msg, file=sys.stderr))
    assert corpus.unlabelled is not None
    unlabelled = corpus.unlabelled.texts
    config = TokenizerConfig(normalization=args.normalization)
    tok = Tokenizer(config, build_word_index([*corpus.fit.texts, *unlabelled], config))
    fit_ids = [tok.to_ids(t)[0] for t in corpus.fit.texts]
    val_ids = [tok.to_ids(t)[0] for t in corpus.val.texts]
    unlabelled_ids = [tok.to_ids(t)[0] for t in unlabelled]
    val_y = np.asarray(corpus.val.labels)
    windows = review_windows(tok, corpus.val.texts, args.stride, MAX_WINDOWS)

    def report(name: str, teacher: Teacher, added: int) -> None:
        full = teacher.logits(val_ids)
        z = mean_logits(teacher.probabilities(list(windows.x)), windows.review, len(val_ids))
        row = {
            "teacher": name,
            "pseudo_labelled": added,
            "val_full_review": round(float(((full >= 0) == val_y).mean()), 4),
            "val_window_mean": round(float(((z >= 0) == val_y).mean()), 4),
        }
        print(json.dumps(row), flush=True)

    base = fit_teacher(fit_ids, corpus.fit.labels)
    report("NB-LR, fit split", base, 0)
    z = base.logits(unlabelled_ids)
    for threshold in THRESHOLDS:
        keep = np.flatnonzero(np.abs(z) >= threshold)
        rows = fit_ids + [unlabelled_ids[i] for i in keep]
        labels = list(corpus.fit.labels) + [int(z[i] >= 0) for i in keep]
        report(f"self-trained, |logit| >= {threshold}", fit_teacher(rows, labels), len(keep))
    return 0


if __name__ == "__main__":
    sys.exit(main())
