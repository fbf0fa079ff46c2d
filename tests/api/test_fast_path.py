"""The predict routes' fast path (app/fastpath.py) answers exactly as FastAPI's path does.

Every request below is sent twice to the same running app, once with the fast path and once with
it switched off (FastAPI's routing, body parse and validation), and the raw answers - status,
headers (but the request id) and body bytes - must be identical. Valid requests must not fall
back; every malformed one must (so its 4xx is FastAPI's own).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.fastpath import FastPredict
from app.middleware import RequestMiddleware

JSON = {"content-type": "application/json"}
TEXT = "A moving, beautifully acted film with a clever script."


def _middleware(client: TestClient) -> RequestMiddleware:
    app: Any = client.app
    layer = app.middleware_stack
    while not isinstance(layer, RequestMiddleware):
        layer = layer.app
    return layer


def _send(client: TestClient, path: str, body: Any, headers: dict[str, str]) -> tuple[Any, ...]:
    content = body() if callable(body) else body  # an iterator (chunked upload) is used once
    r = client.post(path, content=content, headers=headers)
    kept = sorted((k, v) for k, v in r.headers.items() if k != "x-request-id")
    return r.status_code, kept, r.content


def both_ways(
    client: TestClient, path: str, body: Any, headers: dict[str, str] = JSON
) -> tuple[tuple[Any, ...], int]:
    """The answer (asserted equal both ways) and how often the fast path fell back."""
    mw = _middleware(client)
    fast: FastPredict = mw._fast[path]  # type: ignore[assignment]
    fallbacks = 0
    inner = fast.fallback

    async def counting(scope: Any, receive: Any, send: Any) -> None:
        nonlocal fallbacks
        fallbacks += 1
        await inner(scope, receive, send)

    fast.fallback = counting
    try:
        quick = _send(client, path, body, headers)
    finally:
        fast.fallback = inner
    app: Any = client.app
    saved, mw._fast = mw._fast, {}
    entry, app._entry = app._entry, None  # and in through all of FastAPI's layers
    try:
        slow = _send(client, path, body, headers)
    finally:
        mw._fast, app._entry = saved, entry
    assert quick == slow, (path, body, headers)
    return quick, fallbacks


def _valid(client: TestClient) -> Iterator[tuple[str, bytes]]:
    s = client.app.state.runtime.settings  # type: ignore[attr-defined]
    version = client.app.state.runtime.version  # type: ignore[attr-defined]
    bodies: list[dict[str, Any]] = [
        {"text": TEXT},
        {"text": "A dull, lifeless mess. " * 60},  # several windows
        {"texts": [TEXT, "Awful.", "word " * 300]},
        {"text": TEXT, "scoring": "last"},
        {"text": TEXT, "scoring": "whole", "model_version": version},
        {"text": TEXT, "model_version": "999"},  # 404 from the handler
        {"text": "😀😀😀"},  # unreadable, answered
        {"text": "😀😀😀", "on_unreadable": "refuse"},  # 422 unreadable_text
        {"texts": [TEXT, "😀"], "on_unreadable": "refuse"},  # a refused item
        {"text": "x" * (s.max_text_chars + 1)},  # over the limit: 422 from checked_request
        {"texts": ["ok"] * (s.max_texts_per_request + 1)},
        {"text": "Caf\u00e9 na\u00efve, \u0433\u0440\u0435at fi\u00adlm \ufb01ne"},
        {"text": "nul \u0000 and tab \t inside"},
        {"text": TEXT, "texts": None},  # null is "not given"
    ]
    for body in bodies:
        for path in ("/predict", "/predict/probability", "/predict/label"):
            yield path, json.dumps(body).encode()
    yield "/predict", json.dumps({"text": TEXT}, ensure_ascii=False, indent=2).encode()
    yield "/predict", b'{"text": "first", "text": "second"}'  # duplicate keys: the last wins
    yield "/predict", b'{"text": "escaped \\u00e9 \\" \\\\ \\n"}'


MALFORMED: list[bytes] = [
    b"",
    b"not json",
    b'{"text": "a",}',
    b'{"text": NaN}',
    b'{"text": 1e400}',
    b'{"text": 1}',
    b'{"text": null}',
    b'{"text": ""}',
    b'{"text": "   "}',
    b'{"texts": []}',
    b'{"texts": ["a", 2]}',
    b'{"text": "a", "texts": ["b"]}',
    b'{"text": "a", "extra": 1}',
    b'{"text": "a", "scoring": "bogus"}',
    b'{"text": "a", "model_version": "../etc"}',
    b'{"text": "a", "on_unreadable": "ignore"}',
    b"[]",
    b'"text"',
    b"[" * 5000 + b"]" * 5000,
    b'{"text": "a"} trailing',
    b'{"text": "\\ud800 lone surrogate"}',
    b'{"text": "raw\ttab"}',
    b'{"text": "bad \xff utf-8"}',
]
# Not UTF-8 JSON, yet the stdlib parser FastAPI uses reads them: they fall back and are served.
ODD_BUT_ACCEPTED: list[bytes] = [
    b'\xef\xbb\xbf{"text": "BOM first"}',
    '{"text": "utf-16"}'.encode("utf-16"),
    '{"text": "utf-32"}'.encode("utf-32"),
]


def test_valid_requests_take_the_fast_path_and_answer_identically(client: TestClient) -> None:
    client.post("/predict", json={"text": TEXT})
    assert client.app._entry is not None  # type: ignore[attr-defined]  # the shortcut is on
    statuses = set()
    for path, body in _valid(client):
        (status, _, _), fallbacks = both_ways(client, path, body)
        statuses.add(status)
        assert fallbacks == 0, body[:80]
    assert statuses == {200, 404, 422}


@pytest.mark.parametrize("body", MALFORMED + ODD_BUT_ACCEPTED, ids=repr)
def test_malformed_bodies_fall_back_to_fastapi(client: TestClient, body: bytes) -> None:
    (status, _, _), fallbacks = both_ways(client, "/predict", body)
    assert status == 200 if body in ODD_BUT_ACCEPTED else 400 <= status < 500
    assert fallbacks == 1


@pytest.mark.parametrize(
    "content_type",
    [None, "text/plain", "application/vnd.api+json", "application/json; charset=latin-1",
     "APPLICATION/JSON", "application/json; charset=utf-8", "application/json;charset=utf-8"],
)  # fmt: skip
def test_content_types_answer_identically(client: TestClient, content_type: str | None) -> None:
    headers = {} if content_type is None else {"content-type": content_type}
    body = json.dumps({"text": TEXT}).encode()
    (status, _, _), fallbacks = both_ways(client, "/predict", body, headers)
    fast = content_type is not None and content_type.lower() in (
        "application/json",
        "application/json; charset=utf-8",
    )
    assert fallbacks == (0 if fast else 1)
    assert status in (200, 415)


def test_large_and_chunked_bodies(client: TestClient) -> None:
    big = json.dumps({"texts": [TEXT * 90] * 16}).encode()  # > 64 KiB: pre-screened, replayed
    assert len(big) > 64 * 1024
    (status, _, _), fallbacks = both_ways(client, "/predict", big)
    assert (status, fallbacks) == (200, 0)
    parts = [b'{"te', b'xt": "chunked ', b'upload"}']
    (status, _, _), fallbacks = both_ways(client, "/predict", lambda: iter(parts))
    assert (status, fallbacks) == (200, 0)


def test_a_server_fault_is_the_same_500_both_ways(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr(client.app.state.runtime, "score", broken)  # type: ignore[attr-defined]
    quiet = TestClient(client.app, raise_server_exceptions=False)  # no lifespan: already up
    (status, _, body), fallbacks = both_ways(quiet, "/predict", b'{"text": "fine"}')
    assert (status, fallbacks) == (500, 0)
    assert json.loads(body)["code"] == "internal_error"
