"""Which explanation should /explain give: occlusion with the word replaced by the OOV id or
removed, or the gradient method (gradient x (embedding - unknown-word embedding))?

In-process (the service's own ``ModelRunner``, XLA, batches of 64, and
``model_contract.gradients``; no HTTP), on real IMDB test reviews, for each scoring mode and method:

- deletion faithfulness: delete the top-k words (by contribution towards the predicted label) from
  the *text*, re-score it exactly as /predict does, and compare the drop in P(predicted label) with
  deleting k random explained words;
- fidelity: how well one word's ``probability_change`` predicts the effect of deleting just that
  word (mean |predicted - actual drop| for each review's top word);
- cost: model rows per explanation (the gradient method: one forward and backward pass per window
  on top) and planning time.

    .venv/bin/python -m bench.explain_baselines [--n 300] [--model-dir DIR]
"""

from __future__ import annotations

import argparse
import random
import time
from pathlib import Path

import numpy as np

from app.config import Settings
from app.explain.plan import Baseline, Method, explain, explain_gradient, plan_explanation
from app.explain.words import Explanation
from bench.reviews import dataset_path
from model_contract.artifact import load_artifact
from model_contract.scoring import Mode

KS = (1, 3, 5, 10)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=300, help="test reviews (default 300)")
    parser.add_argument("--model-dir", type=Path, default=None)
    args = parser.parse_args()

    from model_contract.gradients import build_attributor, load_weights
    from model_contract.runner import ModelRunner
    from training.data import load_imdb

    settings = Settings(**({"model_dir": args.model_dir} if args.model_dir else {}))
    artifact = load_artifact(settings.resolved_model_dir())
    tok, policy = artifact.tokenizer, artifact.scoring
    runner = ModelRunner(artifact.path, tok.config.maxlen, settings.batch_policy)
    runner.warmup()
    golden = np.asarray([g["ids"] for g in artifact.preprocessing["golden"]], np.int32)
    weights = load_weights(artifact.path, tok.config.maxlen)
    attributor = build_attributor(runner.signature, weights, tok.config.oov_id, golden)
    step = settings.max_batch_size

    def run(rows: np.ndarray) -> list[float]:
        out: list[float] = []
        for i in range(0, len(rows), step):
            out += runner.predict(np.ascontiguousarray(rows[i : i + step])).tolist()
        return out

    def score(texts: list[str], mode: Mode) -> np.ndarray:
        rows, counts = [], []
        for t in texts:
            r = (
                tok.encode(t).ids[None]
                if mode == "last"
                else tok.encode_windows(t, policy.stride, policy.max_windows).rows
            )
            rows.append(r)
            counts.append(len(r))
        probs, out, at = run(np.concatenate(rows)), [], 0
        for n in counts:
            out.append(policy.combine(probs[at : at + n], mode))
            at += n
        return np.asarray(out)

    plan_explanation(tok, policy, "warm up", "last", max_windows=1, max_rows=9)  # word table
    source = dataset_path()
    texts = random.Random(5).sample(load_imdb(str(source)).test.texts, args.n)
    print(f"{args.n} test reviews from {source.name}; model version {artifact.version}\n")
    print(
        "| mode | method, baseline | rows/review | plan ms | top-1 fidelity err | "
        + " | ".join(f"k={k} top vs random drop" for k in KS)
        + " |"
    )
    print("|---|---|---:|---:|---:|" + "---:|" * len(KS))
    for mode in ("last", "whole"):
        base = score(texts, mode)
        sign = np.where(base >= 0.5, 1.0, -1.0)
        methods: tuple[tuple[Method, Baseline], ...] = (
            ("occlusion", "oov"),
            ("occlusion", "remove"),
            ("gradient", "oov"),
        )
        for method, baseline in methods:
            results: list[Explanation] = []
            rows, plan_s = 0, 0.0
            for t in texts:
                t0 = time.perf_counter()
                plan = plan_explanation(
                    tok,
                    policy,
                    t,
                    mode,
                    max_windows=policy.max_windows,
                    max_rows=512,
                    baseline=baseline,
                    method=method,
                )
                plan_s += time.perf_counter() - t0
                rows += len(plan.rows)
                if method == "gradient":
                    _, attributions = attributor.attribute(plan.rows)
                    results.append(explain_gradient(plan, run(plan.rows), attributions, policy))
                else:
                    results.append(explain(plan, run(plan.rows), policy))
            cells, fidelity = [], []
            rng = random.Random(0)
            for k in KS:
                top_t, rand_t, top1_pred = [], [], []
                for t, s, r in zip(texts, sign, results, strict=True):
                    scored = [x for x in r.tokens if x["status"] == "scored"]
                    ranked = sorted(scored, key=lambda x: -s * (x["contribution"] or 0.0))
                    top = [x for x in ranked[:k] if s * (x["contribution"] or 0.0) > 0] or ranked[
                        :1
                    ]
                    top_t.append(_delete(t, top))
                    rand_t.append(_delete(t, rng.sample(scored, len(top))))
                    top1_pred.append(s * (ranked[0]["probability_change"] or 0.0))
                d_top = sign * (base - score(top_t, mode))
                d_rand = sign * (base - score(rand_t, mode))
                cells.append(
                    f"{d_top.mean():.4f} vs {d_rand.mean():.4f} ({(d_top > d_rand).mean():.0%})"
                )
                if k == 1:
                    fidelity = list(np.abs(np.asarray(top1_pred) - d_top))
            print(
                f"| {mode} | {method}, {baseline} | {rows / len(texts):.1f} | {1000 * plan_s / len(texts):.2f} | "
                f"{np.mean(fidelity):.4f} | " + " | ".join(cells) + " |"
            )
    return 0


def _delete(text: str, tokens: list) -> str:  # type: ignore[type-arg]
    out, at = [], 0
    for x in sorted(tokens, key=lambda x: x["start"]):
        out.append(text[at : x["start"]])
        at = x["end"]
    return "".join([*out, text[at:]])


if __name__ == "__main__":
    raise SystemExit(main())
