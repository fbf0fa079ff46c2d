"""A real uvicorn server under a bad day (issue 9): SIGTERM with SHUTDOWN_DELAY_S, broken and
abandoned uploads over a real socket. Bounded by timeouts; assertions on outcomes."""

from __future__ import annotations

import asyncio
import signal
import socket
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.process.servers import metric, run_server

pytestmark = [
    pytest.mark.process,
    pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals"),
]


def test_shutdown_delay_keeps_serving_new_connections_while_not_ready(tmp_path: Path) -> None:
    delay = 6.0  # long enough that a loaded 2-core CI box still fits a few requests in it
    with run_server(tmp_path, SHUTDOWN_DELAY_S=str(delay)) as server:
        url = server.url

        async def scenario() -> tuple[list[int], list[httpx.Response | str]]:
            ready: list[int] = []
            answers: list[httpx.Response | str] = []
            server.proc.send_signal(signal.SIGTERM)
            signalled = time.monotonic()
            while time.monotonic() - signalled < delay - 2.0:
                # A fresh connection each time: what a load balancer that has not yet noticed
                # does. Before SHUTDOWN_DELAY_S these were refused the moment SIGTERM landed.
                async with httpx.AsyncClient(timeout=10) as client:
                    try:
                        ready.append((await client.get(f"{url}/readyz")).status_code)
                        answers.append(await client.post(f"{url}/predict", json={"text": "great"}))
                    except httpx.TransportError as exc:
                        answers.append(type(exc).__name__)
                await asyncio.sleep(0.1)
            return ready, answers

        ready, answers = asyncio.run(asyncio.wait_for(scenario(), 60))
        assert server.proc.wait(60) == 0, server.log()[-3000:]
        log = server.log()
    assert ready and set(ready) == {503}, ready
    assert len(answers) >= 2  # (typically ~20; a few under heavy load)
    outcomes = [a.status_code if isinstance(a, httpx.Response) else a for a in answers]
    assert outcomes == [200] * len(answers), outcomes
    assert "still accepting for SHUTDOWN_DELAY_S=6s" in log
    assert "shutdown complete" in log
    assert "Traceback" not in log


def _raw(port: int, data: bytes, *, close: bool) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(data)
        if close:
            return b""
        sock.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
        return b"".join(chunks)


def test_malformed_and_abandoned_uploads_are_never_counted_as_500(tmp_path: Path) -> None:
    head = (
        b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
    )
    with run_server(tmp_path) as server:
        # A broken chunk size: uvicorn itself answers 400.
        answer = _raw(server.port, head + b'9\r\n{"text": \r\nzz\r\n', close=False)
        assert answer.startswith(b"HTTP/1.1 400"), answer[:200]
        # Half a chunked body, then the client vanishes; the same with Content-Length.
        _raw(server.port, head + b'9\r\n{"text": \r\n', close=True)
        sized = head.replace(b"Transfer-Encoding: chunked", b"Content-Length: 100")
        _raw(server.port, sized + b'{"text": "half', close=True)
        deadline = time.monotonic() + 10
        while True:
            text = httpx.get(f"{server.url}/metrics", timeout=10).text
            closed = metric(text, "sentiment_requests_total", route="/predict", status="499")
            if closed >= 3 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert metric(text, "sentiment_requests_total", route="/predict", status="500") == 0
        assert closed == 3
        assert metric(text, "sentiment_rejected_total", reason="client_closed") == 3
        log = server.log()
    assert "WARNING app.access" not in log, log[-3000:]


def _held_for(port: int, data: bytes, limit_s: float = 15.0) -> tuple[float, bytes]:
    """Send ``data`` and stall: (seconds until the server closed the connection, its answer)."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=limit_s) as sock:
        if data:
            sock.sendall(data)
        chunks = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except TimeoutError:
            pass  # still open after limit_s: the returned time says so
        except ConnectionResetError:
            pass
    return time.monotonic() - started, b"".join(chunks)


def test_slow_clients_are_cut_off_and_connections_are_capped(tmp_path: Path) -> None:
    env = {"HEADER_TIMEOUT_S": "1", "BODY_TIMEOUT_S": "1"}
    with run_server(tmp_path, "--limit-concurrency", "6", **env) as server:
        port = server.port
        # Nothing sent at all, half a request head (slowloris), and half a body.
        idle, answer = _held_for(port, b"")
        assert idle < 5 and answer.startswith(b"HTTP/1.1 408"), (idle, answer[:80])
        partial, answer = _held_for(port, b"POST /predict HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        assert partial < 5 and answer.startswith(b"HTTP/1.1 408"), (partial, answer[:80])
        head = b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        slow_body, _ = _held_for(port, head + b'Content-Length: 100\r\n\r\n{"text": "sl')
        assert slow_body < 5, slow_body
        # A request head over MAX_HEADER_BYTES (64 KiB by default).
        _, answer = _held_for(port, head + b"X-Big: " + b"a" * 70_000 + b"\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 431"), answer[:80]
        # A normal client on a kept-alive connection is unaffected by the deadlines and the head
        # cap, large bodies included (their first read carries the head and body together).
        with httpx.Client(base_url=server.url, timeout=10) as client:
            for _ in range(3):
                assert client.post("/predict", json={"text": "great"}).status_code == 200
                big = client.post("/predict", json={"texts": ["a fine film " * 1500] * 50})
                assert big.status_code == 200, big.text[:200]
                time.sleep(0.5)
        # Connections beyond --limit-concurrency get 503 instead of queueing without bound.
        held = [socket.create_connection(("127.0.0.1", port)) for _ in range(6)]
        try:
            assert httpx.get(f"{server.url}/healthz", timeout=10).status_code == 503
        finally:
            for sock in held:
                sock.close()
        time.sleep(0.5)
        text = httpx.get(f"{server.url}/metrics", timeout=10).text
        assert metric(text, "sentiment_requests_total", route="/predict", status="500") == 0
        assert metric(text, "sentiment_requests_total", route="/predict", status="499") == 1
        log = server.log()
    assert "Traceback" not in log, log[-3000:]
