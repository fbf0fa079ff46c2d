"""Shared test setup: quiet TensorFlow before anything imports it."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
import warnings
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# Starlette's TestClient warns (once, at import) that plain httpx is deprecated in favour of
# httpx2; the pinned dev stack uses httpx, so this is not ours to fix, and with
# filterwarnings=error it would abort collection. Import it once here with that one warning muted.
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    import fastapi.testclient  # noqa: F401


# --- no server process outlives the suite (issue 9 item 11) -------------------------------------
_ROOT = Path(__file__).resolve().parents[1]
_servers_at_start: set[int] = set()


def _our_servers() -> set[int]:
    """Live service processes (``python -m app.serve`` or ``uvicorn app.main:app``) running from
    this checkout (Linux /proc)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            cwd = os.readlink(entry / "cwd")
            state = (entry / "stat").read_text().split(") ", 1)[1][:1]
        except OSError:
            continue
        server = b"app.serve" in cmdline or (b"uvicorn" in cmdline and b"app.main:app" in cmdline)
        ours = server and cwd == str(_ROOT)
        if ours and state != "Z":  # a zombie has exited; only its parent's reaping is left
            found.add(int(entry.name))
    return found


def pytest_sessionstart(session: pytest.Session) -> None:
    if sys.platform == "linux":
        _servers_at_start.update(_our_servers())


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if sys.platform != "linux":
        return
    deadline = time.monotonic() + 10  # a group killed by the last test may take a moment to go
    leaked = _our_servers() - _servers_at_start
    while leaked and time.monotonic() < deadline:
        time.sleep(0.2)
        leaked = _our_servers() - _servers_at_start
    if leaked:
        for pid in leaked:  # started by this session from this checkout: ours to stop
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.ensure_newline()
            reporter.write_line(
                f"server processes outlived the test suite: {sorted(leaked)}", red=True
            )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
