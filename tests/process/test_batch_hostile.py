"""The batch CLI against hostile input files (real model, real ``python -m batch`` process):
any row that cannot be read is one bad row, counted and skipped; the messages are bounded; CSV
ids cannot be formulas; SIGTERM leaves no partial file; the output cannot be the input."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.process.test_batch_cli import ROOT, run_cli, session_members

pytestmark = pytest.mark.process

FORMULA = '=HYPERLINK("http://evil.example","x")'


def test_hostile_rows_are_bad_rows(tmp_path: Path) -> None:
    src, out = tmp_path / "in.jsonl", tmp_path / "out.csv"
    lines = [
        json.dumps({"id": FORMULA, "text": "A wonderful film."}),
        "[" * 100_000,  # RecursionError in json.loads
        '{"text": "fine", "id": 1' + "0" * 5_000 + "}",  # ValueError: int over 4300 digits
        *(["{not json"] * 1_500),
        json.dumps({"id": "+1", "text": "Awful."}),
        json.dumps({"id": "-2", "text": "Awful."}),
        json.dumps({"id": "@x", "text": "Awful."}),
    ]
    src.write_text("\n".join(lines) + "\n")
    done = run_cli(str(src), "-o", str(out), "--workers", "1")
    err = done.stderr.decode()
    assert done.returncode == 0, err[-2000:]
    assert "Traceback" not in err
    assert f"{src}:2: " in err and f"{src}:3: " in err
    assert "skipped 1502" in err
    assert len(err.splitlines()) < 120, len(err.splitlines())  # 1,502 bad rows: bounded messages
    assert "more bad rows not listed" in err
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert [r["id"] for r in rows] == ["'" + FORMULA, "'+1", "'-2", "'@x"]


def test_output_equal_to_input_is_refused(tmp_path: Path) -> None:
    src = tmp_path / "in.txt"
    src.write_text("A fine film.\n")
    for target in (str(src), str(tmp_path / "." / "in.txt")):
        done = run_cli(str(src), "-o", target, "--input-format", "txt")
        assert done.returncode == 2 and b"is the input" in done.stderr
        assert src.read_text() == "A fine film.\n"


def test_sigterm_leaves_no_partial_file(tmp_path: Path) -> None:
    src, out = tmp_path / "in.txt", tmp_path / "out.jsonl"
    src.write_text("A fine film, with a long and winding plot.\n" * 400_000)
    proc = subprocess.Popen(
        [sys.executable, "-m", "batch", str(src), "-o", str(out), "--workers", "1", "--quiet"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 180
    while not list(tmp_path.glob(".out.jsonl.*.tmp")):
        assert proc.poll() is None and time.monotonic() < deadline, proc.stderr
        time.sleep(0.05)
    time.sleep(0.5)  # writing
    os.kill(proc.pid, signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert b"terminated" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.txt"]
    assert session_members(proc.pid) == []
