"""training.teacher_pseudo on the committed sample: three teachers, each scored on validation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from training import teacher_pseudo

DATA = Path(__file__).resolve().parents[2] / "data"


def test_self_trained_teachers_are_reported(capsys: pytest.CaptureFixture[str]) -> None:
    extra = str(DATA / "aclImdb_sample_extra.tar.gz")
    argv = ["--quick", "--data", str(DATA / "aclImdb_sample.tar.gz"), "--unsup", extra]
    assert teacher_pseudo.main([*argv, "--movies", extra]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert rows[0]["pseudo_labelled"] == 0
    assert len(rows) == 3 and rows[1]["pseudo_labelled"] >= rows[2]["pseudo_labelled"] > 0
    assert all(0.0 <= r["val_full_review"] <= 1.0 for r in rows)
