"""Batch scoring: a file (or stdin) of reviews in, one label + probability per review out.

    python -m batch reviews.jsonl -o scores.jsonl        # or: sentiment-score ...
    python -m batch reviews.csv --text-column review --id-column review_id -o scores.csv
    cat reviews.txt | python -m batch - --input-format txt > scores.jsonl

The service's model contract and runner without HTTP: the same artifact checks, tokenizer, windows,
calibration and threshold, so every probability equals the API's for the same text (docs/batch.md).
Streaming, in input order, in constant memory: chunks of ``--chunk-size`` texts go to ``--workers``
scoring processes in turn (``batch.workers``; ``--workers 1``: this process, tokenizing in a
background thread while the model scores the previous chunk), in batches of ``--batch-size`` rows.
Defaults come from the service's environment variables (MODEL_DIR, MODEL_VERSION, MODEL_SHA256,
MAX_TEXT_CHARS, SCORING, THRESHOLD, XLA). Exit status: 0 done (bad rows skipped and reported),
2 bad input or usage (with ``--on-error fail``: the first bad row), 1 model or output problem.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from batch.formats import FORMATS, InputError, Item, Source, Writer
from batch.progress import Progress
from batch.run import (
    Output,
    ScoreChunks,
    Stats,
    in_process,
    load_runner,
    open_input,
    read_items,
    run,
    texts_of,
)
from batch.workers import (
    MAX_DEFAULT_WORKERS,
    WorkerConfig,
    WorkerFailed,
    WorkerPool,
    default_workers,
)
from model_contract.artifact import Artifact, ArtifactError, load_artifact
from model_contract.bulk import BulkScorer
from model_contract.language import LanguageIdentifier
from model_contract.scoring import MODES, Mode
from model_contract.settings import ModelSettings, StartupError, read_settings

PROG = "sentiment-score"


class Terminated(KeyboardInterrupt):
    """SIGTERM: unwinds like Ctrl-C (the partial output file is removed, workers stopped)."""


def _terminate(signum: int, frame: object) -> None:
    raise Terminated


class CliError(Exception):
    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        prog=PROG,
        description="Score reviews from a JSONL, CSV or text file (or stdin) with the served model.",
        epilog="Exit status: 0 done, 2 bad input or usage, 1 model or output problem.",
    )
    ap.add_argument("input", help="input file, or - for stdin")
    ap.add_argument("-o", "--output", default="-", help="output file (default: - = stdout)")
    ap.add_argument("--input-format", choices=FORMATS, help="default: from the file extension")
    ap.add_argument("--output-format", choices=("jsonl", "csv"), help="default: extension/jsonl")
    ap.add_argument("--text-column", default="text", help="CSV column holding the review")
    ap.add_argument("--id-column", help="CSV column holding the id (default: the line number)")
    ap.add_argument("--on-error", choices=("skip", "fail"), default="skip",
                    help="bad row: report and skip it (default), or stop with exit status 2")  # fmt: skip
    ap.add_argument("--on-unreadable", choices=("answer", "refuse"),
                    default=os.environ.get("ON_UNREADABLE", "answer"),
                    help="a text the model cannot read: answer it, flagged (default: "
                    "$ON_UNREADABLE, else answer), or refuse it as a bad row (see --on-error)")  # fmt: skip
    ap.add_argument("--mode", choices=MODES, help="scoring mode (default: as the API's)")
    ap.add_argument("--model-dir", type=Path, help="default: MODEL_DIR as the service")
    ap.add_argument("--model-version", "--version", type=int, dest="version",
                    help="artifact version (default: MODEL_VERSION, else the highest)")  # fmt: skip
    ap.add_argument("--sha256", help="required sha256 of the version's MANIFEST.sha256")
    ap.add_argument("--threshold", type=float, help="P(positive) >= threshold -> positive")
    ap.add_argument("--max-windows", type=int,
                    help="whole mode: windows per review, at most (default: the artifact's, as a "
                    "single-text API request)")  # fmt: skip
    ap.add_argument("--batch-size", type=int, default=1024, help="model rows per call")
    ap.add_argument("--chunk-size", type=int, default=1024, help="texts tokenized per chunk")
    ap.add_argument("--workers", type=int, default=default_workers(),
                    help="scoring processes, each with the model (default: one per core, at "
                    f"most {MAX_DEFAULT_WORKERS}; 1 = this process)")  # fmt: skip
    ap.add_argument("--no-overlap", dest="overlap", action="store_false",
                    help="--workers 1: tokenize in the model's thread, not beside it")  # fmt: skip
    ap.add_argument("-q", "--quiet", action="store_true", help="no progress bar, no summary")
    args = ap.parse_args(argv)
    for name in ("batch_size", "chunk_size", "max_windows", "workers"):
        value = getattr(args, name)
        if value is not None and value < 1:
            ap.error(f"--{name.replace('_', '-')} must be >= 1")
    if args.threshold is not None and not 0 <= args.threshold <= 1:
        ap.error("--threshold must be within [0, 1]")
    if args.on_unreadable not in ("answer", "refuse"):  # a bad $ON_UNREADABLE default
        ap.error(
            f"--on-unreadable / ON_UNREADABLE must be 'answer' or 'refuse', not {args.on_unreadable!r}"
        )
    return args


def main(argv: list[str] | None = None) -> int:
    stderr = sys.stderr
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        return _main(parse_args(argv))
    except CliError as exc:
        print(f"{PROG}: error: {exc}", file=stderr)
        return exc.code
    except Terminated:
        print(f"{PROG}: terminated", file=stderr)
        return 143
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=stderr)
        return 130
    except BrokenPipeError:  # e.g. `| head`: the reader has all it wants
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # no second error when Python flushes stdout
        return 141
    finally:
        signal.signal(signal.SIGTERM, previous)


def _main(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    try:
        settings = read_settings(ModelSettings)
    except StartupError as exc:
        raise CliError(str(exc), 1) from None
    if _same_file(args.input, args.output):  # it would be replaced by the (partial) output
        raise CliError(f"the output {args.output} is the input file: name another one", 2)
    try:
        stream, total_bytes, name = open_input(args.input)
    except OSError as exc:
        raise CliError(f"cannot read {args.input}: {exc.strerror or exc}", 2) from None
    with contextlib.ExitStack() as cleanup:
        if stream is not sys.stdin.buffer:
            cleanup.enter_context(stream)
        try:
            source = Source(stream, max_line_bytes=12 * settings.max_text_chars + 65_536)
            items = read_items(source, args, settings.max_text_chars)
            output = Output(args.output, args.output_format)
            with output as writer:
                stats, artifact, mode, load_s = _score(
                    args, settings, source, items, writer, name, total_bytes, started
                )
        except InputError as exc:
            raise CliError(str(exc), 2) from None
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise CliError(f"cannot write {args.output}: {exc.strerror or exc}", 1) from None
    if not args.quiet:
        print(summary(stats, load_s, artifact.version, mode), file=sys.stderr)
    return 0


def _score(
    args: argparse.Namespace,
    settings: ModelSettings,
    source: Source,
    items: Iterator[Item],
    writer: Writer,
    name: str,
    total_bytes: int | None,
    started: float,
) -> tuple[Stats, Artifact, Mode, float]:
    model_dir = args.model_dir or settings.resolved_model_dir()
    try:
        artifact = load_artifact(model_dir, args.version or settings.model_version,
                                 args.sha256 or settings.model_sha256)  # fmt: skip
    except ArtifactError as exc:
        raise CliError(f"model: {exc}", 1) from None
    mode: Mode = args.mode or settings.scoring or artifact.scoring.default_mode
    with contextlib.ExitStack() as cleanup:
        if args.workers > 1:
            config = WorkerConfig(model_dir, artifact.version, args.sha256 or settings.model_sha256,
                                  mode, args.max_windows, args.batch_size, settings.xla)  # fmt: skip
            try:
                pool = cleanup.enter_context(contextlib.closing(WorkerPool(args.workers, config)))
            except WorkerFailed as exc:
                raise CliError(str(exc), 1) from None
            score: ScoreChunks = lambda chunks: pool.score(chunks, texts_of)  # noqa: E731
        else:
            runner = load_runner(artifact, args.batch_size, settings.xla)
            scorer = BulkScorer(artifact.tokenizer, artifact.scoring, runner.predict, mode=mode,
                                max_windows=args.max_windows, batch_size=args.batch_size,
                                identify=LanguageIdentifier())  # fmt: skip
            score = in_process(scorer, args.overlap)
        load_s = time.perf_counter() - started
        progress = Progress(sys.stderr, total_bytes, enabled=not args.quiet and sys.stderr.isatty())
        threshold = settings.threshold if args.threshold is None else args.threshold
        try:
            stats = run(items, source, score, writer, threshold, args, name, progress)
        except WorkerFailed as exc:
            raise CliError(str(exc), 1) from None
        finally:
            progress.clear()
        if args.workers > 1:
            stats.cpu_seconds += pool.cpu_seconds
    return stats, artifact, mode, load_s


def _same_file(src: str, dst: str) -> bool:
    try:
        return "-" not in (src, dst) and os.path.samefile(src, dst)
    except OSError:  # one of them does not exist (yet)
        return False


def summary(stats: Stats, load_s: float, version: int, mode: str) -> str:
    secs = max(stats.seconds, 1e-9)
    return (
        f"scored {stats.scored} reviews ({stats.rows} model rows), skipped {stats.skipped}, "
        f"in {stats.seconds:.2f} s (cpu {stats.cpu_seconds:.2f} s): {stats.scored / secs:.1f} reviews/s, "
        f"{stats.rows / secs:.1f} rows/s (model v{version}, mode {mode}, "
        f"load + compile {load_s:.2f} s)"
    )


def cli() -> Any:
    """Console-script entry point (``sentiment-score`` in pyproject.toml)."""
    sys.exit(main())


if __name__ == "__main__":
    cli()
