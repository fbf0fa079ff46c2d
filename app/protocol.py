"""uvicorn's httptools protocol with read deadlines: ``--http app.protocol:BoundedHttpToolsProtocol``.

uvicorn bounds only the idle time *between* requests (``--timeout-keep-alive``). A client that
opens a connection and trickles a request head (slowloris) or a body held one connection for as
long as it liked (47 s in the red-team run, until the client gave up). Here:

* the request head must arrive within HEADER_TIMEOUT_S of the connection opening (or of the
  first byte of the next request) and be at most MAX_HEADER_BYTES, else 408 / 431 and close;
* the body must arrive within BODY_TIMEOUT_S of the head, else the connection is closed (the
  app sees a disconnect and counts a 499 ``client_closed``).

The number of connections is capped by uvicorn's ``--limit-concurrency`` (503 beyond it).
"""

from __future__ import annotations

import asyncio
from functools import cache
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from app.config import Settings


@cache
def _settings() -> Settings:
    # The app has already validated the same environment (it refuses to start otherwise).
    return Settings()


class HeadTooLarge(Exception):
    """The request head passed MAX_HEADER_BYTES (answered 431)."""


def _close_with(transport: asyncio.Transport, status: bytes) -> None:
    if not transport.is_closing():
        transport.write(
            b"HTTP/1.1 " + status + b"\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
        )
        transport.close()


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        s = _settings()
        self._header_timeout_s = s.header_timeout_s
        self._body_timeout_s = s.body_timeout_s
        self._max_header_bytes = s.max_header_bytes
        self._deadline: asyncio.TimerHandle | None = None
        self._in_head = True  # reading a request head (or waiting for the first one)
        self._head_bytes = 0  # parsed head bytes (URL + headers) of the current request
        self._read_bytes = 0  # bytes read while its head is incomplete (a trickled head)
        self._head_too_large = False

    def _arm(self, seconds: float, status: bytes | None) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, self._expire, status)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expire(self, status: bytes | None) -> None:
        self._deadline = None
        if status is None:  # mid-body: the app is reading, a plain close is its disconnect
            self.transport.close()
        else:
            _close_with(self.transport, status)

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm(self._header_timeout_s, b"408 Request Timeout")

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        # Counted after parsing: a read that completes the head also carries body bytes, which
        # must not count against the head (a 1 MB upload got 431 when counted before).
        if self._in_head and not self.transport.is_closing():
            self._read_bytes += len(data)
            if self._read_bytes > self._max_header_bytes:
                _close_with(self.transport, b"431 Request Header Fields Too Large")

    def _count_head(self, n: int) -> None:
        self._head_bytes += n
        if self._head_bytes > self._max_header_bytes:
            # Raising from a parser callback makes uvicorn answer via send_400_response (below).
            self._head_too_large = True
            raise HeadTooLarge

    def on_url(self, url: bytes) -> None:
        self._count_head(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        # Per header as well as per read: a whole oversized head can arrive in one read.
        self._count_head(len(name) + len(value) + 4)
        super().on_header(name, value)

    def send_400_response(self, msg: str) -> None:
        if self._head_too_large:
            _close_with(self.transport, b"431 Request Header Fields Too Large")
        else:
            super().send_400_response(msg)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if not self._in_head or self._deadline is None:
            self._in_head, self._head_bytes, self._read_bytes = True, 0, 0
            self._arm(self._header_timeout_s, b"408 Request Timeout")

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._arm(self._body_timeout_s, None)
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)
