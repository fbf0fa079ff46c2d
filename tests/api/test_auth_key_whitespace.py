"""``API_KEY`` from a file (``kubectl create secret --from-file`` keeps the trailing newline): the
configured key is stripped exactly as the request's token is, so auth works instead of every call
getting 401."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app

TEXT = "A wonderful film."


@pytest.mark.parametrize("stored", ["s3cret\n", " s3cret\r\n", "\ts3cret"])
def test_key_with_surrounding_whitespace(stored: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("API_KEY", stored)
    with TestClient(create_app(Settings(xla=False, warmup_batches=1, model_poll_s=0))) as c:
        ok = c.post("/predict", json={"text": TEXT}, headers={"Authorization": "Bearer s3cret"})
        assert ok.status_code == 200
        wrong = c.post("/predict", json={"text": TEXT}, headers={"Authorization": "Bearer s3cre"})
        assert wrong.status_code == 401
        assert c.post("/predict", json={"text": TEXT}).status_code == 401
