"""Start-up output of a real ``uvicorn app.main:app`` process, as a person or a log shipper sees it.

- By default (``TF_CPP_MIN_LOG_LEVEL`` unset) the first lines hold no TensorFlow C++ chatter, and one
  line names the URL, model version, device and docs page.
- ``LOG_FORMAT=json``: every line of a whole run (start-up, requests, shutdown) is one JSON object.

Each server runs in its own process group, which is stopped (SIGTERM, then SIGKILL) on exit.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 180.0
# TensorFlow/absl C++ log lines ("I0000 00:00:1796015692.802463   11778 port.cc:153] ..."), absl's
# pre-init notice and oneDNN's notice.
TF_CHATTER = re.compile(r"^[IWEF]\d{4} |absl::InitializeLog|oneDNN|cpu_feature_guard")
# Small batches: three XLA shapes to compile instead of eight (start-up is what is tested here).
FAST = {"MAX_BATCH_SIZE": "4"}

pytestmark = [
    pytest.mark.process,
    pytest.mark.skipif(sys.platform == "win32", reason="POSIX process groups"),
]


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    url: str
    log_path: Path

    def lines(self) -> list[str]:
        return self.log_path.read_text(errors="replace").splitlines()

    def wait_for_line(self, needle: str, timeout_s: float = 30.0) -> str:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            found = [line for line in self.lines() if needle in line]
            if found:
                return found[0]
            time.sleep(0.1)
        raise AssertionError(f"no line with {needle!r}:\n" + "\n".join(self.lines()[-30:]))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _stop_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the server's whole process group (graceful drain), SIGKILL it if that hangs."""
    with suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    with suppress(subprocess.TimeoutExpired):
        proc.wait(30)
    with suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(30)


@contextmanager
def served(tmp_path: Path, **env: str) -> Iterator[Server]:
    """``python -m app.serve`` as ``make serve`` runs it, without the test runner's TF quieting."""
    port = _free_port()
    log_path = tmp_path / "server.log"
    base = {k: v for k, v in os.environ.items() if k not in {"TF_CPP_MIN_LOG_LEVEL", "LOG_FORMAT"}}
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "app.serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT, env={**base, "LOG_LEVEL": "info", **env}, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    server = Server(proc, f"http://127.0.0.1:{port}", log_path)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            tail = "\n".join(server.lines()[-40:])
            assert proc.poll() is None, f"server exited early:\n{tail}"
            assert time.monotonic() < deadline, f"not ready in time:\n{tail}"
            with suppress(httpx.TransportError):
                if httpx.get(f"{server.url}/readyz", timeout=2).status_code == 200:
                    break
            time.sleep(0.2)
        yield server
    finally:
        _stop_group(proc)


def test_default_start_up_is_quiet_and_says_where_to_go(tmp_path: Path) -> None:
    with served(tmp_path, **FAST) as server:
        ready = server.wait_for_line("serving model version")
        model = httpx.get(f"{server.url}/model", timeout=10).json()
        lines = server.lines()
    chatter = [line for line in lines[:20] if TF_CHATTER.search(line)]
    assert not chatter, "TensorFlow start-up chatter:\n" + "\n".join(lines[:20])
    assert f"model version {model['version']} on {model['device']}" in ready
    assert f"at {server.url} " in ready and f"API docs: {server.url}/docs" in ready
    # ...and it is the last start-up line, after uvicorn's own "running on".
    running = next(i for i, line in enumerate(lines) if "Uvicorn running on" in line)
    assert lines.index(ready) > running
    assert sum("serving model version" in line for line in lines) == 1


def test_json_log_format_is_one_object_per_line(tmp_path: Path) -> None:
    env = {**FAST, "LOG_FORMAT": "json", "LOG_LEVEL": "debug", "XLA": "false"}
    with served(tmp_path, **env) as server:
        server.wait_for_line("serving model version")
        response = httpx.post(
            f"{server.url}/predict",
            json={"text": "A wonderful film."},
            headers={"X-Request-ID": "json-log-1"},
            timeout=30,
        )
        assert response.status_code == 200
    lines = [line for line in server.lines() if line.strip()]  # the whole run, shutdown included
    records = []
    for number, line in enumerate(lines, 1):
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            pytest.fail(f"line {number} is not JSON: {line!r}")
        assert isinstance(record, dict)
        assert set(record) >= {"timestamp", "level", "logger", "message", "request_id"}, record
        assert datetime.fromisoformat(record["timestamp"]).tzinfo is not None
        assert record["level"] in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}
        records.append(record)
    loggers = {r["logger"] for r in records}
    assert {"uvicorn.error", "app", "app.access"} <= loggers, loggers
    of_request = [r for r in records if r["request_id"] == "json-log-1"]
    assert of_request
    assert [r for r in of_request if r["logger"] != "app.access"] == []  # no id outside the request
    assert any("serving model version" in r["message"] for r in records)
    assert any(r["message"] == "shutdown complete" for r in records)
