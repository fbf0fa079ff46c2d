"""Score a model version on both validation hold-outs and on the short-text proxies.

    python -m training.validate --data <labeled tarball> --movies <urls tarball> --version N

- ``random``: v1-v3's hold-out (10 % of train, stratified, seed 1234) - shares movies with the fit
  split, so it reads above the test set;
- ``movie``: v4's hold-out (15 % of train by movie, seed 1234) - built the way the test set was;
- ``clean``: the reviews in *both* hold-outs. A model trained on one split has seen most of the
  other's reviews, so only this part is unseen by models of either recipe (~370 reviews: noisy,
  but the one fair comparison between them short of the test set).

Each part reports whole-review and last-80 accuracy, and the proxies of ``training.proxies``: the
last sentence of each review with its label, and spans the fit split's teacher scores confidently.
The test set is never read.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from model_contract.scoring import logit
from training.data import Split, fit_validation_split, load_imdb
from training.options import (
    MOVIE_VALIDATION_FRACTION,
    SEED,
    VALIDATION_FRACTION,
    command_parser,
)
from training.proxies import CONFIDENT_LOGIT, last_sentences, short_text_accuracy
from training.student import calibrated, chunked
from training.unlabelled import load_movies, movie_validation_split, movies_of


def _subset(split: Split, keep: set[str]) -> Split:
    idx = [i for i, review in enumerate(split.ids) if review in keep]
    return Split(
        [split.texts[i] for i in idx], [split.labels[i] for i in idx], [split.ids[i] for i in idx]
    )


def main(argv: list[str] | None = None) -> int:
    from model_contract.artifact import load_artifact
    from model_contract.policy import BatchPolicy
    from model_contract.runner import ModelRunner
    from training.features import sentence_spans
    from training.teacher import fit_teacher

    p = command_parser("python -m training.validate", __doc__)
    p.add_argument("--movies", required=True, help="urls_*.txt tarball or folder")
    p.add_argument("--model-dir", type=Path, default=Path("model_artifacts/imdb_lstm"))
    p.add_argument("--version", type=int)
    p.add_argument("--json", type=Path, help="also write the results here")
    args = p.parse_args(argv)
    train = load_imdb(args.data).train
    _, random_val = fit_validation_split(train, VALIDATION_FRACTION, SEED)
    movies = movies_of(train, load_movies(Path(args.movies))["train"])
    _, movie_val = movie_validation_split(train, movies, MOVIE_VALIDATION_FRACTION, SEED)
    held_out = set(random_val.ids) | set(movie_val.ids)
    fit = _subset(train, set(train.ids) - held_out)  # the teacher of the span proxy
    parts = {
        "random": random_val,
        "movie": movie_val,
        "clean": _subset(movie_val, set(random_val.ids)),
    }

    artifact = load_artifact(args.model_dir, args.version)
    tok, policy = artifact.tokenizer, artifact.scoring
    runner = ModelRunner(artifact.path, tok.config.maxlen, BatchPolicy(max_batch_size=512))
    predict = chunked(runner.predict, 512)
    teacher = fit_teacher([tok.to_ids(t)[0] for t in fit.texts], fit.labels)

    results: dict[str, Any] = {"version": artifact.version}
    for name, part in parts.items():
        out: dict[str, Any] = {"n": len(part.texts)}
        for mode in ("whole", "last"):
            out[mode] = short_text_accuracy(predict, tok, policy, part.texts, part.labels, mode)
        sent, sent_y = last_sentences(part.texts, part.labels)
        out["last_sentence"] = short_text_accuracy(predict, tok, policy, sent, sent_y, "whole")
        spans = sentence_spans(tok, part.texts, 2, seed=7)
        z = teacher.logits(list(spans.x))
        keep = np.abs(z) >= CONFIDENT_LOGIT
        span_p = calibrated(logit(predict(spans.x[keep])), policy, "last")
        out["teacher_spans"] = round(float(np.mean((span_p >= 0.5) == (z[keep] >= 0))), 4)
        out["n_proxies"] = {"last_sentence": len(sent), "teacher_spans": int(keep.sum())}
        results[name] = out
    print(json.dumps(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
