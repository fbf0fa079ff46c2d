"""app/score/: the old ``python -m app.score`` still runs the batch CLI, and says it is deprecated."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_old_entry_point_forwards_with_a_deprecation_notice() -> None:
    old = subprocess.run(
        [sys.executable, "-m", "app.score", "--help"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    new = subprocess.run(
        [sys.executable, "-m", "batch", "--help"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert old.returncode == new.returncode == 0, (old.stderr, new.stderr)
    assert old.stdout == new.stdout and old.stdout.startswith("usage: sentiment-score")
    assert "'python -m app.score' is deprecated" in old.stderr
    assert "python -m batch" in old.stderr and new.stderr == ""
