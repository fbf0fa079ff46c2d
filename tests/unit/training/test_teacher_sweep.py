"""training.teacher_sweep: one JSON row per (n-gram range, C) on the held-out split."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from training import teacher_sweep

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "aclImdb_sample.tar.gz"


def test_prints_one_row_per_setting(capsys: pytest.CaptureFixture[str]) -> None:
    assert teacher_sweep.main(["--data", str(SAMPLE)]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    settings = [(tuple(r["ngrams"]), r["C"]) for r in rows]
    assert settings == [(n, c) for n in teacher_sweep.NGRAM_RANGES for c in teacher_sweep.CS]
    for row in rows:
        assert 0.5 <= row["val_full_review"] <= 1 and 0.5 <= row["val_window_mean"] <= 1
        assert row["features"] > 0
    bigrams, trigrams = rows[0]["features"], rows[len(teacher_sweep.CS)]["features"]
    assert trigrams > bigrams
