"""Per-word explanations by occlusion: which words moved this review's P(positive), and how much.

Pure logic (numpy; no TensorFlow, no FastAPI). ``plan_explanation`` turns a review into model rows:
the scored windows exactly as ``/predict`` cuts them, then one variant row per (word, window holding
it) without that word. The caller runs all rows through the batcher in one submit; ``explain``
combines the outputs like ``ScoringPolicy.combine``: a word's contribution is P(review) -
P(review without it).

Baseline ``remove`` (default): the word is deleted and its window keeps its end, so one earlier word
slides in - exactly the review with the word deleted in "last" mode; in "whole" mode the windows
before the word would also shift by one, which the variant leaves out. ``oov``: the word is replaced
by the unknown-word id - exact in both modes (nothing moves), but it answers "what if the model did
not know this word" rather than "without this word". Same rows either way; measured on 300 IMDB test
reviews (``bench/explain_baselines.py``), deleting a review's top words moves the model slightly more
with ``remove``'s ranking, and its contributions predict a deletion's effect better.

Cost: at most ``max_rows`` rows - the scored windows, then words from the end of the review
backwards until the budget is spent; earlier words are reported as ``not_explained``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from app.explain_words import Word, split_words
from model_contract.scoring import Mode, ScoringPolicy, logit, sigmoid
from model_contract.tokenizer import Tokenizer, TokenizerConfig, pad_sequence, window_starts

Baseline = Literal["oov", "remove"]
Status = Literal["scored", "oov", "stopword", "not_scored", "not_explained"]


@dataclass(frozen=True)
class Plan:
    words: list[Word]
    ids: list[int]  # start token + kept ids: what the tokenizer feeds the windows
    starts: list[int]  # window offsets into ``ids``, last window first (as ``encode_windows``)
    rows: npt.NDArray[np.int32]  # the scored windows, then the variants
    n_windows: int
    variant_window: npt.NDArray[np.intp]  # per variant row: which window it perturbs
    variant_position: npt.NDArray[np.intp]  # per variant row: which id it perturbs
    explained: frozenset[int]  # positions with every variant row in the plan
    mode: Mode
    baseline: Baseline
    oov_id: int
    maxlen: int


@dataclass(frozen=True)
class TokenExplanation:
    text: str
    start: int | None
    end: int | None
    id: int | None
    in_vocabulary: bool
    status: Status
    contribution: float | None


@dataclass(frozen=True)
class Explanation:
    probability: float
    tokens: list[TokenExplanation]
    windows: int
    rows: int
    explained_words: int


def _starts(
    n_ids: int, tokenizer: Tokenizer, policy: ScoringPolicy, mode: Mode, k: int
) -> list[int]:
    """Window offsets exactly as ``encode`` (last) / ``encode_windows`` (whole) cut them."""
    maxlen = tokenizer.config.maxlen
    if n_ids <= maxlen or tokenizer.config.truncating != "pre":
        return [0]
    if mode == "last":
        return [n_ids - maxlen]
    return window_starts(n_ids, maxlen, policy.stride, k)


def _slot(start: int, length: int, position: int, padding: str, maxlen: int) -> int:
    """Column of ``ids[position]`` in the padded row of window ``ids[start:start+length]``."""
    return position - start + (maxlen - length if padding == "pre" else 0)


def plan_explanation(
    tokenizer: Tokenizer,
    policy: ScoringPolicy,
    text: str,
    mode: Mode,
    *,
    max_windows: int,
    max_rows: int,
    baseline: Baseline = "remove",
) -> Plan:
    """Model rows for one explanation, at most ``max_rows`` (see the module doc)."""
    cfg = tokenizer.config
    words = split_words(tokenizer, text)
    ids = [cfg.start_id, *(w.id for w in words if w.id is not None)]
    starts = _starts(len(ids), tokenizer, policy, mode, max(1, min(max_windows, max_rows)))
    spans = [(s, min(len(ids), s + cfg.maxlen) - s) for s in starts]
    base = np.stack([pad_sequence(ids[s : s + n], cfg) for s, n in spans])
    budget = max_rows - len(base)
    win_of: list[int] = []
    pos_of: list[int] = []
    explained: set[int] = set()
    for p in range(len(ids) - 1, 0, -1):  # words from the end backwards, start token excluded
        if ids[p] == cfg.oov_id:
            continue  # the model sees only "unknown word" here: reported as "oov", not explained
        windows = [w for w, (s, n) in enumerate(spans) if s <= p < s + n]
        if len(windows) > budget:
            break
        budget -= len(windows)
        win_of += windows
        pos_of += [p] * len(windows)
        if windows:
            explained.add(p)
    variants = _variants(base, spans, ids, win_of, pos_of, cfg, baseline)
    return Plan(
        words=words,
        ids=ids,
        starts=starts,
        rows=np.concatenate([base, variants]).astype(np.int32, copy=False),
        n_windows=len(base),
        variant_window=np.asarray(win_of, dtype=np.intp),
        variant_position=np.asarray(pos_of, dtype=np.intp),
        explained=frozenset(explained),
        mode=mode,
        baseline=baseline,
        oov_id=cfg.oov_id,
        maxlen=cfg.maxlen,
    )


def _variants(
    base: npt.NDArray[np.int32],
    spans: list[tuple[int, int]],
    ids: list[int],
    win_of: list[int],
    pos_of: list[int],
    cfg: TokenizerConfig,
    baseline: Baseline,
) -> npt.NDArray[np.int32]:
    """One row per (window, position): the window without that word (see the module doc)."""
    rows = base[win_of] if win_of else np.zeros((0, cfg.maxlen), np.int32)
    pre = cfg.padding == "pre" and cfg.truncating == "pre"
    if baseline == "remove" and not pre:  # "post" configurations: one row at a time
        for i, (w, p) in enumerate(zip(win_of, pos_of, strict=True)):
            s, n = spans[w]
            lo, hi = (max(0, s - 1), s + n) if cfg.truncating == "pre" else (s, s + n + 1)
            rows[i] = pad_sequence([*ids[lo:p], *ids[p + 1 : hi]][-cfg.maxlen :], cfg)
        return rows
    slots = [
        _slot(*spans[w], p, cfg.padding, cfg.maxlen) for w, p in zip(win_of, pos_of, strict=True)
    ]
    cols = np.asarray(slots, dtype=np.intp).reshape(-1, 1)
    if baseline == "oov":
        np.put_along_axis(rows, cols, cfg.oov_id, axis=1)
        return rows
    # Everything left of the word moves one column right; the id before the window enters at 0.
    j = np.arange(cfg.maxlen)
    rows = np.take_along_axis(rows, np.where((j >= 1) & (j <= cols), j - 1, j), axis=1)
    rows[:, 0] = [ids[spans[w][0] - 1] if spans[w][0] > 0 else cfg.pad_id for w in win_of]
    return rows


def _occluded_probabilities(
    plan: Plan, probs: npt.NDArray[np.float64], policy: ScoringPolicy
) -> dict[int, float]:
    """P(positive) of the review with each explained word occluded, combined like ``combine``."""
    k = plan.n_windows
    if plan.variant_window.size == 0:
        return {}
    variant = probs[k:]
    cal = policy.platt.get(plan.mode)
    if cal is None and k == 1:  # ``combine`` returns a lone uncalibrated row's output as is
        return {int(p): float(v) for p, v in zip(plan.variant_position, variant, strict=True)}
    z_base = logit(probs[:k])
    delta = np.zeros(len(plan.ids))
    np.add.at(delta, plan.variant_position, logit(variant) - z_base[plan.variant_window])
    positions = np.fromiter(sorted(plan.explained), dtype=np.intp)
    z = (z_base.sum() + delta[positions]) / k
    if cal is not None:
        z = cal.a * z + cal.b
    return dict(zip(positions.tolist(), sigmoid(z).tolist(), strict=True))


def explain(plan: Plan, outputs: Sequence[float], policy: ScoringPolicy) -> Explanation:
    """Contributions from the model's outputs for ``plan.rows`` (in order)."""
    probs = np.asarray(outputs, dtype=np.float64)
    if probs.shape != (len(plan.rows),):
        raise ValueError(f"expected {len(plan.rows)} outputs, got {probs.shape}")
    probability = policy.combine(probs[: plan.n_windows].tolist(), plan.mode)
    without = _occluded_probabilities(plan, probs, policy)
    seen = {p for s in plan.starts for p in range(s, min(len(plan.ids), s + plan.maxlen))}
    tokens = []
    for w in plan.words:
        status: Status
        contribution = None
        if w.position is None:
            status = "stopword"
        elif w.position not in seen:
            status = "not_scored"
        elif w.id == plan.oov_id:
            status = "oov"
        elif w.position in without:
            status, contribution = "scored", probability - without[w.position]
        else:
            status = "not_explained"
        in_vocab = w.id is not None and w.id != plan.oov_id
        tokens.append(
            TokenExplanation(w.text, w.start, w.end, w.id, in_vocab, status, contribution)
        )
    return Explanation(
        probability=probability,
        tokens=tokens,
        windows=plan.n_windows,
        rows=len(plan.rows),
        explained_words=len(without),
    )
