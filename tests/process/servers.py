"""Real ``uvicorn app.main:app`` subprocesses for tests, each in its own process group.

Stopping a server kills its whole group: with ``--workers N`` the supervisor's workers are in it
too (SIGKILL to the supervisor alone orphaned both workers, ~770 MB each, for good). Every group
started is recorded in ``STARTED_GROUPS``; ``tests/conftest.py`` fails the session if any of them
still has a live member at the end.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 180.0
STARTED_GROUPS: list[int] = []


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    url: str
    port: int
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - a member we may not signal is still a member
        return True
    return True


def kill_group(proc: subprocess.Popen[bytes], timeout_s: float = 30.0) -> None:
    """SIGKILL the server's whole process group and wait until no member is left."""
    with suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    with suppress(subprocess.TimeoutExpired):
        proc.wait(timeout_s)
    deadline = time.monotonic() + timeout_s
    while group_alive(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.05)


@contextmanager
def uvicorn_server(
    args: Sequence[str],
    port: int,
    log_path: Path,
    env: Mapping[str, str],
    module: str = "uvicorn",
) -> Iterator[Server]:
    """``python -m <module> <args>`` in its own process group, ready (``/readyz`` 200) when
    yielded; the whole group is killed on exit and recorded for the session-end check."""
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", module, *args],
            cwd=ROOT, env=dict(env), stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: workers included
        )  # fmt: skip
    STARTED_GROUPS.append(proc.pid)
    server = Server(proc, f"http://127.0.0.1:{port}", port, log_path)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            assert proc.poll() is None, f"server exited early:\n{server.log()[-3000:]}"
            assert time.monotonic() < deadline, f"not ready in time:\n{server.log()[-3000:]}"
            try:
                if httpx.get(f"{server.url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        yield server
    finally:
        kill_group(proc)


@contextmanager
def run_server(tmp_path: Path, *args: str, **env: str) -> Iterator[Server]:
    """The service as deployed, on a free port; ``env`` on top of this process's."""
    port = free_port()
    # `python -m app.serve`: the entry point and flags `make serve` and the Dockerfile run; ``args``
    # come last and win.
    serve_args = ["--host", "127.0.0.1", "--port", str(port), *args]
    full_env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **env}
    with uvicorn_server(serve_args, port, tmp_path / "server.log", full_env, "app.serve") as server:
        yield server


def metric(text: str, name: str, **labels: str) -> float:
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return s.value
    return 0.0


async def post(client: httpx.AsyncClient, url: str, text: str, rid: str) -> httpx.Response | str:
    try:
        return await client.post(url, json={"text": text}, headers={"X-Request-ID": rid})
    except httpx.TransportError as exc:  # refused / reset at the connection level
        return type(exc).__name__


def children(pid: int) -> list[int]:
    """Direct children of ``pid`` (Linux /proc)."""
    found: list[int] = []
    with suppress(FileNotFoundError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            found += [int(c) for c in (task / "children").read_text().split()]
    return found


def wait_for(predicate: object, timeout_s: float = 30.0) -> None:
    assert callable(predicate)
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)
