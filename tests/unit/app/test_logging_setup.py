"""app/logging_setup.py without a server: the JSON formatter, the request id, the drain handlers.

The TensorFlow stderr filter: tests/unit/model_contract/test_tf_process.py."""

from __future__ import annotations

import asyncio
import contextvars
import io
import json
import logging
import signal
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from app.logging_setup import JsonFormatter, RequestIdFilter, configure_logging, request_id_var
from app.main import install_drain_handlers

ROOT = Path(__file__).resolve().parents[3]


def _record(msg: str, *args: object, exc: bool = False) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise ValueError("boom")
        except ValueError:
            exc_info = sys.exc_info()
    return logging.LogRecord("app.test", logging.WARNING, __file__, 1, msg, args, exc_info)


def test_json_formatter_one_line_with_request_id_and_exception() -> None:
    record = _record('two\nlines "quoted" %s', "ünïcode", exc=True)
    token = request_id_var.set("rid-7")
    try:
        RequestIdFilter().filter(record)
    finally:
        request_id_var.reset(token)
    line = JsonFormatter().format(record)
    assert "\n" not in line
    payload = json.loads(line)
    assert payload["message"] == 'two\nlines "quoted" ünïcode'
    assert payload["level"] == "WARNING" and payload["logger"] == "app.test"
    assert payload["request_id"] == "rid-7"
    assert payload["timestamp"].endswith("+00:00")
    assert "ValueError: boom" in payload["exception"]


def test_outside_a_request_the_id_is_null() -> None:
    record = _record("hello")
    RequestIdFilter().filter(record)
    assert json.loads(JsonFormatter().format(record))["request_id"] is None


def test_configure_logging_replaces_its_own_handler(monkeypatch: pytest.MonkeyPatch) -> None:
    app_logger = logging.getLogger("app")
    monkeypatch.setattr(app_logger, "handlers", [])
    monkeypatch.setattr(app_logger, "level", app_logger.level)
    monkeypatch.setattr(app_logger, "propagate", app_logger.propagate)
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", list(root.handlers))
    configure_logging("info", "json")
    configure_logging("debug", "text")
    assert len(app_logger.handlers) == 1
    assert app_logger.level == logging.DEBUG and not app_logger.propagate
    stream = io.StringIO()
    handler = app_logger.handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(stream)
    app_logger.info("text line")
    assert stream.getvalue().rstrip().endswith("INFO app text line")


def test_the_drain_signal_does_not_inherit_a_request_id() -> None:
    # A signal interrupts whatever runs in the main thread - possibly a callback scheduled in a
    # request's context. The drain it triggers is no part of that request.
    seen: list[str | None] = []

    class FakeRuntime:
        draining = False
        settings = SimpleNamespace(shutdown_delay_s=0.0)

        def begin_drain(self) -> None:
            seen.append(request_id_var.get())

    async def scenario() -> None:
        original = signal.signal(signal.SIGTERM, lambda signum, frame: None)
        try:
            restore = install_drain_handlers(FakeRuntime())  # type: ignore[arg-type]
            handler = signal.getsignal(signal.SIGTERM)
            assert callable(handler)
            request = contextvars.copy_context()
            request.run(request_id_var.set, "rid-9")
            request.run(handler, signal.SIGTERM, None)
            await asyncio.sleep(0.01)
            restore()
        finally:
            signal.signal(signal.SIGTERM, original)

    asyncio.run(scenario())
    assert seen == [None]
