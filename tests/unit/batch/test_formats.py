"""Batch-scoring CLI input and output (batch/formats.py): records, bad rows with line numbers."""

from __future__ import annotations

import csv
import io
import json

import pytest

from batch.csv_reader import read_csv
from batch.formats import (
    BadRow,
    InputError,
    Item,
    Record,
    Source,
    Writer,
    check_text,
    input_format,
    read_jsonl,
    read_txt,
)
from model_contract.readability import Readability

MAX = 50


def src(data: bytes | str, max_line_bytes: int = 10_000) -> Source:
    raw = data.encode() if isinstance(data, str) else data
    return Source(io.BytesIO(raw), max_line_bytes)


def jsonl(data: bytes | str, **kw: int) -> list[Item]:
    return list(read_jsonl(src(data, **kw), MAX))


def test_jsonl_records_ids_and_every_kind_of_bad_row() -> None:
    lines = [
        '{"text": "first", "id": "a"}',  # 1
        '{"text": "second"}',  # 2: id = line number
        "",  # 3: blank lines are no records
        "not json",  # 4
        '["text"]',  # 5
        '{"id": 1}',  # 6
        '{"text": ""}',  # 7
        '{"text": " \\t "}',  # 8
        '{"text": 7}',  # 9
        '{"text": null}',  # 10
        '{"text": "%s"}' % ("x" * (MAX + 1)),  # 11
        '{"text": "ok", "id": 1.5}',  # 12
        '{"text": "ok", "id": true}',  # 13
        '{"text": "caf\\u00e9 \U0001f600", "id": 14, "extra": 1}',  # 14
        '{"text": "x" * 3}',  # 15
        '{"text": "ok", "id": "\\ud800"}',  # 16: could not be written as UTF-8
        '{"text": "lone \\udc00: refused, as by the API"}',  # 17
    ]
    items = jsonl("\n".join(lines) + "\n")
    assert items == [
        Record(1, "a", "first"),
        Record(2, 2, "second"),
        BadRow(4, "invalid JSON: Expecting value (column 1)"),
        BadRow(5, 'expected a JSON object like {"text": "..."}'),
        BadRow(6, "missing 'text'"),
        BadRow(7, "text is empty"),
        BadRow(8, "text must contain non-whitespace characters"),
        BadRow(9, "text must be a string"),
        BadRow(10, "text must be a string"),
        BadRow(11, f"text longer than {MAX} characters"),
        BadRow(12, "'id' must be a string or an integer"),
        BadRow(13, "'id' must be a string or an integer"),
        Record(14, 14, "café \U0001f600"),
        BadRow(15, "invalid JSON: Expecting ',' delimiter (column 14)"),
        BadRow(16, "'id' is not valid Unicode (a lone surrogate)"),
        BadRow(17, "text is not valid Unicode (a lone surrogate)"),
    ]


def test_jsonl_bom_crlf_no_final_newline_and_invalid_utf8() -> None:
    data = b'\xef\xbb\xbf{"text": "a"}\r\n{"text": "\xff"}\n{"text": "c"}'
    assert jsonl(data) == [
        Record(1, 1, "a"),
        BadRow(2, "not valid UTF-8 (byte 11 of the line)"),
        Record(3, 3, "c"),
    ]


def test_a_line_over_the_byte_limit_is_one_bad_row_and_reading_goes_on() -> None:
    data = '{"text": "%s"}\n{"text": "after"}\n' % ("y" * 300)
    assert jsonl(data, max_line_bytes=64) == [
        BadRow(1, "line longer than 64 bytes"),
        Record(2, 2, "after"),
    ]
    source = src(data, max_line_bytes=64)
    list(read_jsonl(source, MAX))
    assert source.bytes_read == len(data)  # the skipped rest counts towards progress


def test_txt_one_review_per_line() -> None:
    data = "good film\r\n\n   \nbad film\n" + "z" * (MAX + 1) + "\nlast"
    assert list(read_txt(src(data), MAX)) == [
        Record(1, 1, "good film"),
        BadRow(2, "text is empty"),
        BadRow(3, "text must contain non-whitespace characters"),
        Record(4, 4, "bad film"),
        BadRow(5, f"text longer than {MAX} characters"),
        Record(6, 6, "last"),
    ]


def csv_items(data: bytes | str, text: str = "text", rid: str | None = None) -> list[Item]:
    return list(read_csv(src(data), MAX, text, rid))


def test_csv_columns_multiline_records_and_bad_rows() -> None:
    data = (
        "\ufeffrid,review,stars\n"  # 1 (BOM before the header)
        "r1,plain,5\n"  # 2
        'r2,"spans\ntwo lines, with a comma",4\n'  # 3-4
        "r3,short row\n"  # 5
        'r4,bad"quote,3\n'  # 6: strict quoting
        "\n"  # 7: blank
        'r5,"",2\n'  # 8
        "r6,after,1\n"  # 9
    )
    assert csv_items(data, "review", "rid") == [
        Record(2, "r1", "plain"),
        Record(3, "r2", "spans\ntwo lines, with a comma"),
        BadRow(5, "bad CSV row: 2 fields, the header has 3"),
        Record(6, "r4", 'bad"quote'),
        BadRow(8, "text is empty"),
        Record(9, "r6", "after"),
    ]
    # Without --id-column the id is the line the record starts on (the number errors cite).
    assert [i.id for i in csv_items(data, "review") if isinstance(i, Record)] == [2, 3, 6, 9]


def test_csv_quote_errors_are_bad_rows_and_reading_recovers() -> None:
    data = 'text\n"x"y\nfine\n"unterminated\nmore\n'
    assert csv_items(data) == [
        BadRow(2, "bad CSV row: ',' expected after '\"'"),
        Record(3, 3, "fine"),
        BadRow(4, "bad CSV row: unexpected end of data"),
    ]


def test_csv_invalid_utf8_and_too_long_line() -> None:
    data = b"text\n\xff\xfe\nok\n" + b"w" * 100 + b"\nnext\n"
    items = list(read_csv(src(data, max_line_bytes=64), MAX, "text", None))
    assert items == [
        BadRow(2, "not valid UTF-8"),
        Record(3, 3, "ok"),
        BadRow(4, "bad CSV row: line 4 longer than 64 bytes"),
        Record(5, 5, "next"),
    ]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("", "the CSV input is empty"),
        ("review,id\nx,1\n", "no column 'text' (columns: review, id)"),
    ],
)
def test_csv_header_problems_fail_the_whole_input(data: str, message: str) -> None:
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        csv_items(data)


def test_csv_missing_id_column_is_named() -> None:
    with pytest.raises(InputError, match=r"no column 'key'.*--id-column"):
        csv_items("text\nx\n", rid="key")


def test_csv_field_limit_is_restored() -> None:
    before = csv.field_size_limit()
    list(read_csv(src("text\nx\n"), 10**6, "text", None))
    assert csv.field_size_limit() == before


def test_input_format() -> None:
    assert input_format("a.JSONL", None) == "jsonl"
    assert input_format("a.ndjson", None) == "jsonl"
    assert input_format("a.csv", None) == "csv"
    assert input_format("a.txt", None) == "txt"
    assert input_format("-", "csv") == "csv"
    with pytest.raises(InputError, match=r"stdin: pass --input-format"):
        input_format("-", None)
    with pytest.raises(InputError, match=r"'a\.tsv': pass --input-format"):
        input_format("a.tsv", None)


def test_check_text_uses_the_api_rules_in_the_api_order() -> None:
    assert check_text("x" * MAX, MAX) is None
    assert check_text(" " * (MAX + 1), MAX) == "text must contain non-whitespace characters"
    assert check_text("", MAX) == "text is empty"
    assert check_text(b"bytes", MAX) == "text must be a string"


PROBS = [0.1, 1 / 3, 0.5, 0.9999999403953552, 5e-324, 0.0, 1.0]
READABLE = Readability(True, None, 0.875, None)
GERMAN = Readability(False, "not_english", 0.5, "de")


def test_jsonl_writer_round_trips_exact_floats_and_unicode_ids() -> None:
    out = io.StringIO()
    writer = Writer(out, "jsonl")
    ids: list[str | int] = ['é"\\\n😀', 7, "", "8", "a,b", 0, -1]
    for rid, p in zip(ids, PROBS, strict=True):
        writer.write(rid, "positive", p, 3, READABLE)
    writer.write(8, "negative", 0.25, 1, GERMAN)
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    verdict = {"readable": True, "reason": None, "coverage": 0.875, "language": None}
    assert rows[:-1] == [
        {"id": rid, "label": "positive", "probability": p, "windows": 3, **verdict}
        for rid, p in zip(ids, PROBS, strict=True)
    ]
    assert rows[-1] == {
        "id": 8, "label": "negative", "probability": 0.25, "windows": 1,
        "readable": False, "reason": "not_english", "coverage": 0.5, "language": "de",
    }  # fmt: skip
    assert all(isinstance(r["probability"], float) for r in rows)


def test_csv_writer_round_trips() -> None:
    out = io.StringIO()
    writer = Writer(out, "csv")
    for i, p in enumerate(PROBS):
        writer.write(f'id "{i}",\nx', "negative", p, i + 1, GERMAN if i % 2 else READABLE)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert [(r["readable"], r["reason"], r["language"]) for r in rows[:2]] == [
        ("true", "", ""),
        ("false", "not_english", "de"),
    ]
    assert [float(r["coverage"]) for r in rows[:2]] == [0.875, 0.5]
    assert [r["id"] for r in rows] == [f'id "{i}",\nx' for i in range(len(PROBS))]
    assert [float(r["probability"]) for r in rows] == PROBS
    assert [int(r["windows"]) for r in rows] == list(range(1, len(PROBS) + 1))
    assert out.getvalue().startswith(
        "id,label,probability,windows,readable,reason,coverage,language\n"
    )
