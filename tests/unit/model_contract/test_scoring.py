"""model_contract.scoring: how a review's window outputs become one calibrated probability."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import expit

from model_contract.scoring import MODES, Platt, ScoringPolicy, logit, sigmoid

probs = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)
window_probs = st.lists(probs, min_size=1, max_size=32)


def reference(window_probs: list[float], cal: Platt | None) -> float:
    """The definition, vectorised: sigmoid(a * mean(logit(p)) + b) (scipy's overflow-free one)."""
    z = float(np.mean(logit(window_probs)))
    a, b = (cal.a, cal.b) if cal is not None else (1.0, 0.0)
    return float(expit(a * z + b))


def test_one_uncalibrated_window_is_the_models_own_output() -> None:
    policy = ScoringPolicy()
    for p in (0.0, 1e-9, 0.3, 0.5, 0.999, 1.0):
        assert policy.combine([p], "last") == p  # exactly: no logit/sigmoid round trip


def test_several_windows_combine_by_mean_logit_not_mean_probability() -> None:
    policy = ScoringPolicy()
    got = policy.combine([0.9, 0.9, 0.1], "whole")
    # mean logit of (l, l, -l) is l/3: sigmoid(logit(0.9) / 3), not mean p = 0.633
    assert got == pytest.approx(1 / (1 + 9 ** (-1 / 3)), rel=1e-12)
    assert got != pytest.approx(np.mean([0.9, 0.9, 0.1]), abs=1e-3)
    assert policy.combine([0.2, 0.8], "whole") == pytest.approx(0.5)


def test_platt_is_applied_per_mode() -> None:
    policy = ScoringPolicy(platt={"whole": Platt(2.0, -0.5), "last": Platt(0.5, 1.0)})
    p = [0.7, 0.6]
    z = float(np.mean(logit(p)))
    assert policy.combine(p, "whole") == pytest.approx(float(sigmoid(2.0 * z - 0.5)))
    assert policy.combine(p, "last") == pytest.approx(float(sigmoid(0.5 * z + 1.0)))
    # A calibrated single window goes through Platt too (no short cut).
    assert policy.combine([0.7], "last") == pytest.approx(float(sigmoid(0.5 * logit(0.7) + 1.0)))


def test_a_mode_without_platt_stays_uncalibrated() -> None:
    policy = ScoringPolicy(platt={"whole": Platt(3.0, 2.0)})
    assert policy.combine([0.25], "last") == 0.25
    assert policy.combine([0.25, 0.75], "last") == pytest.approx(0.5)


@pytest.mark.parametrize(
    "window_probs",
    [[0.0], [1.0], [0.0, 0.0], [1.0, 1.0, 1.0], [0.0, 1.0], [1e-300, 1 - 1e-16]],
)
@pytest.mark.parametrize("mode", MODES)
def test_saturated_outputs_are_clipped_not_infinite(window_probs: list[float], mode: str) -> None:
    for cal in (None, Platt(50.0, 0.0), Platt(-50.0, 3.0)):
        policy = ScoringPolicy(platt={mode: cal} if cal else {})
        got = policy.combine(window_probs, mode)  # type: ignore[arg-type]
        assert 0.0 <= got <= 1.0 and math.isfinite(got)
        shortcut = cal is None and len(window_probs) == 1  # the model's own output, unclipped
        expected = window_probs[0] if shortcut else reference(window_probs, cal)
        assert got == pytest.approx(expected, abs=1e-12)


def test_extreme_log_odds_do_not_overflow() -> None:
    # a * z of +-800 would overflow a naive exp(-z); the result must saturate cleanly.
    policy = ScoringPolicy(platt={"whole": Platt(50.0, 0.0)})
    assert policy.combine([1e-9, 1e-9], "whole") == pytest.approx(0.0, abs=1e-300)
    assert policy.combine([1 - 1e-9, 1 - 1e-9], "whole") == 1.0


@settings(max_examples=300, deadline=None)
@given(
    window_probs,
    st.sampled_from(MODES),
    st.floats(-5, 5, allow_nan=False),
    st.floats(-5, 5, allow_nan=False),
)
def test_combine_equals_the_vectorised_definition(
    window_probs: list[float], mode: str, a: float, b: float
) -> None:
    policy = ScoringPolicy(platt={mode: Platt(a, b)})
    assert policy.combine(window_probs, mode) == pytest.approx(  # type: ignore[arg-type]
        reference(window_probs, Platt(a, b)), rel=1e-9, abs=1e-12
    )


@settings(max_examples=200, deadline=None)
@given(window_probs, st.integers(0, 31), st.floats(0.0, 0.5))
def test_raising_one_window_never_lowers_the_score(
    window_probs: list[float], index: int, bump: float
) -> None:
    policy = ScoringPolicy(platt={"whole": Platt(1.3, 0.2)})
    i = index % len(window_probs)
    higher = [*window_probs]
    higher[i] = min(1.0, higher[i] + bump)
    assert policy.combine(higher, "whole") >= policy.combine(window_probs, "whole") - 1e-12


def test_logit_and_sigmoid_are_inverse_and_clipped() -> None:
    p = np.array([1e-6, 0.01, 0.5, 0.73, 0.999999])
    np.testing.assert_allclose(sigmoid(logit(p)), p, rtol=1e-9)
    assert np.isfinite(logit([0.0, 1.0])).all()
    assert logit(0.0) < -15 and logit(1.0) > 15


def test_dict_round_trip_and_legacy_default() -> None:
    policy = ScoringPolicy("whole", stride=40, max_windows=8, platt={"whole": Platt(1.5, -0.25)})
    assert ScoringPolicy.from_dict(policy.to_dict()) == policy
    # Artifacts 1 and 2 have no "scoring" section: the seed's last window, uncalibrated.
    legacy: dict[str, object] | None
    for legacy in (None, {}):
        assert ScoringPolicy.from_dict(legacy) == ScoringPolicy("last", 80, 32, {})
    # A mode this code does not know is ignored rather than trusted.
    data = {
        "default_mode": "last",
        "platt": {"whole": {"a": 2, "b": 0}, "median": {"a": 9, "b": 9}},
    }
    assert set(ScoringPolicy.from_dict(data).platt) == {"whole"}


def test_last_weight_round_trips_and_is_absent_when_off() -> None:
    policy = ScoringPolicy("whole", platt={"whole": Platt(1.1, 0.0)}, last_weight=0.4)
    assert ScoringPolicy.from_dict(policy.to_dict()) == policy
    # v1-v4 were written without the key: they read back (and write) exactly as before
    assert "last_weight" not in ScoringPolicy("whole").to_dict()
    assert ScoringPolicy.from_dict({"default_mode": "whole"}).last_weight == 0.0


def test_last_weight_adds_the_last_windows_logit_in_whole_mode_only() -> None:
    policy = ScoringPolicy("whole", last_weight=0.5)
    probs = [0.9, 0.2, 0.4]  # the last window first, as encode_windows orders them
    z = float(np.mean(logit(probs))) + 0.5 * float(logit(0.9))
    assert policy.combine(probs, "whole") == pytest.approx(float(sigmoid(z)))
    assert policy.combine([0.9], "last") == pytest.approx(0.9)
    # one window: mean and last are the same logit, scaled by 1 + weight
    assert policy.combine([0.7], "whole") == pytest.approx(float(sigmoid(1.5 * logit(0.7))))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"default_mode": "median"}, "default_mode"),
        ({"stride": 0}, "stride"),
        ({"max_windows": 0}, "max_windows"),
    ],
)
def test_invalid_policy_rejected(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ScoringPolicy(**kwargs)  # type: ignore[arg-type]
