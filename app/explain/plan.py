"""Per-word explanations: which words moved this review's log-odds, and by how much.

Pure logic (numpy; no TensorFlow, no FastAPI). ``plan_explanation`` turns a review into model rows:
the scored windows exactly as ``/predict`` cuts them, then (method ``occlusion``) one variant row
per (word, window holding it) without that word. The caller runs all rows through the batcher in
one submit; ``explain`` combines the outputs like ``ScoringPolicy.combine`` (mean window logit,
then Platt). Method ``gradient`` plans the windows only; ``explain_gradient`` turns per-slot
attributions from ``model_contract.gradients`` into the same per-word numbers.

Unit: log-odds (``logit``). A word's ``contribution`` is logit(P(review)) - logit(P(review
without it)), in the calibrated log-odds the response's probability comes from; the sum over a
window's words is additive with the whole-review mean-logit combination, and it does not vanish
when a confident model saturates P(positive) near 0 or 1. ``probability_change`` is the same
effect in probability: P(review) - P(review without it).

Baseline ``remove`` (default): the word is deleted and its window keeps its end, so one earlier word
slides in - exactly the review with the word deleted in "last" mode; in "whole" mode the windows
before the word would also shift by one, which the variant leaves out. ``oov``: the word is replaced
by the unknown-word id (nothing moves; "what if the model did not know this word"). Measured on 300
IMDB test reviews (``bench/explain_baselines.py``): ``remove``'s ranking moves the model slightly
more, and its contributions predict a deletion's effect better.

Cost: at most ``max_rows`` rows - the scored windows, then words from the end of the review
backwards until the budget is spent; earlier words are reported as ``not_explained``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from app.explain.words import Explanation, Word, assemble, split_words
from model_contract.scoring import Mode, ScoringPolicy, logit
from model_contract.tokenizer import Tokenizer, TokenizerConfig, pad_sequence, window_starts

Baseline = Literal["oov", "remove"]
Method = Literal["occlusion", "gradient"]


@dataclass(frozen=True)
class Plan:
    words: list[Word]
    ids: list[int]  # start token + kept ids: what the tokenizer feeds the windows
    starts: list[int]  # window offsets into ``ids``, last window first (as ``encode_windows``)
    rows: npt.NDArray[np.int32]  # the scored windows, then the variants (occlusion)
    n_windows: int
    variant_window: npt.NDArray[np.intp]  # per variant row: which window it perturbs
    variant_position: npt.NDArray[np.intp]  # per variant row: which id it perturbs
    explained: npt.NDArray[np.intp]  # positions that get a contribution, ascending
    mode: Mode
    baseline: Baseline
    config: TokenizerConfig

    @property
    def spans(self) -> list[tuple[int, int]]:
        """(start, length) of each scored window in ``ids``."""
        return [(s, min(len(self.ids), s + self.config.maxlen) - s) for s in self.starts]


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


def _slots(spans: list[tuple[int, int]], cfg: TokenizerConfig, n_ids: int) -> npt.NDArray[np.intp]:
    """[window, position] -> column of ``ids[position]`` in that window's padded row, or -1."""
    out = np.full((len(spans), n_ids), -1, dtype=np.intp)
    for w, (s, n) in enumerate(spans):
        out[w, s : s + n] = np.arange(n) + (cfg.maxlen - n if cfg.padding == "pre" else 0)
    return out


def plan_explanation(
    tokenizer: Tokenizer,
    policy: ScoringPolicy,
    text: str,
    mode: Mode,
    *,
    max_windows: int,
    max_rows: int,
    baseline: Baseline = "remove",
    method: Method = "occlusion",
) -> Plan:
    """Model rows for one explanation, at most ``max_rows`` (see the module doc)."""
    cfg = tokenizer.config
    words = split_words(tokenizer, text)
    ids = [cfg.start_id, *(w.id for w in words if w.id is not None)]
    starts = _starts(len(ids), tokenizer, policy, mode, max(1, min(max_windows, max_rows)))
    spans = [(s, min(len(ids), s + cfg.maxlen) - s) for s in starts]
    base = np.stack([pad_sequence(ids[s : s + n], cfg) for s, n in spans])
    inside = _slots(spans, cfg, len(ids)) >= 0  # [window, position]
    inside[:, 0] = False  # the start token is not a word
    inside[:, np.asarray(ids) == cfg.oov_id] = False  # "unknown word": reported, not explained
    cost = inside.sum(axis=0)
    if method == "gradient":  # one backward pass per window: every word of every window
        positions = np.flatnonzero(cost)
    else:  # from the end backwards, until the next word does not fit the budget
        backwards = np.flatnonzero(cost)[::-1]
        fits = np.cumsum(cost[backwards]) <= max_rows - len(base)
        positions = backwards[: len(fits) if fits.all() else int(np.argmin(fits))][::-1]
    backwards = positions[::-1] if method == "occlusion" else positions[:0]
    at, win_of = np.nonzero(inside[:, backwards].T)  # position-major (from the end), then window
    pos_of = backwards[at]
    variants = _variants(base, spans, ids, win_of, pos_of, cfg, baseline)
    return Plan(
        words=words,
        ids=ids,
        starts=starts,
        rows=np.concatenate([base, variants]).astype(np.int32, copy=False),
        n_windows=len(base),
        variant_window=win_of.astype(np.intp),
        variant_position=pos_of.astype(np.intp),
        explained=positions.astype(np.intp),
        mode=mode,
        baseline=baseline if method == "occlusion" else "oov",
        config=cfg,
    )


def _variants(
    base: npt.NDArray[np.int32],
    spans: list[tuple[int, int]],
    ids: list[int],
    win_of: npt.NDArray[np.intp],
    pos_of: npt.NDArray[np.intp],
    cfg: TokenizerConfig,
    baseline: Baseline,
) -> npt.NDArray[np.int32]:
    """One row per (window, position): the window without that word (see the module doc)."""
    rows = base[win_of] if len(win_of) else np.zeros((0, cfg.maxlen), np.int32)
    pre = cfg.padding == "pre" and cfg.truncating == "pre"
    if baseline == "remove" and not pre:  # "post" configurations: one row at a time
        for i, (w, p) in enumerate(zip(win_of.tolist(), pos_of.tolist(), strict=True)):
            s, n = spans[w]
            lo, hi = (max(0, s - 1), s + n) if cfg.truncating == "pre" else (s, s + n + 1)
            rows[i] = pad_sequence([*ids[lo:p], *ids[p + 1 : hi]][-cfg.maxlen :], cfg)
        return rows
    starts = np.asarray([s for s, _ in spans], dtype=np.intp)
    lengths = np.asarray([n for _, n in spans], dtype=np.intp)
    shift = cfg.maxlen - lengths if cfg.padding == "pre" else np.zeros_like(lengths)
    cols = (pos_of - starts[win_of] + shift[win_of]).reshape(-1, 1)
    if baseline == "oov":
        np.put_along_axis(rows, cols, cfg.oov_id, axis=1)
        return rows
    # Everything left of the word moves one column right; the id before the window enters at 0.
    j = np.arange(cfg.maxlen)
    rows = np.take_along_axis(rows, np.where((j >= 1) & (j <= cols), j - 1, j), axis=1)
    before = np.asarray([ids[s - 1] if s > 0 else cfg.pad_id for s, _ in spans], dtype=np.int32)
    rows[:, 0] = before[win_of]
    return rows


def _review_logit(
    window_logits: npt.NDArray[np.float64], plan: Plan, policy: ScoringPolicy
) -> float:
    """Calibrated log-odds of the review: what ``combine`` maps through the sigmoid."""
    cal = policy.platt.get(plan.mode)
    z = float(window_logits @ _weights(plan, policy, slope=1.0))
    return cal.a * z + cal.b if cal is not None else z


def _weights(
    plan: Plan, policy: ScoringPolicy, slope: float | None = None
) -> npt.NDArray[np.float64]:
    """d(review logit) / d(each window's logit): 1/k for the mean, plus the combiner's weight for
    the last window (row 0) in whole mode, times Platt's slope."""
    if slope is None:
        cal = policy.platt.get(plan.mode)
        slope = cal.a if cal is not None else 1.0
    w = np.full(plan.n_windows, 1.0 / plan.n_windows)
    if plan.mode == "whole":
        w[0] += policy.last_weight
    return slope * w


def explain(plan: Plan, outputs: Sequence[float], policy: ScoringPolicy) -> Explanation:
    """Occlusion: contributions from the model's outputs for ``plan.rows`` (in order)."""
    probs = np.asarray(outputs, dtype=np.float64)
    if probs.shape != (len(plan.rows),):
        raise ValueError(f"expected {len(plan.rows)} outputs, got {probs.shape}")
    k = plan.n_windows
    probability = policy.combine(probs[:k].tolist(), plan.mode)
    z_windows = logit(probs[:k])
    delta = np.zeros(len(plan.ids))  # weighted sum over windows of (variant - window logit)
    change = logit(probs[k:]) - z_windows[plan.variant_window]
    np.add.at(delta, plan.variant_position, _weights(plan, policy)[plan.variant_window] * change)
    contributions = -delta[plan.explained]
    return assemble(
        plan.words,
        plan.explained,
        contributions,
        probability,
        _review_logit(z_windows, plan, policy),
        seen=_seen(plan),
        oov_id=plan.config.oov_id,
        windows=k,
        rows=len(plan.rows),
    )


def explain_gradient(
    plan: Plan,
    window_probs: Sequence[float],
    attributions: npt.NDArray[np.floating[Any]],
    policy: ScoringPolicy,
) -> Explanation:
    """Gradient: ``attributions[w, column]`` = d(window logit)/d(embedding) . (embedding -
    unknown-word embedding) for each window's row; a word's contribution sums its columns over the
    windows holding it, scaled like the combination (a first-order estimate of occlusion by the
    unknown-word id)."""
    probs = np.asarray(window_probs, dtype=np.float64)
    k = plan.n_windows
    if probs.shape != (k,) or attributions.shape != (k, plan.config.maxlen):
        raise ValueError(f"expected {k} outputs and attributions, got {probs.shape}")
    slots = _slots(plan.spans, plan.config, len(plan.ids))[:, plan.explained]
    per_window = np.take_along_axis(attributions.astype(np.float64), np.maximum(slots, 0), axis=1)
    weighted = _weights(plan, policy)[:, None] * np.where(slots >= 0, per_window, 0.0)
    contributions = weighted.sum(axis=0)
    return assemble(
        plan.words,
        plan.explained,
        contributions,
        policy.combine(probs.tolist(), plan.mode),
        _review_logit(logit(probs), plan, policy),
        seen=_seen(plan),
        oov_id=plan.config.oov_id,
        windows=k,
        rows=k,
    )


def _seen(plan: Plan) -> npt.NDArray[np.bool_]:
    """Per position in ``ids``: inside at least one scored window."""
    seen = np.zeros(len(plan.ids), dtype=np.bool_)
    for s, n in plan.spans:
        seen[s : s + n] = True
    return seen
