"""Explanations (``app.explain.plan``) against brute force, without TensorFlow.

A small deterministic "model" (position-weighted word scores through a sigmoid) stands in for the
LSTM, so every contribution can be recomputed the slow way: edit the *text* (the word replaced by an
unknown word, or removed), score it exactly as ``/predict`` does, subtract - in log-odds
(``contribution``) and in probability (``probability_change``). The fake model is linear in its
logit, so its gradient x (input - unknown word) *is* occlusion by the unknown word: the gradient
method must match brute force exactly too. The real model is used in tests/api/test_explain_*.py,
tests/model/test_gradients.py and the faithfulness test.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
import pytest

from app.explain.plan import explain, explain_gradient, plan_explanation
from app.explain.words import Explanation
from model_contract.scoring import Mode, Platt, ScoringPolicy, logit
from model_contract.tokenizer import Tokenizer, TokenizerConfig

SAMPLE = Path(__file__).resolve().parents[3] / "data" / "aclImdb_sample.tar.gz"
VOCAB = ["good", "bad", "film", "plot", "great", "awful", "fine", "dull", "not", "acting", "fun"]
WEIGHTS = {i + 4: w for i, w in enumerate([2.0, -2.5, 0.1, -0.2, 3.0, -3.0, 0.8, -1.2, -0.7, 0.3])}
CONFIG = TokenizerConfig(num_words=14, maxlen=8, stopwords=("the", "a", "and"))  # "fun" is OOV
TOKENIZER = Tokenizer(CONFIG, {w: r for r, w in enumerate(VOCAB, start=1)})
POLICIES = {
    "calibrated": ScoringPolicy(
        default_mode="whole",
        stride=3,
        max_windows=4,
        platt={"whole": Platt(1.3, -0.2), "last": Platt(0.9, 0.1)},
    ),
    "plain": ScoringPolicy(stride=5, max_windows=32),
    "last-window weight": ScoringPolicy(  # the whole-mode combiner of newer artifacts
        stride=3, max_windows=4, platt={"whole": Platt(1.1, 0.05)}, last_weight=0.6
    ),
}


def _terms(rows: np.ndarray) -> np.ndarray:
    """Each column's term of the fake model's logit: later positions weigh more, as an LSTM's
    last steps do."""
    scale = np.arange(1, rows.shape[1] + 1) / rows.shape[1]
    weights: np.ndarray = np.vectorize(lambda i: WEIGHTS.get(int(i), 0.0))(rows) * scale
    return weights


def fake_model(rows: np.ndarray) -> list[float]:
    """P(positive) per row."""
    probs: list[float] = (1 / (1 + np.exp(-(_terms(rows).sum(axis=1) - 0.3)))).tolist()
    return probs


def fake_attributions(rows: np.ndarray) -> np.ndarray:
    """d logit / d input x (input - unknown word) of the (linear) fake model, per column."""
    attributions: np.ndarray = _terms(rows) - _terms(np.full_like(rows, CONFIG.oov_id))
    return attributions


def check_against_brute_force(
    text: str,
    result: Explanation,
    edit: str,
    served: Callable[[str], float],
) -> int:
    """Every scored word's numbers equal re-scoring ``text`` with the word replaced by ``edit``."""
    full = served(text)
    assert result.probability == pytest.approx(full, abs=1e-12)
    assert result.logit == pytest.approx(float(logit(full)), abs=1e-9)
    checked = 0
    for tok in result.tokens:
        assert tok["start"] is not None and tok["end"] is not None
        assert text[tok["start"] : tok["end"]] == tok["text"]
        if tok["status"] != "scored":
            assert tok["contribution"] is None and tok["probability_change"] is None
            continue
        edited = served(text[: tok["start"]] + edit + text[tok["end"] :])
        expected = float(logit(full) - logit(edited))
        assert tok["contribution"] == pytest.approx(expected, abs=1e-9), (text, tok)
        assert tok["probability_change"] == pytest.approx(full - edited, abs=1e-9), (text, tok)
        checked += 1
    return checked


def served_probability(
    text: str, policy: ScoringPolicy, mode: Mode, max_windows: int, tokenizer: Tokenizer = TOKENIZER
) -> float:
    """What ``Runtime.score`` returns for ``text``."""
    if mode == "last":
        rows = tokenizer.encode(text).ids[None, :]
    else:
        rows = tokenizer.encode_windows(text, policy.stride, max_windows).rows
    return policy.combine(fake_model(rows), mode)


def random_text(rng: random.Random) -> str:
    pool = [*VOCAB, "the", "a", "and", "zork", "Good", "AWFUL", "<br />", "it's"]
    return " ".join(rng.choice(pool) for _ in range(rng.randint(1, 40))) + rng.choice(["", "!"])


@pytest.mark.parametrize("policy_name", sorted(POLICIES))
@pytest.mark.parametrize("mode", ["last", "whole"])
def test_contributions_equal_brute_force_occlusion(policy_name: str, mode: Mode) -> None:
    policy, rng = POLICIES[policy_name], random.Random(7)
    max_windows = 3  # below the policy's own cap: thinned windows, words not scored
    for _ in range(60):
        text = random_text(rng)
        plan = plan_explanation(
            TOKENIZER, policy, text, mode, max_windows=max_windows, max_rows=10_000, baseline="oov"
        )
        result = explain(plan, fake_model(plan.rows), policy)
        served = partial(served_probability, policy=policy, mode=mode, max_windows=max_windows)
        check_against_brute_force(text, result, "zork", served)  # zork: an unknown word


@pytest.mark.parametrize("policy_name", sorted(POLICIES))
@pytest.mark.parametrize("mode", ["last", "whole"])
def test_gradient_equals_unknown_word_occlusion_for_a_linear_model(
    policy_name: str, mode: Mode
) -> None:
    policy, rng = POLICIES[policy_name], random.Random(8)
    checked = 0
    for _ in range(60):
        text = random_text(rng)
        plan = plan_explanation(
            TOKENIZER, policy, text, mode, max_windows=3, max_rows=3, method="gradient"
        )
        assert len(plan.rows) == plan.n_windows and plan.baseline == "oov"
        result = explain_gradient(plan, fake_model(plan.rows), fake_attributions(plan.rows), policy)
        assert result.rows == result.windows == plan.n_windows
        served = partial(served_probability, policy=policy, mode=mode, max_windows=3)
        checked += check_against_brute_force(text, result, "zork", served)
        # no row budget: every in-vocabulary word of every scored window is explained
        assert "not_explained" not in {t["status"] for t in result.tokens}
    assert checked > 300


def test_statuses_say_what_the_model_did_not_see() -> None:
    text = "The fun plot and " + "good " * 10 + "awful"
    plan = plan_explanation(TOKENIZER, ScoringPolicy(), text, "last", max_windows=1, max_rows=99)
    tokens = explain(plan, fake_model(plan.rows), ScoringPolicy()).tokens
    by_word = {t["text"]: t for t in tokens}
    assert by_word["The"]["status"] == "stopword" and by_word["The"]["id"] is None
    assert by_word["fun"]["status"] == "not_scored"  # before the last 8 ids
    assert not by_word["fun"]["in_vocabulary"] and by_word["fun"]["id"] == CONFIG.oov_id
    assert by_word["awful"]["status"] == "scored" and by_word["awful"]["contribution"] is not None
    assert by_word["awful"]["contribution"] < 0
    seen = [t for t in tokens if t["status"] == "scored"]
    assert len(seen) == CONFIG.maxlen  # the window holds only words: no start token left
    short = plan_explanation(
        TOKENIZER, ScoringPolicy(), "fun good", "last", max_windows=1, max_rows=9
    )
    statuses = [t["status"] for t in explain(short, fake_model(short.rows), ScoringPolicy()).tokens]
    assert statuses == ["oov", "scored"]


@pytest.mark.parametrize("max_rows", [1, 2, 5, 9, 17])
def test_row_budget_is_a_hard_cap_and_explains_a_suffix(max_rows: int) -> None:
    policy, rng = POLICIES["calibrated"], random.Random(max_rows)
    for _ in range(30):
        text = random_text(rng)
        plan = plan_explanation(TOKENIZER, policy, text, "whole", max_windows=4, max_rows=max_rows)
        assert len(plan.rows) <= max_rows
        result = explain(plan, fake_model(plan.rows), policy)
        assert result.rows == len(plan.rows)
        kept = [t for t in result.tokens if t["status"] in ("scored", "not_explained")]
        statuses = [t["status"] for t in kept]
        # the explained words are the last ones: no "not_explained" after a "scored"
        assert statuses == sorted(statuses, key=lambda s: s == "scored")
        assert result.explained_words == statuses.count("scored")


POST = Tokenizer(
    TokenizerConfig(**{**CONFIG.__dict__, "padding": "post", "truncating": "post"}),
    TOKENIZER.word_index,
)


@pytest.mark.parametrize("tokenizer", [TOKENIZER, POST], ids=["pre", "post"])
def test_remove_baseline_is_exact_in_last_mode(tokenizer: Tokenizer) -> None:
    policy, rng = POLICIES["calibrated"], random.Random(3)
    checked = 0
    for _ in range(40):
        text = random_text(rng)
        plan = plan_explanation(tokenizer, policy, text, "last", max_windows=1, max_rows=99)
        assert plan.baseline == "remove"  # the default
        result = explain(plan, fake_model(plan.rows), policy)
        served = partial(
            served_probability, policy=policy, mode="last", max_windows=1, tokenizer=tokenizer
        )
        checked += check_against_brute_force(text, result, "", served)
    assert checked > 200


def test_contributions_are_not_lost_when_the_model_is_confident() -> None:
    """P(positive) ~ 1 - 1e-6: every probability change is tiny, the log-odds are not."""
    text = "great good great good great good great film awful"
    plan = plan_explanation(TOKENIZER, ScoringPolicy(), text, "last", max_windows=1, max_rows=99)
    outputs = fake_model(plan.rows)
    z = logit(outputs) + 9.0  # the same model, much more confident
    result = explain(plan, (1 / (1 + np.exp(-z))).tolist(), ScoringPolicy())
    assert result.probability > 1 - 1e-5
    awful = next(t for t in result.tokens if t["text"] == "awful")
    assert awful["contribution"] is not None and awful["probability_change"] is not None
    assert awful["contribution"] < -1 and abs(awful["probability_change"]) < 1e-4


def test_explain_rejects_a_wrong_number_of_outputs() -> None:
    plan = plan_explanation(
        TOKENIZER, ScoringPolicy(), "good film", "last", max_windows=1, max_rows=9
    )
    with pytest.raises(ValueError, match="outputs"):
        explain(plan, [0.5], ScoringPolicy())
    with pytest.raises(ValueError, match="outputs"):
        explain_gradient(plan, [0.5, 0.5], np.zeros((1, CONFIG.maxlen)), ScoringPolicy())
