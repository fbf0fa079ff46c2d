"""The demo page in a real headless Chromium (Debian's ``chromium`` + ``chromium-driver``, Selenium)
against a real ``uvicorn app.main:app`` subprocess: type a review, submit, check what a person sees.

Skips when Chromium or its driver is missing, unless ``REQUIRE_BROWSER=1`` (``.ci/run`` sets it after
installing them), where a missing browser fails instead. ``UPDATE_SCREENSHOT=1`` also writes the
README's picture, ``docs/demo.png``; every run writes its screenshots under pytest's tmp dir.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.process.servers import ROOT, STARTED_GROUPS, Server, kill_group, run_server

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
REQUIRED = os.environ.get("REQUIRE_BROWSER") == "1"
MISSING = "headless Chromium not installed (apt-get install chromium chromium-driver)"
if REQUIRED and not (CHROMIUM and DRIVER):
    pytest.fail(f"REQUIRE_BROWSER=1 but {MISSING}", pytrace=False)
pytestmark = [pytest.mark.process, pytest.mark.skipif(not (CHROMIUM and DRIVER), reason=MISSING)]

REVIEW = (
    "A wonderful, moving film with brilliant performances. The script is clever and the music "
    "is beautiful, although the middle drags and one scene is plain awful."
)
SCREENSHOT = ROOT / "docs" / "demo.png"
POSITIVE_RGB, NEGATIVE_RGB = (29, 78, 216), (194, 65, 12)
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--window-size=1100,1500",
]  # fmt: skip


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in [*FLAGS, f"--user-data-dir={tmp_path / 'chromium-profile'}"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # The driver gets its own process group, so the browser it starts is cleaned up with it.
    service = Service(
        executable_path=str(DRIVER),
        log_output=str(tmp_path / "chromedriver.log"),
        popen_kw={"start_new_session": True},
    )
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_page_load_timeout(60)
    process: subprocess.Popen[bytes] | None = service.process
    if process is not None:  # the session-end check in tests/conftest.py covers it too
        STARTED_GROUPS.append(process.pid)
    try:
        yield driver
    finally:
        try:
            driver.quit()
        finally:
            if process is not None:
                kill_group(process)


def rgba(css: str) -> tuple[float, ...]:
    numbers = re.findall(r"[\d.]+", css)
    assert len(numbers) in (3, 4), css
    return tuple(float(n) for n in numbers)


def contrast(fg: tuple[float, ...], bg: tuple[float, ...]) -> float:
    """WCAG contrast ratio of text ``fg`` on ``bg`` (rgba composited over the white page)."""

    def over_white(c: tuple[float, ...]) -> list[float]:
        a = c[3] if len(c) == 4 else 1.0
        return [a * v + (1 - a) * 255 for v in c[:3]]

    def luminance(rgb: list[float]) -> float:
        lin = [
            (v / 255) / 12.92 if v / 255 <= 0.04045 else ((v / 255 + 0.055) / 1.055) ** 2.4
            for v in rgb
        ]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    hi, lo = sorted((luminance(over_white(fg)), luminance(over_white(bg))), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def explain_and_wait(driver: Any, previous: str | None = None) -> None:
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(driver, 60)
    wait.until(ec.visibility_of_element_located(("id", "result")))
    wait.until(lambda d: d.find_element("id", "submit").is_enabled())
    if previous is not None:
        wait.until(lambda d: d.find_element("id", "probability-text").text != previous)


def wait_for(driver: Any, condition: Any) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, 60).until(condition)
    WebDriverWait(driver, 60).until(lambda d: d.find_element("id", "submit").is_enabled())


def check_highlights(driver: Any, expected: dict[str, Any]) -> None:
    """Every explained word is highlighted with the colour of its sign and its number as tooltip."""
    spans = driver.find_elements("css selector", "#review span.w.scored")
    assert len(spans) == expected["explained_words"] > 0
    wanted = [t for t in expected["tokens"] if t["status"] == "scored"]
    for span, token in zip(spans, wanted, strict=True):
        assert span.text == token["text"]
        r, g, b, alpha = rgba(span.value_of_css_property("background-color"))
        base = POSITIVE_RGB if token["contribution"] >= 0 else NEGATIVE_RGB
        assert (r, g, b) == base, (token, r, g, b)
        # one fixed scale in log-odds: full colour at 1 (the page's FULL_SCALE)
        assert alpha == pytest.approx(0.08 + 0.52 * min(1, abs(token["contribution"])), abs=4e-3)
        text_colour = rgba(span.value_of_css_property("color"))
        assert contrast(text_colour, (r, g, b, alpha)) >= 4.5  # WCAG AA on every highlight
        title = span.get_attribute("title")
        assert f"{abs(token['contribution']):.3f} log-odds" in title
        assert f"{abs(100 * token['probability_change']):.2f} percentage points" in title
        assert ("towards positive" in title) == (token["contribution"] >= 0)
    greyed = driver.find_elements("css selector", "#review span.w.stopword")
    assert len(greyed) == sum(t["status"] == "stopword" for t in expected["tokens"])
    for span in greyed[:3]:
        assert contrast(rgba(span.value_of_css_property("color")), (255, 255, 255)) >= 4.5


def test_type_a_review_and_see_why(browser: Any, tmp_path: Path) -> None:
    from selenium.webdriver.common.keys import Keys

    with run_server(tmp_path) as server:
        browser.get(f"{server.url}/")
        assert "Why this sentiment" in browser.title
        assert browser.find_element("id", "key-row").is_displayed() is False
        for field in ("text", "example", "scoring", "method"):  # every control has a label
            label = browser.find_element("css selector", f"label[for={field}]")
            assert label.is_displayed() and label.text
        box = browser.find_element("id", "text")
        box.send_keys(REVIEW)
        browser.find_element("id", "submit").click()
        explain_and_wait(browser)
        # The page sends no method: the service's default (gradient) answers.
        expected = httpx.post(f"{server.url}/explain", json={"text": REVIEW}, timeout=30).json()
        assert expected["method"] == "gradient"
        assert browser.find_element("id", "method-used").text == "gradient"
        assert browser.find_element("id", "label").text.lower() == expected["label"]
        shown = browser.find_element("id", "probability-text").text
        assert shown == f"P(positive) = {expected['probability']:.3f}"
        fill = browser.find_element("id", "bar-fill")
        width = float(fill.get_attribute("style").split("width:")[1].split("%")[0])
        assert width == pytest.approx(100 * expected["probability"], abs=0.06)
        assert browser.find_element("id", "model-version").text == f"v{expected['model_version']}"
        assert re.fullmatch(r"\d+ ms", browser.find_element("id", "latency").text)
        check_highlights(browser, expected)
        wonderful = browser.find_element("xpath", "//span[text()='wonderful']")
        assert rgba(wonderful.value_of_css_property("background-color"))[:3] == POSITIVE_RGB
        awful = browser.find_element("xpath", "//span[text()='awful']")
        assert rgba(awful.value_of_css_property("background-color"))[:3] == NEGATIVE_RGB

        # Keyboard only: pick the third example with the arrow keys, explain with Ctrl+Enter.
        example = browser.find_element("id", "example")
        example.send_keys(Keys.ARROW_DOWN, Keys.ARROW_DOWN, Keys.ARROW_DOWN)
        picked = browser.find_element("id", "text").get_attribute("value")
        assert picked.startswith("If you want to see a brilliant performance")
        browser.find_element("id", "text").send_keys(Keys.CONTROL, Keys.ENTER)
        explain_and_wait(browser, previous=shown)
        expected = httpx.post(f"{server.url}/explain", json={"text": picked}, timeout=30).json()
        check_highlights(browser, expected)
        assert browser.find_element("id", "method-used").text == "gradient"
        browser.save_screenshot(str(tmp_path / "demo.png"))
        if os.environ.get("UPDATE_SCREENSHOT") == "1":
            SCREENSHOT.parent.mkdir(exist_ok=True)
            browser.save_screenshot(str(SCREENSHOT))

        # The exact method (occlusion), picked with the keyboard: the same page, its numbers.
        browser.find_element("id", "method").send_keys(Keys.ARROW_DOWN)
        browser.find_element("id", "text").send_keys(Keys.CONTROL, Keys.ENTER)
        wait_for(browser, lambda d: d.find_element("id", "method-used").text == "occlusion")
        body = {"text": picked, "method": "occlusion"}
        expected = httpx.post(f"{server.url}/explain", json=body, timeout=30).json()
        check_highlights(browser, expected)

        # Phone width: nothing wider than the screen.
        browser.set_window_size(390, 844)
        overflow = browser.execute_script(
            "return document.documentElement.scrollWidth - window.innerWidth"
        )
        assert overflow <= 0
        browser.save_screenshot(str(tmp_path / "demo-phone.png"))
        errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
        assert not errors, errors  # no CSP violation, no failed request, no script error


def test_an_unreadable_text_is_flagged_plainly(browser: Any, tmp_path: Path) -> None:
    german = "Der Film war langweilig und viel zu lang, die Schauspieler waren schrecklich."
    with run_server(tmp_path) as server:
        browser.get(f"{server.url}/")
        box = browser.find_element("id", "text")
        box.send_keys(german)
        browser.find_element("id", "submit").click()
        explain_and_wait(browser)
        expected = httpx.post(f"{server.url}/explain", json={"text": german}, timeout=30).json()
        assert (expected["readable"], expected["reason"], expected["language"]) == (
            False,
            "not_english",
            "de",
        )
        warning = browser.find_element("id", "unreadable")
        assert warning.is_displayed()
        assert warning.get_attribute("role") == "alert"  # read out by screen readers at once
        assert "cannot read this text: it is not in English (language: de)" in warning.text
        assert "guess" in warning.text
        colours = [
            rgba(warning.value_of_css_property(prop)) for prop in ("color", "background-color")
        ]
        assert contrast(*colours) >= 4.5
        label = browser.find_element("id", "label").text.lower()
        assert label == f"{expected['label']} (guess)"
        assert browser.find_element("id", "readable").text == "no"
        shown = f"{round(expected['coverage'] * 100)}%"  # the server's share, as the page rounds it
        assert browser.find_element("id", "coverage-value").text == shown
        browser.save_screenshot(str(tmp_path / "demo-unreadable.png"))

        # A readable review afterwards: the warning goes, the label is plain again.
        shown = browser.find_element("id", "probability-text").text
        box.clear()
        box.send_keys(REVIEW)
        browser.find_element("id", "submit").click()
        explain_and_wait(browser, previous=shown)
        assert not browser.find_element("id", "unreadable").is_displayed()
        assert browser.find_element("id", "readable").text == "yes"
        assert browser.find_element("id", "label").text.lower() in ("positive", "negative")
        errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
        assert not errors, errors


def test_api_key_stays_in_the_page(browser: Any, tmp_path: Path) -> None:
    with run_server(tmp_path, API_KEY="s3cret-key") as server:
        browser.get(f"{server.url}/")
        key = browser.find_element("id", "api-key")
        assert key.is_displayed() and key.get_attribute("type") == "password"
        browser.find_element("id", "text").send_keys("Great fun.")
        browser.find_element("id", "submit").click()
        status = browser.find_element("id", "status")
        _wait_for_text(browser, status, "API key")
        assert browser.switch_to.active_element == key  # focus moved to the key field
        key.send_keys("s3cret-key")
        browser.find_element("id", "submit").click()
        explain_and_wait(browser)
        assert browser.find_element("id", "label").text.lower() in ("positive", "negative")
        assert browser.execute_script("return localStorage.length + sessionStorage.length") == 0
        assert "s3cret-key" not in browser.page_source.replace(key.get_attribute("value"), "")
        _assert_only_this_server(server)


def _wait_for_text(driver: Any, element: Any, text: str) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, 30).until(lambda _: text in element.text)


def _assert_only_this_server(server: Server) -> None:
    log = server.log()
    assert "Traceback" not in log, log[-3000:]
