"""Proxies for the text the product is also judged on (not IMDB): one-liners and short spans.

All from the *validation* reviews (never the test set):

- ``last_sentence``: the last sentence of >= 6 words of each review, with the review's label
  (reviews tend to end on their verdict - a proxy for one-line critics' snippets);
- ``teacher_spans``: random 1-3 sentence spans, labelled by the full-text teacher's score of the
  span where it is confident (|logit| >= 2), i.e. spans that clearly carry a polarity.

    python -m training.proxies --data ../shared/data/aclImdb_v1_labeled.tar.gz [--version N]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from model_contract.scoring import Mode, ScoringPolicy, logit
from model_contract.tokenizer import Tokenizer
from training.features import SENTENCE_END
from training.options import SEED, VALIDATION_FRACTION
from training.student import calibrated, chunked, policy_logits, score_reviews

MIN_WORDS = 6
CONFIDENT_LOGIT = 2.0

Predict = Callable[[npt.NDArray[np.int32]], npt.NDArray[np.float32]]


def last_sentences(texts: Sequence[str], labels: Sequence[int]) -> tuple[list[str], list[int]]:
    out, ys = [], []
    for text, y in zip(texts, labels, strict=True):
        sentences = [s for s in SENTENCE_END.split(text) if len(s.split()) >= MIN_WORDS]
        if sentences:
            out.append(sentences[-1])
            ys.append(y)
    return out, ys


def short_text_accuracy(
    predict: Predict, tokenizer: Tokenizer, policy: ScoringPolicy, texts: Sequence[str],
    labels: Sequence[int], mode: Mode,
) -> float:  # fmt: skip
    """Served labels (windows, combination and calibration as the service does) vs ``labels``."""
    scores = score_reviews(predict, tokenizer, texts, policy.stride, policy.max_windows)
    pred = calibrated(policy_logits(scores, policy, mode), policy, mode) >= 0.5
    return round(float(np.mean(pred == np.asarray(labels))), 4)


def main(argv: list[str] | None = None) -> int:
    from model_contract.artifact import load_artifact
    from model_contract.policy import BatchPolicy
    from model_contract.runner import ModelRunner
    from training.data import fit_validation_split, load_imdb
    from training.features import sentence_spans
    from training.teacher import fit_teacher

    p = argparse.ArgumentParser(prog="python -m training.proxies", description=__doc__)
    p.add_argument("--data")
    p.add_argument("--model-dir", type=Path, default=Path("model_artifacts/imdb_lstm"))
    p.add_argument("--version", type=int)
    args = p.parse_args(argv)
    artifact = load_artifact(args.model_dir, args.version)
    fit, val = fit_validation_split(load_imdb(args.data).train, VALIDATION_FRACTION, SEED)
    val_texts, val_y = val.texts, val.labels
    tok, policy = artifact.tokenizer, artifact.scoring
    runner = ModelRunner(artifact.path, tok.config.maxlen, BatchPolicy(max_batch_size=512))

    predict = chunked(runner.predict, 512)

    teacher = fit_teacher([tok.to_ids(t)[0] for t in fit.texts], fit.labels)
    spans = sentence_spans(tok, val_texts, 2, seed=7)
    z = teacher.logits(list(spans.x))
    keep = np.abs(z) >= CONFIDENT_LOGIT
    span_probs = predict(spans.x[keep])
    results: dict[str, Any] = {"version": artifact.version}
    sent, sent_y = last_sentences(val_texts, val_y)
    for mode in ("whole", "last"):
        results[f"last_sentence_{mode}"] = short_text_accuracy(
            predict, tok, policy, sent, sent_y, mode
        )
    span_p = calibrated(logit(span_probs), policy, "last")  # a span is one window
    results["teacher_spans"] = round(float(np.mean((span_p >= 0.5) == (z[keep] >= 0))), 4)
    results["n"] = {"last_sentence": len(sent), "teacher_spans": int(keep.sum())}
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
