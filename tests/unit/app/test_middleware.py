"""app.middleware: request metrics and ids, the API key check and the body limit, in pure ASGI.

Driven with scripted ASGI messages around a small inner app, so each path (413 by header or by
counting, 401, 499, a crash, the pre-screen) is checked exactly; tests/api covers the real server.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from starlette.responses import JSONResponse
from starlette.types import Message, Receive, Scope, Send

from app.logging_setup import request_id_var
from app.metrics import ServiceMetrics
from app.middleware import PRESCREEN_MIN_BYTES, RequestMiddleware

MAX = 100_000
ROUTES = {"/predict", "/healthz"}


class Inner:
    """Reads the whole body, answers 200 with its length; remembers what it saw."""

    def __init__(self, fail: bool = False) -> None:
        self.calls: list[dict[str, Any]] = []
        self.fail = fail

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body, more = b"", True
        while more and scope["type"] == "http":
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        self.calls.append({"body": body, "request_id": request_id_var.get(None)})
        if self.fail:
            raise RuntimeError("boom")
        await JSONResponse({"n": len(body)})(scope, receive, send)


def run(
    mw: RequestMiddleware,
    path: str = "/predict",
    headers: Any = (),
    chunks: Any = (b"",),
    complete: bool = True,
) -> tuple[Message | None, bytes]:
    """Send ``chunks`` as the body (then ``http.disconnect`` if not ``complete``)."""
    messages = [
        {"type": "http.request", "body": c, "more_body": i < len(chunks) - 1 or not complete}
        for i, c in enumerate(chunks)
    ]
    sent: list[Message] = []

    async def receive() -> Message:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": path, "headers": list(headers)}
    asyncio.run(mw(scope, receive, send))
    start = next((m for m in sent if m["type"] == "http.response.start"), None)
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start, body


def middleware(inner: Inner, **kwargs: Any) -> tuple[RequestMiddleware, ServiceMetrics]:
    metrics = ServiceMetrics()
    mw = RequestMiddleware(inner, metrics, lambda: ROUTES, MAX, **kwargs)
    return mw, metrics


def count(metrics: ServiceMetrics, name: str, **labels: str) -> float:
    return metrics.registry.get_sample_value(name, labels) or 0.0


def test_requests_counted_by_known_route_else_other() -> None:
    mw, metrics = middleware(Inner())
    run(mw, "/predict")
    run(mw, "/wp-admin/../../etc/passwd")
    assert count(metrics, "sentiment_requests_total", route="/predict", status="200") == 1
    assert count(metrics, "sentiment_requests_total", route="other", status="200") == 1


@pytest.mark.parametrize(
    ("given", "kept"),
    [(b"abc-123.x:y_z", True), (b"a b", False), (b"x" * 65, False), (b"<script>", False)],
)
def test_request_ids_are_echoed_only_when_safe(given: bytes, kept: bool) -> None:
    inner = Inner()
    start, _ = run(middleware(inner)[0], headers=[(b"x-request-id", given)])
    assert start is not None
    echoed = dict(start["headers"])[b"x-request-id"].decode()
    assert (echoed == given.decode()) is kept
    assert inner.calls[0]["request_id"] == echoed  # every log line of the request carries it


def test_oversized_content_length_is_413_before_the_app_runs() -> None:
    inner = Inner()
    mw, metrics = middleware(inner)
    start, body = run(mw, headers=[(b"content-length", str(MAX + 1).encode())])
    assert start is not None and start["status"] == 413 and inner.calls == []
    assert json.loads(body)["code"] == "body_too_large"
    assert (b"connection", b"close") in start["headers"]
    assert count(metrics, "sentiment_rejected_total", reason="body_too_large") == 1
    assert count(metrics, "sentiment_requests_total", route="/predict", status="413") == 1


def test_a_chunked_body_is_counted_and_cut_off() -> None:
    inner = Inner()
    start, _ = run(middleware(inner)[0], chunks=[b"x" * 60_000, b"x" * 60_000, b"never read"])
    assert start is not None and start["status"] == 413 and inner.calls == []


def test_a_chunked_body_within_the_limit_is_replayed_whole() -> None:
    inner = Inner()
    start, body = run(middleware(inner)[0], chunks=[b"a" * 500, b"b" * 700, b""])
    assert start is not None and start["status"] == 200
    assert json.loads(body) == {"n": 1200} and inner.calls[0]["body"] == b"a" * 500 + b"b" * 700


def test_client_gone_mid_upload_is_499_and_counted() -> None:
    inner = Inner()
    mw, metrics = middleware(inner)
    start, _ = run(mw, chunks=[b"x" * 10, b"y" * 10], complete=False)
    assert start is None and inner.calls == []
    assert count(metrics, "sentiment_requests_total", route="/predict", status="499") == 1
    assert count(metrics, "sentiment_rejected_total", reason="client_closed") == 1


def test_a_crash_is_counted_as_500_and_propagates() -> None:
    mw, metrics = middleware(Inner(fail=True))
    with pytest.raises(RuntimeError, match="boom"):
        run(mw, headers=[(b"content-length", b"0")])
    assert count(metrics, "sentiment_requests_total", route="/predict", status="500") == 1
    assert count(metrics, "sentiment_rejected_total", reason="client_closed") == 0


@pytest.mark.parametrize(
    ("path", "authorization", "status"),
    [
        ("/predict", None, 401),
        ("/predict", b"Bearer wrong", 401),
        ("/predict", b"Bearer k3y", 200),
        ("/healthz", None, 200),  # only the protected paths need the key
    ],
)
def test_api_key(path: str, authorization: bytes | None, status: int) -> None:
    inner = Inner()
    mw, metrics = middleware(inner, api_key=b"k3y", protected_paths=frozenset({"/predict"}))
    headers = [] if authorization is None else [(b"authorization", authorization)]
    start, body = run(mw, path, headers=headers, chunks=[b"x" * 10])
    assert start is not None and start["status"] == status
    if status == 401:
        assert inner.calls == []  # refused before any of the body is read or parsed
        assert (b"www-authenticate", b"Bearer") in start["headers"]
        assert json.loads(body)["code"] == "unauthorized"
        assert count(metrics, "sentiment_rejected_total", reason="unauthorized") == 1


def screened(seen: list[bytes]) -> dict[str, Any]:
    def prescreen(body: bytes) -> JSONResponse | None:
        seen.append(body)
        return (
            JSONResponse({"code": "validation_error"}, status_code=422) if b"bad" in body else None
        )

    return {"prescreen": {"/predict": prescreen}}


@pytest.mark.parametrize(
    ("path", "content_type", "size", "screened_too"),
    [
        ("/predict", b"application/json", PRESCREEN_MIN_BYTES + 1, True),
        ("/predict", b"application/json", PRESCREEN_MIN_BYTES, False),  # small: the hot path
        ("/predict", b"text/plain", PRESCREEN_MIN_BYTES + 1, False),  # FastAPI answers 415
        ("/healthz", b"application/json", PRESCREEN_MIN_BYTES + 1, False),
    ],
)
def test_prescreen_only_for_large_json_bodies_of_its_paths(
    path: str, content_type: bytes, size: int, screened_too: bool
) -> None:
    for payload, refused in ((b"bad", True), (b"ok!", False)):
        seen: list[bytes] = []
        inner = Inner()
        mw, _ = middleware(inner, **screened(seen))
        data = payload * (size // 3) + b" " * (size % 3)
        headers = [(b"content-type", content_type), (b"content-length", str(size).encode())]
        start, _ = run(mw, path, headers=headers, chunks=[data[:1000], data[1000:]])
        assert start is not None
        assert (seen == [data]) is screened_too
        assert start["status"] == (422 if screened_too and refused else 200)
        if start["status"] == 200:
            assert inner.calls[0]["body"] == data


def test_other_scopes_pass_through() -> None:
    inner = Inner()
    mw, metrics = middleware(inner)

    async def nothing() -> Message:
        return {"type": "lifespan.startup"}

    async def drop(message: Message) -> None:
        return None

    asyncio.run(mw({"type": "lifespan"}, nothing, drop))
    assert len(inner.calls) == 1
    assert count(metrics, "sentiment_requests_total", route="other", status="200") == 0
