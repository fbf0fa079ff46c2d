"""The batch-scoring pipeline behind ``batch.cli``: input, output, model, and the loop between.

    read + check + tokenize (background thread, chunk k+1)  ->  model + combine + write (chunk k)

Memory is bounded by two chunks in flight plus one model batch, whatever the input's size.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import stat
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import numpy as np

from batch.csv_reader import read_csv
from batch.formats import (
    BadRow,
    Format,
    InputError,
    Item,
    Record,
    Source,
    Writer,
    input_format,
    read_jsonl,
    read_txt,
)
from batch.progress import Progress
from model_contract.artifact import Artifact
from model_contract.bulk import BulkScorer, Scores, prefetch

# Bad rows named on stderr, at most: a CSV with a stray quote printed 20M lines.
MAX_LISTED_BAD_ROWS = 100


@dataclass
class Stats:
    scored: int = 0
    skipped: int = 0
    rows: int = 0
    seconds: float = 0.0
    cpu_seconds: float = 0.0  # of every thread of the process (user + system)


@dataclass
class Chunk:
    records: list[Record] = field(default_factory=list)
    bad: list[BadRow] = field(default_factory=list)
    end_bytes: int = 0  # input bytes read once this chunk was complete (progress and ETA)


def open_input(path: str) -> tuple[IO[bytes], int | None, str]:
    """Binary stream, size in bytes if a regular file (for the ETA), name for messages."""
    if path == "-":
        return sys.stdin.buffer, None, "<stdin>"
    stream = open(path, "rb", buffering=1 << 20)  # noqa: SIM115 - closed at process exit
    st = os.fstat(stream.fileno())
    return stream, st.st_size if stat.S_ISREG(st.st_mode) else None, path


def read_items(source: Source, args: argparse.Namespace, max_chars: int) -> Iterator[Item]:
    fmt = input_format(args.input, args.input_format)
    if fmt == "jsonl":
        return read_jsonl(source, max_chars)
    if fmt == "txt":
        return read_txt(source, max_chars)
    items = read_csv(source, max_chars, args.text_column, args.id_column)
    first = next(items, None)  # reads the header now: a missing column fails before the model loads
    return items if first is None else _chain(first, items)


def _chain(first: Item, rest: Iterator[Item]) -> Iterator[Item]:
    yield first
    yield from rest


class Output:
    """The output stream; a file is written next to its target and renamed into place on success
    (a failed run leaves no half-written file), stdout is written as it goes."""

    def __init__(self, path: str, given: str | None) -> None:
        self.path = path
        suffix = Path(path).suffix.lower() if path != "-" else ""
        self.fmt: Format = given or ("csv" if suffix == ".csv" else "jsonl")  # type: ignore[assignment]
        self._tmp: Path | None = None
        self._stream: io.TextIOWrapper | None = None

    def __enter__(self) -> Writer:
        if self.path == "-":
            self._stream = io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8", newline="")
        else:
            target = Path(self.path)
            if target.exists() and not target.is_file():  # /dev/null, a FIFO: write in place
                self._stream = open(target, "w", encoding="utf-8", newline="")
            else:
                self._tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
                self._stream = open(self._tmp, "w", encoding="utf-8", newline="", buffering=1 << 20)
        return Writer(self._stream, self.fmt)

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        stream, tmp = self._stream, self._tmp
        if stream is None:
            return
        try:
            if self.path == "-":
                stream.flush()
                stream.detach()  # sys.stdout stays usable
            else:
                stream.close()
            if tmp is not None and kind is None:
                os.replace(tmp, self.path)
        finally:
            if tmp is not None and tmp.exists():
                tmp.unlink()


def load_runner(artifact: Artifact, batch_size: int, xla: bool) -> Any:
    """The service's ``ModelRunner`` (XLA, padded shapes), compiled for ``batch_size`` rows only:
    every call the CLI makes has exactly that many rows (``BulkScorer`` pads the last one)."""
    from model_contract.policy import BatchPolicy
    from model_contract.tf_process import configure_threads, quiet_tensorflow

    # Every core for TensorFlow (the service keeps one for its event loop; there is none here):
    # +15 % rows/s on the idle 2-core box with the tokenizer thread beside it (docs/batch.md).
    # An explicit TF_NUM_INTRAOP_THREADS still wins; read at TensorFlow's first import only.
    if "tensorflow" not in sys.modules:
        os.environ.setdefault("TF_NUM_INTRAOP_THREADS", str(len(os.sched_getaffinity(0))))
        configure_threads()
    with quiet_tensorflow():
        from model_contract.runner import ModelRunner

    maxlen = artifact.tokenizer.config.maxlen
    policy = BatchPolicy(max_batch_size=batch_size, xla=xla, warmup_repeats=0)
    runner = ModelRunner(artifact.path, maxlen, policy)
    runner.predict(np.ones((batch_size, maxlen), np.int32))  # compile now, not inside the timing
    return runner


def chunks(items: Iterator[Item], size: int, source: Source, fail: bool) -> Iterator[Chunk]:
    chunk = Chunk()
    for item in items:
        if isinstance(item, BadRow):
            chunk.bad.append(item)
            if fail:
                break  # read no further: the run stops at this row
        else:
            chunk.records.append(item)
        if len(chunk.records) + len(chunk.bad) >= size:
            chunk.end_bytes = source.bytes_read
            yield chunk
            chunk = Chunk()
    if chunk.records or chunk.bad:
        chunk.end_bytes = source.bytes_read
        yield chunk


ScoreChunks = Callable[[Iterator[Chunk]], Iterator[Scores[Chunk]]]


def in_process(scorer: BulkScorer, overlap: bool) -> ScoreChunks:
    """Score in this process: the model here, tokenizing in a background thread if ``overlap``."""

    def score(chunks: Iterator[Chunk]) -> Iterator[Scores[Chunk]]:
        encoded = (scorer.encode(c, [r.text for r in c.records]) for c in chunks)
        source = prefetch(encoded, depth=2) if overlap else encoded
        with contextlib.closing(source):  # stops the tokenizer thread on an early exit
            yield from scorer.score(source)

    return score


def texts_of(chunk: Chunk) -> list[str]:
    return [r.text for r in chunk.records]


def run(
    items: Iterator[Item],
    source: Source,
    score: ScoreChunks,
    writer: Writer,
    threshold: float,
    args: argparse.Namespace,
    name: str,
    progress: Progress,
) -> Stats:
    """Score every record in input order; report bad rows (or raise ``InputError`` on the first
    one with ``--on-error fail``)."""
    stats = Stats()
    fail = args.on_error == "fail"
    refuse = getattr(args, "on_unreadable", "answer") == "refuse"

    def bad_row(line: int, reason: str) -> None:
        where = f"{name}:{line}: {reason}"
        if fail:
            raise InputError(f"{where} (--on-error fail)")
        stats.skipped += 1
        if stats.skipped <= MAX_LISTED_BAD_ROWS:
            progress.message(f"{where} (skipped)")
        elif stats.skipped == MAX_LISTED_BAD_ROWS + 1:
            progress.message(f"{name}: more bad rows not listed; the summary counts them")

    started, cpu_started = time.perf_counter(), time.process_time()
    results = score(chunks(items, args.chunk_size, source, fail))
    with contextlib.closing(results):  # type: ignore[type-var]
        for result in results:
            chunk: Chunk = result.tag
            for bad in chunk.bad:
                bad_row(bad.line, bad.reason)
            write, refused = writer.write, 0
            for record, p, n, verdict in zip(
                chunk.records, result.probabilities, result.windows, result.verdicts, strict=True
            ):
                if refuse and not verdict.readable:  # as the API's 422 unreadable_text
                    bad_row(
                        record.line, f"unreadable_text ({verdict.reason}; --on-unreadable refuse)"
                    )
                    refused += 1
                    continue
                write(record.id, "positive" if p >= threshold else "negative", p, n, verdict)
            stats.scored += len(chunk.records) - refused
            stats.rows += sum(result.windows)
            progress.update(stats.scored, chunk.end_bytes)
    progress.update(stats.scored, source.bytes_read, force=True)
    stats.seconds = time.perf_counter() - started
    stats.cpu_seconds = time.process_time() - cpu_started
    return stats
