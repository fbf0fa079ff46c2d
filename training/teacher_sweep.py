"""Is a stronger teacher within reach? Validation accuracy of the NB-LR teacher per n-gram range
and C, on full reviews and as the student is scored (80-token windows, mean logit).

Fit split and validation exactly as in ``training.train`` (never the test set):

    python -m training.teacher_sweep --data ../shared/data/aclImdb_v1_labeled.tar.gz
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

from model_contract.tokenizer import Tokenizer, TokenizerConfig
from training.calibration import mean_logits
from training.data import fit_validation_split, load_imdb
from training.features import review_windows
from training.options import MAX_WINDOWS, MAXLEN, NUM_WORDS, SEED, VALIDATION_FRACTION
from training.teacher import fit_teacher
from training.vocabulary import build_word_index

NGRAM_RANGES = ((1, 2), (1, 3))
CS = (16.0, 64.0)
STRIDE = 80


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m training.teacher_sweep", description=__doc__)
    p.add_argument("--data")
    args = p.parse_args(argv)
    fit, val = fit_validation_split(load_imdb(args.data).train, VALIDATION_FRACTION, SEED)
    config = TokenizerConfig(num_words=NUM_WORDS, maxlen=MAXLEN)
    tok = Tokenizer(config, build_word_index(fit.texts, config))
    fit_ids = [tok.to_ids(t)[0] for t in fit.texts]
    val_ids = [tok.to_ids(t)[0] for t in val.texts]
    val_y = np.asarray(val.labels)
    windows = review_windows(tok, val.texts, STRIDE, MAX_WINDOWS)
    for ngrams in NGRAM_RANGES:
        for c in CS:
            started = time.monotonic()
            teacher = fit_teacher(fit_ids, fit.labels, c=c, ngrams=ngrams)
            full = teacher.logits(val_ids)
            z = mean_logits(teacher.probabilities(list(windows.x)), windows.review, len(val_ids))
            row: dict[str, object] = {
                "ngrams": list(ngrams),
                "C": c,
                "val_full_review": round(float(((full >= 0) == val_y).mean()), 4),
                "val_window_mean": round(float(((z >= 0) == val_y).mean()), 4),
                "features": len(teacher.ratios),
                "fit_s": round(time.monotonic() - started, 1),
            }
            print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
