"""Whole-review scoring policy: how a review becomes model rows and how their outputs combine.

Pure numpy (no TensorFlow, no FastAPI); training fits the numbers and ships them in the artifact's
``preprocessing.json`` under ``"scoring"``, the service applies them. Artifacts without that
section (versions 1 and 2) get the seed's behaviour: the last window only, uncalibrated.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

Mode = Literal["whole", "last"]
MODES: tuple[Mode, ...] = ("whole", "last")
_EPS = 1e-7


def logit(p: npt.ArrayLike) -> npt.NDArray[np.float64]:
    q = np.clip(np.asarray(p, dtype=np.float64), _EPS, 1 - _EPS)
    return np.log(q) - np.log1p(-q)


def sigmoid(x: npt.ArrayLike) -> npt.NDArray[np.float64]:
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=np.float64)))


@dataclass(frozen=True)
class Platt:
    """P = sigmoid(a * logit + b); identity by default."""

    a: float = 1.0
    b: float = 0.0


@dataclass(frozen=True)
class ScoringPolicy:
    default_mode: Mode = "last"
    stride: int = 80
    max_windows: int = 32
    platt: dict[str, Platt] = field(default_factory=dict)  # per mode
    # "whole" mode: log-odds = mean window logit + last_weight * the last window's logit, then
    # Platt. A review's verdict tends to sit at its end; training fits this weight on validation
    # (0 unless it helps there, and always 0 for artifacts that predate it).
    last_weight: float = 0.0

    def __post_init__(self) -> None:
        if self.default_mode not in MODES:
            raise ValueError(f"default_mode must be one of {MODES}")
        if self.stride < 1 or self.max_windows < 1:
            raise ValueError("stride and max_windows must be >= 1")

    def combine(self, window_probs: Sequence[float], mode: Mode) -> float:
        """One calibrated P(positive) from a review's window outputs (mean logit, then Platt).

        Plain floats and ``math``: this runs once per text on the event loop, where numpy's
        per-call overhead on 1-3 values would cost more than the arithmetic.
        """
        cal = self.platt.get(mode)
        if cal is None and not self.last_weight and len(window_probs) == 1:
            return float(window_probs[0])  # uncalibrated single row: the model's own output
        z = 0.0
        for p in window_probs:
            q = min(max(float(p), _EPS), 1 - _EPS)
            z += math.log(q / (1 - q))
        z /= len(window_probs)
        if self.last_weight and mode == "whole":  # window_probs[0] is the last window
            q = min(max(float(window_probs[0]), _EPS), 1 - _EPS)
            z += self.last_weight * math.log(q / (1 - q))
        if cal is not None:
            z = cal.a * z + cal.b
        return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if not self.last_weight:
            del data["last_weight"]  # artifacts written before it existed read back unchanged
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> ScoringPolicy:
        if not data:
            return cls()
        platt = {m: Platt(**v) for m, v in dict(data.get("platt", {})).items() if m in MODES}
        return cls(
            default_mode=data.get("default_mode", "last"),
            stride=int(data.get("stride", 80)),
            max_windows=int(data.get("max_windows", 32)),
            platt=platt,
            last_weight=float(data.get("last_weight", 0.0)),
        )
