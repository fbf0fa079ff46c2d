"""The batch-scoring pipeline and CLI with a fake model: order, bad rows, exit codes, output
files, progress, constant memory. The real model's equality with the API: tests/process/test_batch_cli.py.
"""

from __future__ import annotations

import argparse
import io
import json
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from batch import cli as batch_cli
from batch.formats import InputError, Source, Writer
from batch.progress import Progress
from batch.run import Output, Stats, in_process, read_items, run
from model_contract.artifact import Artifact, load_artifact
from model_contract.bulk import BulkScorer
from model_contract.readability import Readability
from model_contract.settings import ModelSettings
from tests.unit.model_contract.test_bulk import FakeModel

READABLE = Readability(True, None, 1.0, None)


@pytest.fixture(scope="module")
def artifact() -> Artifact:
    return load_artifact(ModelSettings().resolved_model_dir())


def namespace(**kw: object) -> argparse.Namespace:
    base = {"input": "in.jsonl", "input_format": None, "text_column": "text", "id_column": None,
            "on_error": "skip", "chunk_size": 3}  # fmt: skip
    return argparse.Namespace(**(base | kw))


def score_stream(
    artifact: Artifact, stream: Any, *, batch_size: int = 4, out: Any = None, **kw: object
) -> tuple[io.StringIO, str, Stats]:
    args = namespace(**kw)
    source = Source(stream, 10_000)
    scorer = BulkScorer(artifact.tokenizer, artifact.scoring, FakeModel(), mode="whole",
                        batch_size=batch_size)  # fmt: skip
    out = out if out is not None else io.StringIO()
    err = io.StringIO()
    stats = run(read_items(source, args, 20_000), source, in_process(scorer, overlap=True),
                Writer(out, "jsonl"), 0.5, args,
                "in.jsonl", Progress(err, None, enabled=False))  # fmt: skip
    return out, err.getvalue(), stats


def rows_of(out: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_order_and_ids_across_chunk_boundaries_with_bad_rows_between(artifact: Artifact) -> None:
    lines = []
    for i in range(1, 41):
        if i % 7 == 0:
            lines.append("{broken")
        elif i % 11 == 0:
            lines.append('{"text": "   "}')
        else:
            lines.append(json.dumps({"text": f"review {i} " + "good " * (i % 5) + "bad " * i}))
    out, err, stats = score_stream(artifact, io.BytesIO("\n".join(lines).encode()))
    bad = [i for i in range(1, 41) if i % 7 == 0 or i % 11 == 0]
    assert [r["id"] for r in rows_of(out)] == [i for i in range(1, 41) if i not in bad]
    assert err.splitlines() == [
        f"in.jsonl:{i}: "
        + ("invalid JSON" if i % 7 == 0 else "text must contain non-whitespace characters")
        + (": Expecting property name enclosed in double quotes (column 2)" if i % 7 == 0 else "")
        + " (skipped)"
        for i in bad
    ]
    assert (stats.scored, stats.skipped) == (40 - len(bad), len(bad))
    # Same answers as one chunk, one big batch: chunking never changes a result.
    one, _, _ = score_stream(artifact, io.BytesIO("\n".join(lines).encode()), chunk_size=1000,
                             batch_size=1000)  # fmt: skip
    assert rows_of(one) == rows_of(out)


def test_on_error_fail_stops_at_the_first_bad_row(artifact: Artifact) -> None:
    data = b'{"text": "fine"}\n{"text": ""}\n' + b'{"text": "more"}\n' * 10_000
    stream = io.BytesIO(data)
    with pytest.raises(InputError, match=r"^in.jsonl:2: text is empty \(--on-error fail\)$"):
        score_stream(artifact, stream, on_error="fail", chunk_size=2)
    assert stream.tell() < len(data) // 2  # reading stopped early


def test_output_file_appears_only_when_the_run_succeeds(tmp_path: Path) -> None:
    target = tmp_path / "scores.csv"
    target.write_text("old\n")

    def failing_run() -> None:
        with Output(str(target), None) as writer:
            writer.write(1, "positive", 0.5, 1, READABLE)
            raise RuntimeError("model failed")

    with pytest.raises(RuntimeError):
        failing_run()
    assert target.read_text() == "old\n"
    assert list(tmp_path.iterdir()) == [target]  # no temporary file left behind
    with Output(str(target), None) as writer:
        writer.write("a", "negative", 0.25, 2, READABLE)
    assert target.read_text() == (
        "id,label,probability,windows,readable,reason,coverage,language\n"
        "a,negative,0.25,2,true,,1.0,\n"
    )
    assert list(tmp_path.iterdir()) == [target]


def test_progress_bar_with_and_without_a_total() -> None:
    err = io.StringIO()
    bar = Progress(err, 1000, enabled=True)
    bar.update(10, 250, force=True)
    assert "25% [######" in err.getvalue() and "10 reviews" in err.getvalue()
    assert "reviews/s" in err.getvalue() and "ETA" in err.getvalue()
    bar.message("in.jsonl:3: text is empty (skipped)")
    assert err.getvalue().endswith("\r\x1b[Kin.jsonl:3: text is empty (skipped)\n")
    err = io.StringIO()
    Progress(err, None, enabled=True).update(5, 99, force=True)
    assert "5 reviews |" in err.getvalue() and "ETA" not in err.getvalue()
    err = io.StringIO()
    quiet = Progress(err, 1000, enabled=False)
    quiet.update(10, 250, force=True)
    quiet.clear()
    assert err.getvalue() == ""


def cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = batch_cli.main(argv)
    return code, capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["{tmp}/in.tsv"], "cannot tell the input format of '{tmp}/in.tsv': pass --input-format"),
        (["-"], "cannot tell the input format of stdin"),
        (["{tmp}/missing.jsonl"], "cannot read {tmp}/missing.jsonl: No such file or directory"),
        (["{tmp}/in.csv", "--text-column", "review"], "the CSV header has no column 'review'"),
        (["{tmp}/empty.csv"], "the CSV input is empty: expected a header row"),
    ],
)
def test_input_problems_exit_2_before_the_model_loads(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    (tmp_path / "in.tsv").write_text("x\n")
    (tmp_path / "in.csv").write_text("text,id\nx,1\n")
    (tmp_path / "empty.csv").write_text("")
    monkeypatch.setattr(batch_cli, "load_artifact", lambda *a: pytest.fail("model loaded"))
    code, err = cli([a.format(tmp=tmp_path) for a in argv], capsys)
    assert code == 2
    assert err.startswith(f"sentiment-score: error: {message.format(tmp=tmp_path)}")
    assert "Traceback" not in err


def test_model_and_environment_problems_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "in.txt").write_text("fine\n")
    code, err = cli([str(tmp_path / "in.txt"), "--model-dir", str(tmp_path)], capsys)
    assert code == 1 and err.startswith("sentiment-score: error: model: no model versions under")
    monkeypatch.setenv("MAX_TEXT_CHARS", "0")
    code, err = cli([str(tmp_path / "in.txt")], capsys)
    assert code == 1 and "MAX_TEXT_CHARS" in err and "Traceback" not in err


@pytest.mark.parametrize(
    "bad", [["--threshold", "2"], ["--batch-size", "0"], ["--mode", "all"], ["--workers", "0"]]
)
def test_usage_errors_exit_2(bad: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        batch_cli.main(["in.jsonl", *bad])
    assert exc.value.code == 2
    assert "usage: sentiment-score" in capsys.readouterr().err


def test_console_script_is_declared_and_importable() -> None:
    import importlib
    import tomllib

    root = Path(__file__).resolve().parents[3]
    target = tomllib.loads((root / "pyproject.toml").read_text())["project"]["scripts"]
    module, _, name = target["sentiment-score"].partition(":")
    assert getattr(importlib.import_module(module), name) is batch_cli.cli


def test_constant_memory(artifact: Artifact, tmp_path: Path) -> None:
    """Peak Python memory of 50k reviews is that of 5k: nothing grows with the input (the real
    CLI on 100k reviews: docs/batch.md)."""
    line = json.dumps({"text": "Fine film."}) + "\n"
    peaks = {}
    for n in (5_000, 50_000):
        path = tmp_path / f"{n}.jsonl"
        path.write_text(line * n)
        with path.open("rb") as stream, Output(str(tmp_path / "out.jsonl"), None) as writer:
            tracemalloc.start()
            try:
                _, _, stats = score_stream(artifact, stream, out=writer.stream, chunk_size=512,
                                           batch_size=256)  # fmt: skip
                peaks[n] = tracemalloc.get_traced_memory()[1]
            finally:
                tracemalloc.stop()
        assert stats.scored == n
    # How far the tokenizer thread has run ahead when the peak is taken varies (0.8-1.8 MB here);
    # holding every record (~150 bytes each with its text and id) would add ~7 MB for 45,000 more.
    assert peaks[50_000] - peaks[5_000] < 2 * 2**20, peaks
    assert peaks[50_000] < 4 * 2**20, peaks  # two chunks of 512 reviews, model batches, buffers
