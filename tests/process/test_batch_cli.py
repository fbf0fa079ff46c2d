"""The batch-scoring CLI against the API, both on the real committed model.

Every text's label, probability, windows and readability fields (readable, reason, coverage,
language) from ``python -m batch`` equal ``POST /predict``'s for that text alone. Probabilities
agree bit for bit except where the API ran a 1-row batch: XLA's
1-row program rounds differently from every larger shape (<= 2e-7; the API's own answer for a text
moves by that much with what it is batched with), so the comparison allows 1e-6.
"""

from __future__ import annotations

import csv
import io
import json
import os
import pty
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from batch import cli
from tests.model.conftest import SAMPLE
from training.data import load_imdb

pytestmark = pytest.mark.process

ROOT = Path(__file__).resolve().parents[2]
MAX_CHARS = Settings().max_text_chars
HANDWRITTEN = [
    "Loved it.", "Terrible.", "not good", "not bad at all", "A masterpiece of tedium.",
    "Ce film est magnifique, vraiment émouvant !", "映画は素晴らしかった", "مراجعة رائعة",
    "😀😀😀 best movie ever 🎬", "Ñandú über café — naïve façade", "ﬁne ligatures, \uff26\uff35\uff2c\uff2c width",
    "zero\u200bwidth joy", "Straße, e\u0301te\u0301, GROSS",
    "Great<br /><br />acting<br/>but a weak plot", "  padded   review  ", "line one\nline two",
    "!!!", "the a an of", "...", "<br />", "\t x", "12345", "—",
    "brilliant " * 50 + "awful " * 50, "awful " * 3000 + "brilliant",  # > 32 windows: thinned to 32
    ("a tedious mess, yet the score is wonderful. " * 500)[:MAX_CHARS],  # the longest allowed
]  # fmt: skip
JSON = {"Content-Type": "application/json"}
REFUSED = [
    "",
    "   \n\t",
    "x" * (MAX_CHARS + 1),
    "lone \ud800",
]  # 422 from the API, skipped by the CLI


@pytest.fixture(scope="module")
def texts() -> list[str]:
    """~50 texts: the handwritten ones and sample reviews of every length, longest included."""
    reviews = sorted(load_imdb(str(SAMPLE)).test.texts, key=len)
    return HANDWRITTEN + reviews[:: len(reviews) // 22] + reviews[-3:]


def api_answers(client: TestClient, texts: list[str], mode: str | None) -> list[dict[str, Any]]:
    out = []
    for text in texts:
        body: dict[str, Any] = {"text": text} | ({"scoring": mode} if mode else {})
        response = client.post("/predict", json=body)
        assert response.status_code == 200, response.text
        out.append(response.json())
    return out


VERDICT = ("readable", "reason", "coverage", "language")


def verdict(row: dict[str, Any]) -> tuple[Any, ...]:
    """The readability fields of a CLI row, JSONL or CSV (strings; empty cells for null)."""
    if isinstance(row["readable"], bool):
        return tuple(row[k] for k in VERDICT)
    readable = {"true": True, "false": False}[row["readable"]]
    return readable, row["reason"] or None, float(row["coverage"]), row["language"] or None


def assert_equal(cli_rows: list[dict[str, Any]], api: list[dict[str, Any]]) -> None:
    assert len(cli_rows) == len(api)
    for i, (row, want) in enumerate(zip(cli_rows, api, strict=True)):
        assert int(row["windows"]) == want["windows"], i
        assert row["label"] == want["label"], i
        assert abs(float(row["probability"]) - want["probability"]) <= 1e-6, i
        assert verdict(row) == tuple(want[k] for k in VERDICT), (i, row)
    assert {w["reason"] for w in api} >= {None, "not_english", "no_words", "only_stopwords"}
    windows = [w["windows"] for w in api]
    assert max(windows) == 32 and min(windows) == 1  # thinned, multi-window and one-row texts


def test_jsonl_default_mode_equals_the_api(
    client: TestClient, texts: list[str], tmp_path: Path
) -> None:
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    lines = [json.dumps({"text": t, "id": f"r{i}"}) for i, t in enumerate(texts)]
    bad = [json.dumps({"text": t}) for t in REFUSED]
    src.write_text("\n".join(lines[:5] + bad + lines[5:]) + "\n")
    for text in REFUSED:  # what the CLI skips, the API refuses
        body = json.dumps({"text": text})  # ASCII JSON: a lone surrogate is a \\uXXXX escape
        assert client.post("/predict", content=body, headers=JSON).status_code == 422
    # Two worker processes (chunks alternate between them), small chunks and batches: many chunk
    # boundaries and carried-over rows.
    argv = [str(src), "-o", str(out), "--workers", "2", "--chunk-size", "7", "--batch-size", "64",
            "--quiet"]  # fmt: skip
    assert cli.main(argv) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in rows] == [f"r{i}" for i in range(len(texts))]  # input order
    assert_equal(rows, api_answers(client, texts, None))


class TerminalStderr(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_csv_last_mode_equals_the_api(
    client: TestClient, texts: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    with src.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["key", "review"])
        writer.writerows((f"k{i}", t) for i, t in enumerate(texts))
    argv = [
        str(src),
        "-o",
        str(out),
        "--text-column",
        "review",
        "--id-column",
        "key",
        "--mode",
        "last",
        "--workers",
        "1",
        "--quiet",
    ]  # fmt: skip (in this process)
    terminal = TerminalStderr()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert cli.main(argv) == 0
    assert terminal.getvalue() == ""  # --quiet: no bar and no summary, even on a terminal
    rows = list(csv.DictReader(out.read_text(encoding="utf-8").splitlines(keepends=True)))
    assert [r["id"] for r in rows] == [f"k{i}" for i in range(len(texts))]
    api = api_answers(client, texts, "last")
    assert {int(r["windows"]) for r in rows} == {1}
    for i, (row, want) in enumerate(zip(rows, api, strict=True)):
        assert (
            row["label"] == want["label"]
            and abs(float(row["probability"]) - want["probability"]) <= 1e-6
        ), i


def run_cli(
    *args: str, stdin: bytes = b"", stderr: int = subprocess.PIPE
) -> subprocess.CompletedProcess[bytes]:
    """The CLI in its own session; afterwards no process of that session (a worker) is left."""
    with subprocess.Popen([sys.executable, "-m", "batch", *args], stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, stderr=stderr, cwd=ROOT,
                          start_new_session=True) as proc:  # fmt: skip
        out, err = proc.communicate(stdin, timeout=300)
    deadline = time.monotonic() + 10
    while session_members(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert session_members(proc.pid) == [], "worker processes outlived the CLI"
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def session_members(sid: int) -> list[int]:
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(") ", 1)[1].split()
            except OSError:
                continue
            if int(stat[3]) == sid and stat[0] != "Z":  # field 6 of /proc/<pid>/stat: session
                members.append(int(entry.name))
    return members


def test_stdin_to_stdout_with_bad_rows_skipped() -> None:
    data = b'{"text": "Loved it."}\nnot json\n{"text": "Hated it.", "id": "x"}\n{"text": ""}\n'
    proc = run_cli("-", "--input-format", "jsonl", stdin=data)
    err = proc.stderr.decode()
    assert proc.returncode == 0, err
    rows = [json.loads(line) for line in proc.stdout.decode().splitlines()]
    assert [(r["id"], r["label"]) for r in rows] == [(1, "positive"), ("x", "negative")]
    assert "<stdin>:2: invalid JSON: Expecting value (column 1) (skipped)" in err
    assert "<stdin>:4: text is empty (skipped)" in err
    assert "scored 2 reviews (2 model rows), skipped 2, in " in err
    assert "Traceback" not in err and "\r" not in err  # stderr is not a terminal: no bar


def test_on_unreadable_refuse_skips_or_fails_like_a_bad_row() -> None:
    data = b'{"text": "Loved it."}\n{"text": "Der Film war langweilig und viel zu lang."}\n'
    answered = run_cli("-", "--input-format", "jsonl", "-q", stdin=data)
    rows = [json.loads(line) for line in answered.stdout.decode().splitlines()]
    assert [(r["id"], r["readable"], r["reason"]) for r in rows] == [
        (1, True, None), (2, False, "not_english")
    ]  # fmt: skip
    refused = run_cli("-", "--input-format", "jsonl", "--on-unreadable", "refuse", stdin=data)
    err = refused.stderr.decode()
    assert refused.returncode == 0, err
    assert [json.loads(line)["id"] for line in refused.stdout.decode().splitlines()] == [1]
    assert "<stdin>:2: unreadable_text (not_english; --on-unreadable refuse) (skipped)" in err
    assert "scored 1 reviews (2 model rows), skipped 1, in " in err
    failed = run_cli("-", "--input-format", "jsonl", "--on-unreadable", "refuse",
                     "--on-error", "fail", stdin=data)  # fmt: skip
    assert failed.returncode == 2 and "unreadable_text" in failed.stderr.decode()


def test_on_error_fail_exits_2_without_a_traceback(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    proc = run_cli("-", "--input-format", "txt", "--on-error", "fail", "-o", str(out),
                   stdin=b"fine\n\xff\xfe\nnever read\n")  # fmt: skip
    err = proc.stderr.decode()
    assert proc.returncode == 2
    assert err.strip().splitlines()[-1] == (
        "sentiment-score: error: <stdin>:2: not valid UTF-8 (byte 1 of the line) (--on-error fail)"
    )
    assert "Traceback" not in err
    assert not out.exists() and list(tmp_path.iterdir()) == []  # no partial output file


def test_progress_bar_on_a_terminal(tmp_path: Path) -> None:
    src = tmp_path / "in.txt"
    src.write_text("A fine film.\n" * 3000)
    master, slave = pty.openpty()
    try:
        proc = run_cli(str(src), "-o", str(tmp_path / "out.csv"), "--chunk-size", "256",
                       "--workers", "1",
                       stderr=slave)  # fmt: skip
        os.close(slave)
        err = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the other end is closed and drained
                break
            if not chunk:
                break
            err += chunk
    finally:
        os.close(master)
    assert proc.returncode == 0, err
    text = err.decode()
    assert "100% [########################] 3,000 reviews" in text and "reviews/s" in text
    assert "ETA" in text and "scored 3000 reviews" in text
    assert (tmp_path / "out.csv").read_text().count("\n") == 3001


def test_reader_going_away_is_quiet(tmp_path: Path) -> None:
    """``sentiment-score big.jsonl | head -1``: exit 141 as for SIGPIPE, nothing on stderr."""
    src = tmp_path / "in.txt"
    src.write_text("A fine film.\n" * 200_000)
    proc = subprocess.Popen([sys.executable, "-m", "batch", str(src), "--quiet"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)  # fmt: skip
    assert proc.stdout is not None and proc.stderr is not None
    assert json.loads(proc.stdout.readline())["id"] == 1
    proc.stdout.close()
    assert proc.wait(timeout=300) == 141
    assert proc.stderr.read() == b""
    proc.stderr.close()
    deadline = time.monotonic() + 10
    while session_members(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert session_members(proc.pid) == []  # the workers are gone too
