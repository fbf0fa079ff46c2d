"""app/logging_setup.py without a server: the TensorFlow stderr filter and the JSON formatter."""

from __future__ import annotations

import asyncio
import contextvars
import io
import json
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from app.logging_setup import (
    JsonFormatter,
    RequestIdFilter,
    _keep_tf_line,
    configure_logging,
    quiet_tensorflow,
    request_id_var,
)
from app.main import install_drain_handlers

ROOT = Path(__file__).resolve().parents[2]
ONEDNN = (
    b"I0000 00:00:1796015692.802463   11778 port.cc:153] oneDNN custom operations are on. You may "
    b"see slightly different numerical results.\n"
)
PREINIT = (
    b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
)
WARN = b"W0000 00:00:1796015692.9   11778 cuda_executor.cc:1] could not open file\n"
ERROR = b"E0000 00:00:1796015693.1   11778 cuda_dnn.cc:8579] Unable to register cuDNN factory\n"
FATAL = b"F0000 00:00:1796015693.2   11778 cpu_feature_guard.cc:9] The TensorFlow library was...\n"
PYTHON_WARNING = b"/x/keras/src/export.py:12: UserWarning: something\n"


@pytest.mark.parametrize(
    ("line", "kept_from_level"),
    [
        (ONEDNN, 0),
        (PREINIT, 0),
        (WARN, 1),
        (ERROR, 2),
        (FATAL, 3),
        (PYTHON_WARNING, 3),
        (b"x\n", 3),
    ],
)
def test_tf_lines_below_the_level_are_dropped(line: bytes, kept_from_level: int) -> None:
    # kept at every level <= kept_from_level, dropped above it; non-TF lines always kept
    for level in range(4):
        assert _keep_tf_line(line, level) == (level <= kept_from_level), (line, level)


def _through_fd2(*chunks: bytes) -> None:
    with quiet_tensorflow():
        for chunk in chunks:  # as TensorFlow's C++ code writes: to file descriptor 2 directly
            os.write(2, chunk)


def test_quiet_tensorflow_filters_fd2_by_default(
    capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)
    _through_fd2(PREINIT, ONEDNN, WARN, ERROR, PYTHON_WARNING)
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "2"  # the default, set for TensorFlow itself
    err = capfd.readouterr().err.encode()
    assert err == ERROR + PYTHON_WARNING


def test_tf_cpp_min_log_level_0_brings_everything_back(
    capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "0")
    _through_fd2(PREINIT, ONEDNN, WARN)
    assert capfd.readouterr().err.encode() == PREINIT + ONEDNN + WARN


def test_quiet_tensorflow_replays_what_it_keeps_when_the_import_fails(
    capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "2")

    def failing_import() -> None:
        with quiet_tensorflow():
            os.write(2, ONEDNN + ERROR)
            raise ImportError("no tensorflow")

    with pytest.raises(ImportError):
        failing_import()
    assert capfd.readouterr().err.encode() == ERROR


def test_a_fatal_line_before_an_abort_still_gets_through(tmp_path: Path) -> None:
    # As TensorFlow does on a CPU without the instructions it was built for: LOG(FATAL), abort().
    code = (
        "import os\n"
        "from app.logging_setup import quiet_tensorflow\n"
        "with quiet_tensorflow():\n"
        f"    os.write(2, {ONEDNN + FATAL!r})\n"
        "    os.abort()\n"
    )
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, timeout=60
    )
    assert result.returncode != 0
    assert result.stderr == FATAL


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
