"""GET / (the demo page, app/explain/routes.py) over HTTP in-process: self-contained (no CDN, strict
CSP), and the API key guards /explain but not the page. The page in a real browser:
tests/browser/test_demo_page.py."""

from __future__ import annotations

from fastapi.testclient import TestClient
from pydantic import SecretStr

from app.config import Settings
from app.main import create_app


def test_demo_page_is_self_contained(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in page.headers["content-security-policy"]
    html = page.text
    assert 'data-key-required="false"' in html
    assert "http://" not in html and "https://" not in html and "//cdn" not in html
    assert 'fetch("explain"' in html  # relative: works behind a path prefix too


def test_api_key_guards_explain_not_the_page() -> None:
    with TestClient(create_app(Settings(api_key=SecretStr("s3cret")))) as c:
        assert c.post("/explain", json={"text": "great"}).status_code == 401
        auth = {"Authorization": "Bearer s3cret"}
        assert c.post("/explain", json={"text": "great"}, headers=auth).status_code == 200
        page = c.get("/")
        assert page.status_code == 200 and 'data-key-required="true"' in page.text
