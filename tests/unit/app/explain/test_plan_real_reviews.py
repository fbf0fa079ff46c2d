"""app/explain/plan.py on real IMDB reviews with the committed tokenizer: the scored windows are the rows
``/predict`` builds, and every occlusion variant is the window without (or with OOV for) one word."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.config import Settings
from app.explain.plan import plan_explanation
from model_contract.artifact import load_artifact
from model_contract.scoring import Mode, ScoringPolicy
from model_contract.tokenizer import Tokenizer, pad_sequence
from training.data import load_imdb

SAMPLE = Path(__file__).resolve().parents[3] / "data" / "aclImdb_sample.tar.gz"


@pytest.fixture(scope="module")
def real() -> tuple[Tokenizer, list[str]]:
    artifact = load_artifact(Settings().resolved_model_dir())
    return artifact.tokenizer, load_imdb(str(SAMPLE)).test.texts


@pytest.mark.parametrize("mode", ["last", "whole"])
def test_scored_windows_are_the_rows_predict_builds_on_real_reviews(
    real: tuple[Tokenizer, list[str]], mode: Mode
) -> None:
    tokenizer, texts = real
    policy = ScoringPolicy(stride=40, max_windows=6)  # overlapping and thinned windows
    for text in texts:
        plan = plan_explanation(tokenizer, policy, text, mode, max_windows=6, max_rows=512)
        expected = (
            tokenizer.encode(text).ids[None, :]
            if mode == "last"
            else tokenizer.encode_windows(text, policy.stride, 6).rows
        )
        np.testing.assert_array_equal(plan.rows[: plan.n_windows], expected)
        assert len(plan.rows) <= 512
        variants = plan.rows[plan.n_windows :]  # "remove": the window without the word
        cfg, ids = tokenizer.config, plan.ids
        for row, w, p in zip(variants, plan.variant_window, plan.variant_position, strict=True):
            start = plan.starts[w]
            end = min(len(ids), start + cfg.maxlen)
            expected_row = pad_sequence([*ids[max(0, start - 1) : p], *ids[p + 1 : end]], cfg)
            np.testing.assert_array_equal(row, expected_row)
        oov = plan_explanation(
            tokenizer, policy, text, mode, max_windows=6, max_rows=512, baseline="oov"
        )
        variants = oov.rows[oov.n_windows :]
        changed = (variants != oov.rows[oov.variant_window]).sum(axis=1)
        assert (changed == 1).all()  # "oov": the window with one id replaced
        for w in plan.words:
            assert w.start is not None and w.end is not None
            assert text[w.start : w.end] == w.text
