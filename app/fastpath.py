"""The predict routes' fast path: the body validated from bytes by pydantic-core, the route's own
handler called directly, its exceptions answered by the app's own exception handlers.

Under the request middleware, FastAPI's machinery for a ``POST /predict`` (exception middleware,
exit stacks, two routers, route matching, the body read, ``json.loads``, dependency solving,
python-mode validation) cost ~85 µs of the event loop's ~330 µs per request under load (profile
in docs/performance.md). Here a body that is a valid request takes: read, ``validate_json``
(pydantic-core, straight from the bytes: no ``str``, no dicts), the route's endpoint, send.

Everything else goes FastAPI's way, with the body replayed: another content type, a body that is
not valid JSON or not a valid request, a root path. So every 4xx for a bad body is FastAPI's own
answer, unchanged, and the OpenAPI schema is the routes' own (they stay declared as before).
tests/api/test_fast_path.py sends the same requests both ways and compares the raw answers.
"""

from __future__ import annotations

import inspect
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from fastapi import FastAPI
from pydantic import ValidationError
from starlette.exceptions import HTTPException
from starlette.middleware.errors import ServerErrorMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.middleware import RequestMiddleware
from app.schemas import PredictRequest

try:  # FastAPI's outer layers that do nothing here (see ServiceApp); private, hence guarded
    from fastapi._body_limit import AppBodyLimitMiddleware
    from fastapi.telemetry._asgi import ExceptionTelemetryMiddleware

    PASSIVE_LAYERS: tuple[type, ...] = (ExceptionTelemetryMiddleware, AppBodyLimitMiddleware)
except ImportError:  # another FastAPI: no shortcut, every request takes FastAPI's own way
    PASSIVE_LAYERS = ()

Endpoint = Callable[[PredictRequest, Request], Awaitable[Response]]
Handler = Callable[[Request, Exception], Any]
# What FastAPI parses as JSON and pydantic-core reads the same way; other spellings of a JSON media
# type (application/*+json, parameters) take FastAPI's path.
PLAIN_JSON = frozenset({b"application/json", b"application/json; charset=utf-8"})
_validate_json = PredictRequest.__pydantic_validator__.validate_json


def is_plain_json(scope: Scope) -> bool:
    for key, value in scope["headers"]:
        if key == b"content-type":
            return value.lower() in PLAIN_JSON
    return False


def exception_handlers(app_handlers: Mapping[Any, Handler]) -> dict[Any, Handler]:
    """The handlers Starlette's ``ExceptionMiddleware`` uses: all but 500/``Exception``, which
    belong to ``ServerErrorMiddleware`` (outside the request middleware, as before)."""
    return {key: h for key, h in app_handlers.items() if key not in (500, Exception)}


class FastPredict:
    """ASGI app for one predict route; ``fallback`` is the app the request middleware wraps."""

    def __init__(
        self, fallback: ASGIApp, endpoint: Endpoint, handlers: Mapping[Any, Handler]
    ) -> None:
        self.fallback = fallback
        self.endpoint = endpoint
        self.handlers = handlers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("root_path") or not is_plain_json(scope):
            await self.fallback(scope, receive, send)
            return
        messages: list[Message] = []
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":  # the client left: FastAPI's answer (499)
                await self.fallback(scope, _replay(messages, receive), send)
                return
            if not message.get("more_body", False):
                break
        body = messages[0].get("body", b"") if len(messages) == 1 else _join(messages)
        try:
            parsed = _validate_json(body)
        except ValidationError:  # not a valid request: FastAPI parses it and says why
            await self.fallback(scope, _replay(messages, receive), send)
            return
        request = Request(scope, receive, send)
        try:
            response = await self.endpoint(parsed, request)
        except Exception as exc:  # what Starlette's ExceptionMiddleware would do with it
            handler = self._handler_for(exc)
            if handler is None:
                raise  # a genuine fault: ServerErrorMiddleware's 500, as before
            response = handler(request, exc)
            if inspect.isawaitable(response):
                response = await response
        await response(scope, receive, send)

    def _handler_for(self, exc: Exception) -> Handler | None:
        if isinstance(exc, HTTPException) and exc.status_code in self.handlers:
            return self.handlers[exc.status_code]
        for cls in type(exc).__mro__:
            if cls in self.handlers:
                return self.handlers[cls]
        return None


def _join(messages: list[Message]) -> bytes:
    return b"".join(m.get("body", b"") for m in messages)


def _replay(messages: list[Message], receive: Receive) -> Receive:
    """``receive`` that gives the messages already read again, then the client's next ones."""
    pending = deque(messages)

    async def replay() -> Message:
        return pending.popleft() if pending else await receive()

    return replay


class ServiceApp(FastAPI):
    """FastAPI, plus one shortcut: a POST to a fast-path route enters at the request middleware,
    behind a ``ServerErrorMiddleware`` of its own (FastAPI's class, with the app's 500 handler).

    It skips only layers that do nothing in this service (~10 µs per request under load): the
    per-request OpenTelemetry check in ``FastAPI.__call__`` and the exception telemetry (no
    provider configured: checked once, at the first such request) and FastAPI's own body limit
    (unset: the request middleware enforces MAX_BODY_BYTES). If the stack between the error
    middleware and the request middleware holds anything else, there is no shortcut.
    """

    fast_paths: frozenset[str] = frozenset()
    _entry: ASGIApp | None = None
    _entry_checked = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] in self.fast_paths:
            entry = self._entry if self._entry_checked else self._build_entry()
            if entry is not None and scope["method"] == "POST":
                scope["app"] = self
                await entry(scope, receive, send)
                return
        await super().__call__(scope, receive, send)

    def _build_entry(self) -> ASGIApp | None:
        self._entry_checked = True
        telemetry = getattr(self, "_native_telemetry", None)
        if self.root_path or self.max_body_size is not None or not PASSIVE_LAYERS:
            return None
        if telemetry is None or telemetry.enabled():
            return None
        if self.middleware_stack is None:
            self.middleware_stack = self.build_middleware_stack()
        layer: Any = self.middleware_stack
        for kind in (ServerErrorMiddleware, *PASSIVE_LAYERS):
            if type(layer) is not kind:
                return None
            layer = getattr(layer, "app", None)
        if not isinstance(layer, RequestMiddleware):
            return None
        handler = None
        for key, value in self.exception_handlers.items():  # as FastAPI picks its error handler
            if key in (500, Exception):
                handler = value
        self._entry = ServerErrorMiddleware(layer, handler=handler, debug=self.debug)
        return self._entry
