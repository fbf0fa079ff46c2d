"""The readable flag on every answer, and the opt-in refusal, through the real app and model."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app

from .conftest import metric_samples, sample

READABLE = "A wonderful, moving film with brilliant performances. I loved every minute of it."
EMOJI, GIBBERISH, CODE = "👍👍👍", "asdkjh qwpeoiru zmxncb", '{"rating": 5, "ok": true}'
RUSSIAN = "Фильм скучный, актёры играют ужасно."
GERMAN = "Der Film war langweilig und viel zu lang, die Schauspieler waren schrecklich."
ROUTES = ("/predict", "/predict/probability", "/predict/label")
VERDICT = ("readable", "reason", "coverage", "language")


@pytest.fixture(scope="module")
def refusing() -> Iterator[TestClient]:
    """The service with ON_UNREADABLE=refuse."""
    with TestClient(create_app(Settings(on_unreadable="refuse"))) as test_client:
        yield test_client


def post(client: TestClient, path: str, body: dict[str, Any]) -> Any:
    response = client.post(path, json=body)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize("route", ROUTES)
def test_every_predict_route_flags_and_still_answers(client: TestClient, route: str) -> None:
    ok = post(client, route, {"text": READABLE})
    assert (ok["readable"], ok["reason"], ok["coverage"]) == (True, None, 1.0)
    for text, reason in (
        (EMOJI, "no_words"),
        (GIBBERISH, "no_known_words"),
        (CODE, "code_or_markup"),
    ):
        got = post(client, route, {"text": text})
        assert (got["readable"], got["reason"]) == (False, reason)
        assert "probability" in got or "label" in got  # a guess, still given by default
    batch = post(client, route, {"texts": [READABLE, RUSSIAN, EMOJI, GERMAN]})["predictions"]
    assert [p["readable"] for p in batch] == [True, False, False, False]
    assert all(set(VERDICT) <= set(p) for p in batch)
    assert (batch[1]["reason"], batch[1]["language"], batch[1]["coverage"]) == (
        "not_english",
        "ru",
        0.0,
    )
    assert (batch[3]["reason"], batch[3]["language"]) == ("not_english", "de")
    assert 0.0 < batch[3]["coverage"] < 0.8  # the share the vocabulary knows: "Film", "die", ...


def test_refusal_single_text_is_a_422_with_a_code(client: TestClient) -> None:
    before = metric_samples(client)
    response = client.post("/predict", json={"text": GIBBERISH, "on_unreadable": "refuse"})
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "unreadable_text"
    assert body["detail"].startswith("the model cannot read this text: none of the words")
    (error,) = body["errors"]
    assert error["type"] == "no_known_words" and error["loc"] == ["body", "text"]
    assert error["coverage"] == 0.0
    after = metric_samples(client)
    assert (
        sample(after, "sentiment_rejected_total", reason="unreadable")
        - sample(before, "sentiment_rejected_total", reason="unreadable")
        == 1
    )
    # A readable text is answered as usual, with or without the field.
    assert post(client, "/predict", {"text": READABLE, "on_unreadable": "refuse"})["readable"]


@pytest.mark.parametrize("route", ROUTES)
def test_refusal_in_a_batch_is_per_item_and_keeps_the_rest_exact(
    client: TestClient, route: str
) -> None:
    texts = [READABLE, EMOJI, "A dull, boring mess.", RUSSIAN]
    answered = post(client, route, {"texts": texts})["predictions"]
    refused = post(client, route, {"texts": texts, "on_unreadable": "refuse"})["predictions"]
    assert refused[0] == answered[0] and refused[2] == answered[2]  # same label and probability
    for i, reason in ((1, "no_words"), (3, "not_english")):
        item = refused[i]
        assert set(item) == {*VERDICT, "error"} and item["reason"] == reason
        assert item["readable"] is False and item["error"]["code"] == "unreadable_text"
        assert "label" not in item and "probability" not in item


def test_the_setting_refuses_and_a_request_can_opt_out(refusing: TestClient) -> None:
    response = refusing.post("/predict", json={"text": EMOJI})
    assert response.status_code == 422 and response.json()["code"] == "unreadable_text"
    got = post(refusing, "/predict", {"text": EMOJI, "on_unreadable": "answer"})
    assert got["readable"] is False and got["label"] in ("positive", "negative")
    assert refusing.post("/explain", json={"text": EMOJI}).status_code == 422
    assert post(refusing, "/predict", {"text": READABLE})["readable"] is True


def test_explain_carries_the_flag_and_can_refuse(client: TestClient) -> None:
    body = {"text": GIBBERISH, "method": "occlusion"}
    got = post(client, "/explain", body)
    assert (got["readable"], got["reason"], got["coverage"]) == (False, "no_known_words", 0.0)
    predicted = post(client, "/predict", {"text": GIBBERISH})
    assert got["probability"] == pytest.approx(predicted["probability"], abs=1e-6)
    response = client.post("/explain", json={**body, "on_unreadable": "refuse"})
    assert response.status_code == 422 and response.json()["code"] == "unreadable_text"
    assert post(client, "/explain", {"text": READABLE, "method": "occlusion"})["readable"]


def test_metrics_count_unreadable_texts_coverage_and_readable_labels(client: TestClient) -> None:
    before = metric_samples(client)
    post(client, "/predict", {"texts": [READABLE, EMOJI, EMOJI, GIBBERISH]})
    after = metric_samples(client)

    def delta(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    assert delta("sentiment_unreadable_total", reason="no_words") == 2
    assert delta("sentiment_unreadable_total", reason="no_known_words") == 1
    assert delta("sentiment_input_coverage_count") == 4
    assert delta("sentiment_input_coverage_bucket", le="0.0") == 3
    readable = sum(
        delta("sentiment_readable_predictions_total", label=lab) for lab in ("positive", "negative")
    )
    assert readable == 1
    assert (
        delta("sentiment_predictions_total", label="positive")
        + delta("sentiment_predictions_total", label="negative")
        == 4
    )  # every answer, as before


def test_openapi_documents_the_fields_and_the_refusal(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    parts = schema["components"]["schemas"]
    assert {"readable", "reason", "coverage", "language"} <= set(parts["Prediction"]["properties"])
    assert "on_unreadable" in parts["PredictRequest"]["properties"]
    assert "on_unreadable" in parts["ExplainRequest"]["properties"]
    assert "error" in parts["RefusedItem"]["properties"]
    reason = parts["Prediction"]["properties"]["reason"]
    assert "no_known_words" in str(reason) and "not_english" in str(reason)
    assert (
        "unreadable_text" in schema["paths"]["/predict"]["post"]["responses"]["422"]["description"]
    )
