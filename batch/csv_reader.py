"""The CSV reader of the batch-scoring CLI (``--input-format csv``); see ``batch.formats``.

A header row names the columns; ``--text-column`` (default ``text``) holds the review and
``--id-column`` (optional) the id. Quoted fields may span lines; quoting is strict, so a stray quote
is one bad row (its first line cited) and reading goes on with the next record.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator

from batch.formats import (
    BadRow,
    Id,
    InputError,
    Item,
    Record,
    Source,
    check_text,
    guarded,
    utf8,
)


def read_csv(
    source: Source, max_chars: int, text_column: str, id_column: str | None
) -> Iterator[Item]:
    """A header row, then one record per row (quoted fields may span lines; strict quoting)."""
    lines = _CsvLines(source)
    reader = csv.reader(lines, strict=True)
    previous_limit = csv.field_size_limit(max(csv.field_size_limit(), 4 * max_chars))
    try:
        try:
            header = next(reader)
        except StopIteration:
            raise InputError("the CSV input is empty: expected a header row") from None
        except (csv.Error, _LineTooLong) as exc:
            raise InputError(f"line 1: unreadable CSV header ({exc})") from None
        if header and header[0].startswith("\ufeff"):
            header[0] = header[0][1:]
        text_at = _column(header, text_column, "--text-column")
        id_at = _column(header, id_column, "--id-column") if id_column is not None else None
        while True:
            start = lines.count + 1
            try:
                row = next(reader)
            except StopIteration:
                return
            except (csv.Error, _LineTooLong) as exc:
                yield BadRow(start, f"bad CSV row: {exc}")
                continue
            if not row:
                continue  # a blank line
            yield guarded(start, _csv_item, row, len(header), text_at, id_at, max_chars)
    finally:
        csv.field_size_limit(previous_limit)


class _LineTooLong(Exception):
    pass


class _CsvLines:
    """Decoded lines for ``csv.reader``, counted; a too-long line raises (one bad row) and
    reading goes on (the reader resets its state on every record). Undecodable bytes survive as
    lone surrogates, so a bad line is one bad row, not a crash."""

    def __init__(self, source: Source) -> None:
        self.count = 0
        self._lines = source.lines()
        self._limit = source.max_line_bytes

    def __iter__(self) -> _CsvLines:
        return self

    def __next__(self) -> str:
        raw = next(self._lines)
        self.count += 1
        if raw is None:
            raise _LineTooLong(f"line {self.count} longer than {self._limit} bytes")
        return raw.decode("utf-8", "surrogateescape")


def _column(header: list[str], name: str, option: str) -> int:
    try:
        return header.index(name)
    except ValueError:
        raise InputError(
            f"the CSV header has no column {name!r} (columns: {', '.join(header)}); "
            f"name the column with {option}"
        ) from None


def _csv_item(
    line: int, row: list[str], width: int, text_at: int, id_at: int | None, max_chars: int
) -> Item:
    if len(row) != width:
        return BadRow(line, f"bad CSV row: {len(row)} fields, the header has {width}")
    text = row[text_at]
    rid: Id = row[id_at] if id_at is not None else line
    for value in (text, rid):
        if isinstance(value, str) and not utf8(value):
            return BadRow(line, "not valid UTF-8")
    reason = check_text(text, max_chars)
    return Record(line, rid, text) if reason is None else BadRow(line, reason)
