"""Uploads the client abandons (issue 9 item 3) are counted as 499 ``client_closed``, never 500.

Driven at the ASGI level against the real app (the session ``client`` ran its lifespan), since an
HTTP client cannot be made to send half a body and then vanish on cue; ``test_server_process``
covers the same over a real socket with uvicorn.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import metric_samples, sample


def _scope(headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    return {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": "/predict", "raw_path": b"/predict", "query_string": b"",
        "root_path": "", "headers": headers, "client": ("127.0.0.1", 1), "server": ("t", 80),
    }  # fmt: skip


def _abort_upload(client: TestClient, headers: list[tuple[bytes, bytes]]) -> list[Any]:
    """Half a body, then the client is gone; returns what the app tried to send."""
    messages: list[dict[str, Any]] = [
        {"type": "http.request", "body": b'{"text": "half a rev', "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent: list[Any] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(client.app(_scope(headers), receive, send))  # type: ignore[arg-type]
    return sent


JSON = (b"content-type", b"application/json")


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param([JSON], id="chunked"),
        pytest.param([JSON, (b"content-length", b"100")], id="content-length small"),
        pytest.param([JSON, (b"content-length", b"500000")], id="content-length large"),
    ],
)
def test_aborted_upload_is_client_closed_not_500(
    client: TestClient, headers: list[tuple[bytes, bytes]]
) -> None:
    before = metric_samples(client)
    sent = _abort_upload(client, headers)
    after = metric_samples(client)

    def delta(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    assert delta("sentiment_requests_total", route="/predict", status="500") == 0
    assert delta("sentiment_requests_total", route="/predict", status="499") == 1
    assert delta("sentiment_rejected_total", reason="client_closed") == 1
    assert delta("sentiment_rejected_total", reason="invalid_json") == 0
    assert all(m.get("status", 499) == 499 for m in sent), sent
