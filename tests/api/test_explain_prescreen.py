"""Bodies over 64 KiB are pre-screened against *their route's* schema: a valid ``/explain`` body
with ``"method"`` used to be validated as a ``/predict`` body and refused (422 "unknown field")."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from app.middleware import PRESCREEN_MIN_BYTES

SENTENCE = "Прекрасный фильм, замечательная игра актёров. "  # escaped by json.dumps: 6 bytes a char


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with TestClient(create_app(Settings(xla=False, warmup_batches=1, model_poll_s=0))) as c:
        yield c


def _post(client: TestClient, path: str, body: dict[str, object]) -> tuple[int, dict[str, object]]:
    data = json.dumps(body).encode()  # ensure_ascii: every Cyrillic letter is \uXXXX
    assert len(data) > PRESCREEN_MIN_BYTES
    response = client.post(path, content=data, headers={"content-type": "application/json"})
    return response.status_code, response.json()


def test_large_explain_body_with_method_is_served(client: TestClient) -> None:
    text = SENTENCE * 400  # 18,800 characters, ~105 KB as escaped JSON
    status, body = _post(client, "/explain", {"text": text, "method": "occlusion"})
    assert status == 200, body
    assert body["method"] == "occlusion"


def test_large_bodies_are_checked_against_their_own_schema(client: TestClient) -> None:
    text = SENTENCE * 400
    status, body = _post(client, "/explain", {"text": text, "texts": [text]})  # /predict's field
    assert status == 422 and body["code"] == "validation_error"
    status, body = _post(client, "/predict", {"text": text, "method": "occlusion"})
    assert status == 422 and "method" not in json.dumps(body)  # named by the expected fields
