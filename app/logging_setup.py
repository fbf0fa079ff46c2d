"""Service logging: plain text (default) or one JSON object per line, and the one start-up line a
person needs (URL, model version, device, docs page).

- ``LOG_FORMAT=text`` (default): ``<time> <LEVEL> <logger> <message>``.
- ``LOG_FORMAT=json``: ``{"timestamp", "level", "logger", "message", "request_id"}`` per line, for
  log aggregators; uvicorn's own lines and Python-side TensorFlow warnings are formatted the same.
- TensorFlow's C++ start-up chatter is filtered by ``model_contract.tf_process.quiet_tensorflow``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
from collections.abc import Coroutine
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Literal

logger = logging.getLogger("app")

LogFormat = Literal["text", "json"]
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")

# The id of the request being handled (set by the request middleware), for every log record.
request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)


class RequestIdFilter(logging.Filter):
    """Stamps ``record.request_id`` (None outside a request); never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id_var.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line (newlines inside strings are escaped)."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return json.dumps(payload, ensure_ascii=False, default=str)


def _formatter(fmt: LogFormat) -> logging.Formatter:
    return JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT)


def _handler(fmt: LogFormat) -> logging.Handler:
    handler = logging.StreamHandler()
    handler.setFormatter(_formatter(fmt))
    handler.addFilter(RequestIdFilter())
    return handler


def configure_logging(level: str, fmt: LogFormat = "text") -> None:
    """The ``app`` logger tree at ``level`` in ``fmt``; review text is never logged.

    With ``json``, uvicorn's handlers (installed before the app is imported) and the root logger
    (where TensorFlow's Python warnings end up) use the JSON formatter too, so every line parses.
    """
    for old in list(logger.handlers):
        if getattr(old, "_app_handler", False):
            logger.removeHandler(old)
    handler = _handler(fmt)
    handler._app_handler = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(level.upper())
    if fmt != "json":
        return
    for name in UVICORN_LOGGERS:
        for h in logging.getLogger(name).handlers:
            h.setFormatter(JsonFormatter())
            if not any(isinstance(f, RequestIdFilter) for f in h.filters):
                h.addFilter(RequestIdFilter())
    root = logging.getLogger()
    if not any(getattr(h, "_app_handler", False) for h in root.handlers):
        root_handler = _handler("json")
        root_handler._app_handler = True  # type: ignore[attr-defined]
        root.addHandler(root_handler)


def _uvicorn_server() -> Any | None:
    """The running ``uvicorn.Server``, if any: it installs its bound ``handle_exit`` for SIGINT."""
    try:
        handler = signal.getsignal(signal.SIGINT)
    except ValueError:  # not the main thread
        return None
    server = getattr(handler, "__self__", None)
    return server if hasattr(server, "config") and hasattr(server, "started") else None


def _listening_url(server: Any) -> str | None:
    """``http://host:port`` of the first bound socket (the configured one as a fallback)."""
    config = server.config
    if getattr(config, "uds", None):
        return f"unix:{config.uds}"
    scheme = "https" if getattr(config, "is_ssl", False) else "http"
    host, port = config.host, config.port
    for srv in getattr(server, "servers", []):
        for sock in getattr(srv, "sockets", []) or []:
            name = sock.getsockname()
            if isinstance(name, tuple) and len(name) >= 2:
                port = name[1]
                break
    host = f"[{host}]" if ":" in str(host) else host
    return f"{scheme}://{host}:{port}"


def announce_ready(version: str, device: str, docs_path: str | None) -> Coroutine[Any, Any, None]:
    """A coroutine that logs the start-up line once uvicorn listens (the last start-up line).

    Call it before other SIGINT handlers are chained in: the server is found through its handler.
    Outside uvicorn (TestClient) there is no URL, and the line names the model and device only.
    """
    server = _uvicorn_server()

    async def announce() -> None:
        url = None
        if server is not None:
            for _ in range(600):  # uvicorn binds right after the lifespan start-up; 30 s at most
                if server.started or server.should_exit:
                    break
                await asyncio.sleep(0.05)
            if not server.started:
                return
            url = _listening_url(server)
        where = f" at {url}" if url else ""
        docs = f" - API docs: {url}{docs_path}" if url and docs_path else ""
        logger.info("serving model version %s on %s%s%s", version, device, where, docs)

    return announce()
