"""No redirects: a trailing slash is a plain 404, never a 307 built from the client's ``Host``
header (``Location: http://evil.example/predict`` was an open redirect and forced ``http``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with TestClient(create_app(Settings(xla=False, warmup_batches=1, model_poll_s=0))) as c:
        yield c


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/predict/"), ("POST", "/predict/label/"), ("POST", "/explain/"),
     ("GET", "/models/"), ("GET", "/healthz/"), ("GET", "/docs/")],
)  # fmt: skip
def test_trailing_slash_is_not_redirected(client: TestClient, method: str, path: str) -> None:
    response = client.request(
        method, path, json={"text": "Great film."}, headers={"Host": "evil.example"},
        follow_redirects=False,
    )  # fmt: skip
    assert response.status_code == 404, response.headers
    assert "location" not in response.headers
    assert response.json()["code"] == "not_found"
