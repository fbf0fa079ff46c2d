"""The one pure ASGI middleware: request metrics, request id, logging and the body size limit.

Pure ASGI (not ``BaseHTTPMiddleware``) so nothing is buffered or copied per request and a 413
is sent before the body is parsed. One layer rather than two: every layer is another coroutine
frame per request (the separate size-limit layer cost ~2 % of throughput under load).
"""

from __future__ import annotations

import itertools
import logging
import re
import secrets
import time
from collections.abc import Callable, Mapping

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.httputil import bearer_matches, header, is_json_media_type, send_error
from app.logging_setup import request_id_var
from app.metrics import ServiceMetrics
from app.rejections import REJECTIONS

logger = logging.getLogger("app.access")

BODY_METHODS = {"POST", "PUT", "PATCH"}
# nginx's code for "client closed the request before a response": never counted as a 5xx.
CLIENT_CLOSED = REJECTIONS["client_closed"].status
# Bodies above this size are validated by the fast pre-screen before FastAPI parses them; below
# it, the stdlib parse costs < 2 ms, so the hot path (small requests) is left untouched.
PRESCREEN_MIN_BYTES = 64 * 1024
_SAFE_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


class RequestMiddleware:
    """``sentiment_requests_total{route,status}``, duration, request id, 401 without the API key
    on ``protected_paths``, and 413 over ``max_bytes``.

    Outermost, so it counts every response, including its own 413s.
    """

    def __init__(
        self,
        app: ASGIApp,
        metrics: ServiceMetrics,
        known_routes: Callable[[], set[str]],
        max_body_bytes: int,
        prescreen: Mapping[str, Callable[[bytes], ASGIApp | None]] | None = None,
        api_key: bytes | None = None,
        protected_paths: frozenset[str] = frozenset(),
        fast: Mapping[str, Callable[[ASGIApp], ASGIApp]] | None = None,
    ) -> None:
        self.app = app
        # POST path -> its fast path (app.fastpath), built around this middleware's app, which
        # it falls back to for anything but a valid JSON request.
        self._fast = {path: make(app) for path, make in (fast or {}).items()}
        self.api_key = api_key
        self.protected_paths = protected_paths
        self.prescreen = prescreen or {}  # path -> its own schema's check: one per route
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
        request_id = header(scope, b"x-request-id")
        if request_id is None or not _SAFE_ID.fullmatch(request_id):  # no arbitrary log text
            request_id = f"{self._id_prefix}-{next(self._ids)}"
        id_token = request_id_var.set(request_id)  # for every log line of this request
        # Stays CLIENT_CLOSED only if no response was sent and nothing raised: the client hung up
        # (an aborted or malformed upload, answered by the server itself if at all), not a 500.
        status = CLIENT_CLOSED
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
            if (
                self.api_key is not None
                and path in self.protected_paths
                and not bearer_matches(scope, self.api_key)
            ):
                # Here, not as a FastAPI dependency: FastAPI reads and parses the body before
                # solving dependencies, so a stranger could make it parse 1 MB per request.
                await self._unauthorized(send_wrapper)
            elif scope["method"] in BODY_METHODS:
                app = self._fast.get(path, self.app) if scope["method"] == "POST" else self.app
                await self._with_body_limit(app, scope, receive, send_wrapper)
            else:
                await self.app(scope, receive, send_wrapper)
        except Exception:
            if status == CLIENT_CLOSED:  # a genuine fault before any response
                status = 500
            raise
        finally:
            elapsed = time.perf_counter() - started
            self.metrics.observe_request(route, status, elapsed)
            if status == CLIENT_CLOSED:
                self.metrics.count_rejected("client_closed")
            level = logging.WARNING if status >= 500 else logging.DEBUG
            logger.log(
                level,
                "request done id=%s method=%s route=%s status=%d ms=%.1f",
                request_id, scope["method"], route, status, elapsed * 1000,
            )  # fmt: skip
            request_id_var.reset(id_token)

    async def _with_body_limit(
        self, app: ASGIApp, scope: Scope, receive: Receive, send: Send
    ) -> None:
        """413 by Content-Length up front, else (chunked upload) by counting what arrives.

        Large JSON bodies for the pre-screened routes are read here and checked by
        ``prescreen`` first (see ``app.errors.prescreen_response``); small ones, the hot path,
        go straight through.
        """
        length = header(scope, b"content-length")
        if length is not None:
            if length.isdigit() and int(length) > self.max_bytes:
                await self._reject(send, scope)
                return
            if not (
                length.isdigit() and int(length) > PRESCREEN_MIN_BYTES and self._screened(scope)
            ):
                # The server enforces Content-Length: the body cannot exceed what was declared.
                await app(scope, receive, send)
                return
        body = await self._read_body(scope, receive, send)
        if body is None:
            return
        if len(body) > PRESCREEN_MIN_BYTES and self._screened(scope):
            response = self.prescreen[scope["path"]](body)
            if response is not None:
                await response(scope, receive, send)
                return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await app(scope, replay, send)

    def _screened(self, scope: Scope) -> bool:
        if scope.get("path") not in self.prescreen:
            return False
        return is_json_media_type(header(scope, b"content-type"))

    async def _read_body(self, scope: Scope, receive: Receive, send: Send) -> bytes | None:
        """The whole body (at most ``max_bytes``); None if answered 413 or the client left."""
        chunks: list[bytes] = []
        total = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            total += len(chunk)
            if total > self.max_bytes:
                await self._reject(send, scope)
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    async def _reject(self, send: Send, scope: Scope) -> None:
        detail = f"request body exceeds {self.max_bytes} bytes"
        v2 = scope["path"].startswith("/v2/")  # the Open Inference Protocol's {"error": ...}
        await self._refuse(send, "body_too_large", detail, ((b"connection", b"close"),), v2)

    async def _unauthorized(self, send: Send) -> None:
        detail = "missing or invalid API key (Authorization: Bearer <key>)"
        await self._refuse(send, "unauthorized", detail, ((b"www-authenticate", b"Bearer"),))

    async def _refuse(
        self,
        send: Send,
        reason: str,
        detail: str,
        headers: tuple[tuple[bytes, bytes], ...],
        v2: bool = False,
    ) -> None:
        """Count and send a refusal from the one table (``app.rejections``)."""
        rejection = REJECTIONS[reason]
        self.metrics.count_rejected(reason)
        await send_error(send, rejection.status, detail, rejection.code, headers, v2)
