"""Steady clients and bursts for ``bench.chaos``: every answer recorded with its time."""

from __future__ import annotations

import contextlib
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx

TEXTS = [
    "A wonderful, moving film with brilliant performances. I loved every minute of it.",
    "A dull, boring mess. Terrible acting, awful script, a complete waste of time.",
    "Not bad at all, though the ending dragged.",
    "Funny, warm and surprisingly clever. Bring the whole family.",
]
Record = tuple[float, str]  # (time.monotonic() of the answer, status or error kind)


def _status(client: httpx.Client, body: dict[str, object]) -> tuple[str, bool]:
    """The status (or ``conn_error`` / ``timeout``) and whether a 503 had ``Retry-After``."""
    try:
        r = client.post("/predict", json=body)
    except httpx.TimeoutException:
        return "timeout", True
    except httpx.HTTPError:
        return "conn_error", True
    return str(r.status_code), r.status_code != 503 or "retry-after" in r.headers


@dataclass
class Burst:
    statuses: Counter[str] = field(default_factory=Counter)
    no_retry_after: int = 0


class Load:
    """``clients`` threads posting one review each, without pause, until the context ends."""

    def __init__(self, api: str, clients: int) -> None:
        self.api, self.clients = api, clients
        self.records: list[Record] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._client, args=(i,)) for i in range(clients)]

    def _client(self, i: int) -> None:
        with httpx.Client(base_url=self.api, timeout=30) as client:
            while not self._stop.is_set():
                status, _ = _status(client, {"text": TEXTS[i % len(TEXTS)]})
                self.records.append((time.monotonic(), status))  # list.append: thread-safe
                if status in ("conn_error", "timeout"):
                    time.sleep(0.2)  # the service is down: do not spin

    def mark(self) -> float:
        return time.monotonic()

    def since(self, mark: float) -> list[Record]:
        return [r for r in list(self.records) if r[0] >= mark]

    @contextlib.contextmanager
    def burst(self, clients: int, texts: int) -> Iterator[Burst]:
        """``clients`` more threads sending ``texts``-text batches while the context lasts."""
        result, stop = Burst(), threading.Event()
        body: dict[str, object] = {"texts": [TEXTS[k % len(TEXTS)] for k in range(texts)]}

        def send() -> None:
            with httpx.Client(base_url=self.api, timeout=30) as client:
                while not stop.is_set():
                    status, retry_after = _status(client, body)
                    result.statuses[status] += 1
                    result.no_retry_after += not retry_after

        threads = [threading.Thread(target=send) for _ in range(clients)]
        for t in threads:
            t.start()
        try:
            yield result
        finally:
            stop.set()
            for t in threads:
                t.join()

    def __enter__(self) -> Load:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for t in self._threads:
            t.join()


def summary(records: list[Record]) -> dict[str, int]:
    return dict(Counter(status for _, status in records))
