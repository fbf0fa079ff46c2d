"""Which method answers ``POST /explain``: the default is ``gradient``; a request that names
``gradient`` for a model version that cannot have it gets a 422 naming ``method``, and a request
that leaves ``method`` out falls back to ``occlusion`` and says so (docs/explain.md, "Which one
answers"). Real committed model and lifespan; the gradient batcher's thread stops with the app.
"""

from __future__ import annotations

import re
import threading
import time
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.config import Settings
from app.explain.gradient import GradientBatcher, explainers
from app.explain.schemas import ExplainResponse
from app.main import create_app
from tests.api.conftest import controlled_app


def _refused_then_fallback(c: TestClient, reason: str) -> None:
    for _ in range(2):  # the refusal is remembered: the same answers again
        response = c.post("/explain", json={"text": "great", "method": "gradient"})
        assert response.status_code == 422, response.text
        assert "not available" in response.json()["detail"]
        assert reason in response.json()["detail"]
        assert response.json()["errors"][0]["loc"] == ["body", "method"]
        default = c.post("/explain", json={"text": "great film"})
        assert default.status_code == 200, default.text
        body = default.json()
        ExplainResponse.model_validate(body)
        assert (body["method"], body["baseline"]) == ("occlusion", "remove")
        assert body["rows"] == body["windows"] + body["explained_words"]
        exact = c.post("/explain", json={"text": "great film", "method": "occlusion"})
        assert exact.json() == body


def test_a_runner_without_a_signature_falls_back_to_occlusion() -> None:
    # A wrapped runner (the test double) exposes no signature: never a 500.
    c, _ = controlled_app()
    try:
        _refused_then_fallback(c, "no SavedModel signature")
    finally:
        c.__exit__(None, None, None)


def test_a_rebuilt_network_that_disagrees_falls_back_to_occlusion(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The real SavedModel runner, but the check of the rebuilt network refuses it (as it would an
    # artifact whose network the gradient module does not reproduce).
    from model_contract import gradients

    monkeypatch.setattr(gradients, "TOLERANCE", -1.0)
    with TestClient(create_app(Settings())) as c:
        _refused_then_fallback(c, "differs from the signature")


def test_the_default_is_gradient_and_its_thread_stops_with_the_app() -> None:
    def gradient_threads() -> set[threading.Thread]:
        return {t for t in threading.enumerate() if t.name.startswith("gradients-")}

    before = gradient_threads()  # other apps of this session may have theirs
    with TestClient(create_app(Settings())) as c:
        body = c.post("/explain", json={"text": "great film"}).json()
        assert (body["method"], body["baseline"], body["rows"]) == ("gradient", "oov", 1)
        named = c.post("/explain", json={"text": "great film", "method": "gradient"}).json()
        assert named == body
        (thread,) = gradient_threads() - before
    thread.join(timeout=10)  # shut down with the app (it may take a moment to return)
    assert not thread.is_alive()


def _built(app: FastAPI) -> list[object]:
    return [t.result() for t in explainers(app).values() if t.done()]


def test_the_default_versions_explainer_is_built_and_compiled_at_start_up(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from model_contract.gradients import GradientAttributor

    compiled: list[int] = []
    real = GradientAttributor.attribute

    def counting(self: GradientAttributor, ids: Any) -> Any:
        compiled.append(len(ids))
        return real(self, ids)

    monkeypatch.setattr(GradientAttributor, "attribute", counting)
    app = create_app(Settings(explain_prewarm=True))
    with TestClient(app) as c:
        assert c.get("/readyz").status_code == 200  # readiness does not wait for the warm-up
        deadline = time.monotonic() + 60
        while not app.state.explain_prewarm.done() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert app.state.explain_prewarm.done() and app.state.explain_prewarm.exception() is None
        (made,) = _built(app)  # no /explain request yet
        assert isinstance(made, GradientBatcher)
        # the check against the signature (its probe rows), then the two warm-up batches (1 and 3
        # windows, padded to 2 and 4 rows)
        assert compiled[1:] == [1, 3] and compiled[0] > 3
        assert re.search(r"gradient explainer for version \d+ built and warmed", caplog.text)
        body = c.post("/explain", json={"text": "great film"}).json()
        assert body["method"] == "gradient"
        assert len(explainers(app)) == 1  # the warmed one answered


def test_prewarm_off_builds_nothing_until_the_first_request() -> None:
    app = create_app(Settings())  # EXPLAIN_PREWARM is off by default
    with TestClient(app) as c:
        assert c.get("/readyz").status_code == 200
        time.sleep(0.5)
        assert not hasattr(app.state, "explain_prewarm") and explainers(app) == {}
        assert c.post("/explain", json={"text": "great film"}).json()["method"] == "gradient"
        assert len(_built(app)) == 1


def test_a_shutdown_during_the_warm_up_is_clean() -> None:
    app = create_app(Settings(explain_prewarm=True))
    with TestClient(app):
        pass  # leave at once, most likely mid warm-up
    task = app.state.explain_prewarm
    assert task.done() and (task.cancelled() or task.exception() is None)
    assert explainers(app) == {}  # stopped with their servers
