"""training.sample: drawing a small labelled sample that loads through the real dataset reader."""

from __future__ import annotations

from pathlib import Path

import pytest

from training.data import load_imdb
from training.sample import main

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "aclImdb_sample.tar.gz"


def test_a_drawn_sample_is_balanced_real_and_reproducible(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = load_imdb(str(SAMPLE))
    out = tmp_path / "a" / "sample.tar.gz"
    assert main(["--data", str(SAMPLE), "--out", str(out), "--per-class", "5"]) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    drawn = load_imdb(str(out))
    for split, original in ((drawn.train, source.train), (drawn.test, source.test)):
        assert sorted(split.labels) == [0] * 5 + [1] * 5
        by_id = dict(zip(original.ids, original.texts, strict=True))
        for review_id, text, label in zip(split.ids, split.texts, split.labels, strict=True):
            assert by_id[review_id] == text  # the review itself, untouched
            assert label == original.labels[original.ids.index(review_id)]
    again = tmp_path / "b.tar.gz"
    main(["--data", str(SAMPLE), "--out", str(again), "--per-class", "5"])
    assert again.read_bytes() == out.read_bytes()  # seeded, and no timestamps in the archive


@pytest.mark.parametrize(
    ("per_class", "message"), [("0", "--per-class must be >= 1"), ("100000", "only")]
)
def test_impossible_requests_exit_2_with_a_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], per_class: str, message: str
) -> None:
    out = tmp_path / "s.tar.gz"
    assert main(["--data", str(SAMPLE), "--out", str(out), "--per-class", per_class]) == 2
    assert message in capsys.readouterr().err


def test_a_missing_dataset_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope.tar.gz"
    assert main(["--data", str(missing), "--out", str(tmp_path / "s.tar.gz")]) == 2
    assert "error:" in capsys.readouterr().err
