"""app.httputil: the ASGI helpers the middleware answers with before FastAPI sees a request."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from pydantic import ValidationError
from starlette.types import Message

from app.config import Settings
from app.httputil import bearer_matches, header, is_json_media_type, send_error


def scope(*headers: tuple[bytes, bytes]) -> dict[str, Any]:
    return {"type": "http", "headers": list(headers)}


def test_header_lookup() -> None:
    s = scope((b"content-type", b"application/json"), (b"x-a", b"1"), (b"x-a", b"2"))
    assert header(s, b"content-type") == "application/json"
    assert header(s, b"x-a") == "1"  # the first one
    assert header(s, b"x-missing") is None
    assert header({"type": "http"}, b"x-a") is None  # a scope without headers
    # ASGI headers are bytes; anything non-ASCII is decoded as Latin-1, never an error.
    assert header(scope((b"x-b", b"caf\xe9\xff")), b"x-b") == "caf\xe9\xff"


@pytest.mark.parametrize(
    ("content_type", "is_json"),
    [
        ("application/json", True),
        ("application/json; charset=utf-8", True),
        ("Application/JSON", True),
        (" application/json ;charset=latin-1", True),
        ("application/problem+json", True),
        ("application/vnd.api+json", True),
        ("application/jsonx", False),
        ("text/json", False),
        ("application/x-www-form-urlencoded", False),  # what curl -d sends
        ("text/plain", False),
        ("multipart/form-data; boundary=json", False),
        ("json", False),
        ("", False),
        (None, False),
    ],
)
def test_json_media_types(content_type: str | None, is_json: bool) -> None:
    assert is_json_media_type(content_type) is is_json


KEY = b"s3cret-key"


@pytest.mark.parametrize(
    ("authorization", "ok"),
    [
        (b"Bearer s3cret-key", True),
        (b"bearer s3cret-key", True),
        (b"BEARER s3cret-key", True),
        (b"Bearer  s3cret-key ", True),  # surrounding whitespace of the token is ignored
        (b"Bearer s3cret-ke", False),
        (b"Bearer s3cret-key2", False),
        (b"Bearer ", False),
        (b"Bearer", False),
        (b"Basic s3cret-key", False),
        (b"s3cret-key", False),
        (b"Bearer S3CRET-KEY", False),  # the key itself is case-sensitive
        (None, False),
    ],
)
def test_bearer_matches(authorization: bytes | None, ok: bool) -> None:
    s = scope() if authorization is None else scope((b"authorization", authorization))
    assert bearer_matches(s, KEY) is ok


@pytest.mark.parametrize("blank", ["", "  "])
def test_an_empty_key_would_match_no_header_so_settings_refuse_one(blank: str) -> None:
    assert bearer_matches(scope(), blank.strip().encode()) is True  # compare_digest(b"", b"")
    with pytest.raises(ValidationError, match="API_KEY is empty or blank"):
        Settings(api_key=blank)  # type: ignore[arg-type]


def collect(
    status: int, detail: str, code: str, extra: tuple[tuple[bytes, bytes], ...] = ()
) -> list[Message]:
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    asyncio.run(send_error(send, status, detail, code, extra))
    return sent


def test_send_error_is_an_error_body_with_exact_length() -> None:
    start, body = collect(413, "request body exceeds 10 bytes", "body_too_large")
    assert start["type"] == "http.response.start" and start["status"] == 413
    headers = dict(start["headers"])
    assert headers[b"content-type"] == b"application/json"
    assert int(headers[b"content-length"]) == len(body["body"])
    assert body["type"] == "http.response.body" and not body.get("more_body", False)
    assert json.loads(body["body"]) == {
        "detail": "request body exceeds 10 bytes",
        "code": "body_too_large",
    }


def test_send_error_adds_extra_headers_and_escapes_the_detail() -> None:
    extra = ((b"www-authenticate", b"Bearer"), (b"connection", b"close"))
    start, body = collect(401, 'key "x"\n\u00e9', "unauthorized", extra)
    assert start["headers"][-2:] == list(extra)
    assert json.loads(body["body"])["detail"] == 'key "x"\n\u00e9'
