"""The one pure ASGI middleware: request metrics, request id, logging and the body size limit.

Pure ASGI (not ``BaseHTTPMiddleware``) so nothing is buffered or copied per request and a 413
is sent before the body is parsed. One layer rather than two: every layer is another coroutine
frame per request (the separate size-limit layer cost ~2 % of throughput under load).
"""

from __future__ import annotations

import itertools
import json
import logging
import re
import secrets
import time
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.logging_setup import request_id_var
from app.metrics import ServiceMetrics

logger = logging.getLogger("app.access")

BODY_METHODS = {"POST", "PUT", "PATCH"}
_SAFE_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1"))
    return None


class RequestMiddleware:
    """``sentiment_requests_total{route,status}``, duration, request id, and 413 over ``max_bytes``.

    Outermost, so it counts every response, including its own 413s.
    """

    def __init__(
        self,
        app: ASGIApp,
        metrics: ServiceMetrics,
        known_routes: Callable[[], set[str]],
        max_body_bytes: int,
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.max_bytes = max_body_bytes
        self._known_routes = known_routes
        # Cheap unique ids (uuid4 per request showed up in profiles): random prefix + counter.
        self._id_prefix = secrets.token_hex(4)
        self._ids = itertools.count(1)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        # Bounded label values: unknown paths share one label (no cardinality blow-up).
        route = path if path in self._known_routes() else "other"
        request_id = _header(scope, b"x-request-id")
        if request_id is None or not _SAFE_ID.fullmatch(request_id):  # no arbitrary log text
            request_id = f"{self._id_prefix}-{next(self._ids)}"
        id_token = request_id_var.set(request_id)  # for every log line of this request
        status = 500
        started = time.perf_counter()
        logger.debug(
            "request received id=%s method=%s route=%s", request_id, scope["method"], route
        )

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode("latin-1")))
                message = {**message, "headers": headers}
            await send(message)

        try:
            if scope["method"] in BODY_METHODS:
                await self._with_body_limit(scope, receive, send_wrapper)
            else:
                await self.app(scope, receive, send_wrapper)
        finally:
            elapsed = time.perf_counter() - started
            self.metrics.observe_request(route, status, elapsed)
            level = logging.WARNING if status >= 500 else logging.DEBUG
            logger.log(
                level,
                "request done id=%s method=%s route=%s status=%d ms=%.1f",
                request_id, scope["method"], route, status, elapsed * 1000,
            )  # fmt: skip
            request_id_var.reset(id_token)

    async def _with_body_limit(self, scope: Scope, receive: Receive, send: Send) -> None:
        """413 by Content-Length up front, else (chunked upload) by counting what arrives."""
        length = _header(scope, b"content-length")
        if length is not None:
            if length.isdigit() and int(length) > self.max_bytes:
                await self._reject(send)
                return
            # The server enforces Content-Length, so the body cannot exceed what was declared.
            await self.app(scope, receive, send)
            return
        # Chunked upload: read it (bounded by the limit) and replay it to the app.
        chunks: list[bytes] = []
        total = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            total += len(chunk)
            if total > self.max_bytes:
                await self._reject(send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _reject(self, send: Send) -> None:
        self.metrics.rejected.labels(reason="body_too_large").inc()
        body = json.dumps(
            {"detail": f"request body exceeds {self.max_bytes} bytes", "code": "body_too_large"}
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
