"""Input and output of the batch-scoring CLI (``batch.cli``): streaming readers and writers.

Readers turn a binary stream into ``Record``s (line number, id, text) and ``BadRow``s (line number,
reason), one at a time - nothing is held beyond the current line or CSV record. Texts are checked
with the API's rules (``check_text``: a string, not empty, not blank, at most MAX_TEXT_CHARS
characters), so a row the CLI scores is a text the API would score, and vice versa.

Formats: ``jsonl`` (one JSON object per line with ``text`` and an optional ``id``; blank lines are
ignored), ``csv`` (a header row naming the text column and optionally an id column), ``txt`` (one
review per line). The id defaults to the record's 1-based line number, the number errors cite.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from json.encoder import encode_basestring as _json_string
from pathlib import Path
from typing import IO, Any, Literal, TextIO

from model_contract.readability import Readability

Format = Literal["jsonl", "csv", "txt"]
FORMATS: tuple[Format, ...] = ("jsonl", "csv", "txt")
EXTENSIONS: dict[str, Format] = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".csv": "csv",
    ".txt": "txt",
}
Id = str | int
OUTPUT_FIELDS = (
    "id",
    "label",
    "probability",
    "windows",
    "readable",
    "reason",
    "coverage",
    "language",
)
# A CSV cell starting with one of these is a formula to a spreadsheet (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class InputError(Exception):
    """The input as a whole cannot be read (unknown format, CSV header without the column)."""


@dataclass(frozen=True, slots=True)
class Record:
    line: int
    id: Id
    text: str


@dataclass(frozen=True, slots=True)
class BadRow:
    line: int
    reason: str


Item = Record | BadRow


def input_format(path: str, given: str | None) -> Format:
    """``given`` if set, else from the file extension; stdin (``-``) must be named."""
    if given is not None:
        return given  # type: ignore[return-value]  # argparse restricts it to FORMATS
    fmt = EXTENSIONS.get(Path(path).suffix.lower()) if path != "-" else None
    if fmt is None:
        where = "stdin" if path == "-" else repr(path)
        raise InputError(
            f"cannot tell the input format of {where}: pass --input-format {{jsonl,csv,txt}}"
        )
    return fmt


def check_text(value: object, max_chars: int) -> str | None:
    """Why the API would refuse this text (422), or None. Same rules, same order, same words."""
    if not isinstance(value, str):
        return "text must be a string"
    if not value.isascii() and not utf8(value):
        return "text is not valid Unicode (a lone surrogate)"
    if not value:
        return "text is empty"
    if value.isspace():
        return "text must contain non-whitespace characters"
    if len(value) > max_chars:
        return f"text longer than {max_chars} characters"
    return None


class Source:
    """A binary stream read line by line, at most ``max_line_bytes`` a line; counts bytes read."""

    def __init__(self, stream: IO[bytes], max_line_bytes: int) -> None:
        self.stream = stream
        self.max_line_bytes = max_line_bytes
        self.bytes_read = 0

    def lines(self) -> Iterator[bytes | None]:
        """Each line (terminator included), or None for a line longer than the limit (skipped)."""
        try:
            yield from self._lines()
        except OSError as exc:
            raise InputError(f"cannot read the input: {exc.strerror or exc}") from None

    def _lines(self) -> Iterator[bytes | None]:
        read, limit = self.stream.readline, self.max_line_bytes
        while line := read(limit + 1):
            self.bytes_read += len(line)
            if len(line) > limit and not line.endswith(b"\n"):
                while (rest := read(1 << 16)) and not rest.endswith(b"\n"):  # skip the rest
                    self.bytes_read += len(rest)
                self.bytes_read += len(rest)
                yield None
            else:
                yield line


def _decode(raw: bytes, line: int) -> str | BadRow:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return BadRow(line, f"not valid UTF-8 (byte {exc.start + 1} of the line)")
    if line == 1 and text.startswith("\ufeff"):
        text = text[1:]  # a byte-order mark some editors write first
    return text


def _decoded_lines(source: Source) -> Iterator[tuple[int, str | BadRow]]:
    """(line number, its text or why it cannot be read) for every line of ``source``."""
    for line, raw in enumerate(source.lines(), 1):
        if raw is None:
            yield line, BadRow(line, f"line longer than {source.max_line_bytes} bytes")
        else:
            yield line, _decode(raw, line)


def read_jsonl(source: Source, max_chars: int) -> Iterator[Item]:
    for line, text in _decoded_lines(source):
        if isinstance(text, BadRow):
            yield text
        elif text.strip():
            yield guarded(line, _jsonl_item, text, max_chars)


def guarded(line: int, parse: Callable[..., Item], *args: Any) -> Item:
    """``parse(line, *args)``; any exception is this row's problem, never the run's (a line of
    100,000 ``[`` raised RecursionError, a 5,000-digit id ValueError, and stopped the run)."""
    try:
        return parse(line, *args)
    except Exception as exc:
        return BadRow(line, f"unreadable row ({type(exc).__name__})")


def _jsonl_item(line: int, text: str, max_chars: int) -> Item:
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        return BadRow(line, f"invalid JSON: {exc.msg} (column {exc.colno})")
    if not isinstance(obj, dict):
        return BadRow(line, 'expected a JSON object like {"text": "..."}')
    if "text" not in obj:
        return BadRow(line, "missing 'text'")
    rid = obj.get("id", line)
    if isinstance(rid, bool) or not isinstance(rid, str | int):
        return BadRow(line, "'id' must be a string or an integer")
    if isinstance(rid, str) and not utf8(rid):
        return BadRow(line, "'id' is not valid Unicode (a lone surrogate)")
    if (reason := check_text(obj["text"], max_chars)) is not None:
        return BadRow(line, reason)
    return Record(line, rid, obj["text"])


def read_txt(source: Source, max_chars: int) -> Iterator[Item]:
    for line, text in _decoded_lines(source):
        if isinstance(text, BadRow):
            yield text
            continue
        text = text.removesuffix("\n").removesuffix("\r")
        reason = check_text(text, max_chars)
        yield Record(line, line, text) if reason is None else BadRow(line, reason)


def utf8(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class Writer:
    """One output row per scored record: ``OUTPUT_FIELDS``, the API's fields for the text.

    The probability is written as Python's shortest round-trip repr - the same digits the API's
    JSON carries - so a value read back is the exact float the API returns. In CSV ``readable`` is
    ``true``/``false`` and an absent reason or language is an empty cell.
    """

    def __init__(self, stream: TextIO, fmt: Format) -> None:
        self.stream = stream
        self.fmt = fmt
        self._csv = csv.writer(stream, lineterminator="\n") if fmt == "csv" else None
        if self._csv is not None:
            self._csv.writerow(OUTPUT_FIELDS)

    def write(
        self, rid: Id, label: str, probability: float, windows: int, verdict: Readability
    ) -> None:
        readable = "true" if verdict.readable else "false"
        if self._csv is not None:
            if isinstance(rid, str) and rid.startswith(FORMULA_STARTS):
                rid = "'" + rid  # a spreadsheet would run it: =HYPERLINK(...), +cmd, @SUM(...)
            row = (rid, label, repr(probability), windows, readable, verdict.reason or "",
                   repr(verdict.coverage), verdict.language or "")  # fmt: skip
            self._csv.writerow(row)
            return
        # json.dumps per row cost ~10 us; its C string encoder alone is ~0.3 us.
        key = _json_string(rid) if isinstance(rid, str) else int.__repr__(rid)
        reason = "null" if verdict.reason is None else f'"{verdict.reason}"'
        language = "null" if verdict.language is None else _json_string(verdict.language)
        self.stream.write(
            f'{{"id":{key},"label":"{label}","probability":{probability!r},"windows":{windows},'
            f'"readable":{readable},"reason":{reason},"coverage":{verdict.coverage!r},'
            f'"language":{language}}}\n'
        )
