"""``/docs`` and ``/redoc`` from assets installed with a pinned package (``fastapi-offline``), not a
CDN: no third-party URL in the pages, every asset served by this service with the same security
headers as ``/``. The pages rendering in a real browser: tests/browser/test_docs_pages.py."""

from __future__ import annotations

import re
from collections.abc import Iterator
from importlib.resources import files

import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app

ASSETS = files("fastapi_offline") / "static"


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with TestClient(create_app(Settings(xla=False, warmup_batches=1, model_poll_s=0))) as c:
        yield c


def _security_headers(headers: dict[str, str] | object) -> None:
    assert isinstance(headers, dict) or hasattr(headers, "get")
    csp = headers.get("content-security-policy", "")  # type: ignore[union-attr]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert "http" not in csp  # no third-party origin allowed
    assert headers.get("x-content-type-options") == "nosniff"  # type: ignore[union-attr]
    assert headers.get("referrer-policy") == "no-referrer"  # type: ignore[union-attr]


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_load_nothing_from_elsewhere(client: TestClient, page: str) -> None:
    response = client.get(page)
    assert response.status_code == 200
    _security_headers(response.headers)
    html = response.text
    assert not re.search(r"https?://|//cdn|fonts\.googleapis", html), html
    assets = re.findall(r'(?:src|href)="(/docs-assets/[^"]+)"', html)
    assert assets, html
    for path in assets:
        asset = client.get(path)
        assert asset.status_code == 200, path
        _security_headers(asset.headers)
        assert asset.content == (ASSETS / path.rsplit("/", 1)[1]).read_bytes()


def test_unknown_asset_is_404(client: TestClient) -> None:
    assert client.get("/docs-assets/../app/config.py").status_code == 404
    assert client.get("/docs-assets/nope.js").status_code == 404
