"""``/docs`` and ``/redoc`` in a real headless Chromium against a real server: they render from the
packaged assets, and nothing is fetched from another origin (ReDoc's bundle refers to its
"powered by" logo on cdn.redoc.ly: the page's CSP blocks that request, checked here)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from selenium.webdriver.support.ui import WebDriverWait

from tests.browser.test_demo_page import browser, pytestmark  # noqa: F401  (fixture, skip rule)
from tests.process.servers import run_server


def _fetched_elsewhere(driver: Any, origin: str) -> list[Any]:
    """Resources from another origin that got a response (CSP-blocked ones have status 0)."""
    entries: list[list[Any]] = driver.execute_script(
        "return performance.getEntriesByType('resource')"
        ".map(e => [e.name, e.responseStatus, e.transferSize])"
    )
    return [e for e in entries if not e[0].startswith(origin) and (e[1] or e[2])]


def _errors(driver: Any) -> list[Any]:
    """Console errors other than the CSP blocking a request to another origin."""
    return [
        e
        for e in driver.get_log("browser")
        if e["level"] == "SEVERE"
        and not (e["source"] == "security" and "has been blocked" in e["message"])
    ]


def test_docs_pages_render_offline(browser: Any, tmp_path: Path) -> None:  # noqa: F811
    with run_server(tmp_path) as server:
        browser.get(f"{server.url}/docs")
        WebDriverWait(browser, 60).until(
            lambda d: d.find_elements("css selector", ".opblock-summary-path")
        )
        paths = browser.find_elements("css selector", ".opblock-summary-path")
        assert "/predict" in {p.text.replace("\u200b", "") for p in paths}
        assert _fetched_elsewhere(browser, server.url) == []
        assert _errors(browser) == []
        browser.get(f"{server.url}/redoc")
        WebDriverWait(browser, 60).until(lambda d: d.find_elements("css selector", "h1"))
        assert "IMDB sentiment service" in browser.find_element("css selector", "h1").text
        assert _fetched_elsewhere(browser, server.url) == []
        assert _errors(browser) == []
