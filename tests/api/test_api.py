"""Every route, both body shapes, every bad-input case, and parity with the SavedModel."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from model_contract.artifact import Artifact

POSITIVE = "A wonderful, moving film with brilliant performances. I loved every minute of it."
NEGATIVE = "A dull, boring mess. Terrible acting, awful script, a complete waste of time."
READABILITY = ("readable", "reason", "coverage", "language")  # additive fields
TEXTS = [
    POSITIVE,
    NEGATIVE,
    "Not bad at all, though the ending dragged.",
    "<br /><br />The plot was predictable but the music was great!",
    "x" * 50,
    "word " * 500,  # far longer than maxlen: truncation
]
PREDICT_ROUTES = ["/predict", "/predict/probability", "/predict/label"]


def test_healthz(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_after_startup(client: TestClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready"}


def test_model_info(client: TestClient, artifact: Artifact) -> None:
    info = client.get("/model").json()
    assert info["version"] == str(artifact.version)
    assert info["maxlen"] == artifact.tokenizer.config.maxlen == 80
    assert info["vocabulary_size"] == artifact.tokenizer.vocabulary_size
    assert info["threshold"] == 0.5
    assert info["device"] in ("/CPU:0", "/GPU:0")
    assert info["xla"] is (info["device"] == "/CPU:0")  # XLA=true by default, CPU only
    assert info["kernel"] == ("xla-cpu" if info["device"] == "/CPU:0" else "cudnn")
    assert info["test_accuracy"] == artifact.test_accuracy
    assert info["tokenizer_fingerprint"] == artifact.preprocessing["fingerprint"]


def test_docs_and_openapi(client: TestClient) -> None:
    assert client.get("/docs").status_code == 200
    schema = client.get("/openapi.json").json()
    for route in PREDICT_ROUTES:
        codes = set(schema["paths"][route]["post"]["responses"])
        assert {"200", "400", "401", "413", "415", "422", "500", "503", "504"} <= codes
    assert "503" in schema["paths"]["/readyz"]["get"]["responses"]


def test_predict_single(client: TestClient, artifact: Artifact) -> None:
    body = client.post("/predict", json={"text": POSITIVE}).json()
    assert set(body) == {"label", "probability", "windows", "model_version", *READABILITY}
    assert (body["readable"], body["reason"], body["coverage"]) == (True, None, 1.0)
    assert body["windows"] == 1  # a one-sentence review is one window
    assert body["model_version"] == str(artifact.version)
    assert 0.0 <= body["probability"] <= 1.0
    assert body["label"] == ("positive" if body["probability"] >= 0.5 else "negative")


def test_predict_batch_keeps_input_order(client: TestClient) -> None:
    body = client.post("/predict", json={"texts": TEXTS}).json()
    assert set(body) == {"predictions", "model_version"}
    assert len(body["predictions"]) == len(TEXTS)
    singles = [client.post("/predict", json={"text": t}).json() for t in TEXTS]
    for batched, single in zip(body["predictions"], singles, strict=True):
        assert batched["label"] == single["label"]
        assert batched["probability"] == pytest.approx(single["probability"], abs=1e-6)


def test_probability_and_label_routes(client: TestClient) -> None:
    full = client.post("/predict", json={"text": NEGATIVE}).json()
    prob = client.post("/predict/probability", json={"text": NEGATIVE}).json()
    label = client.post("/predict/label", json={"text": NEGATIVE}).json()
    verdict = {k: full[k] for k in READABILITY}
    assert prob == {
        "probability": full["probability"],
        "windows": 1,
        "model_version": full["model_version"],
        **verdict,
    }
    assert label == {
        "label": full["label"],
        "windows": 1,
        "model_version": full["model_version"],
        **verdict,
    }
    probs = client.post("/predict/probability", json={"texts": [NEGATIVE, POSITIVE]}).json()
    labels = client.post("/predict/label", json={"texts": [NEGATIVE, POSITIVE]}).json()
    assert [set(p) for p in probs["predictions"]] == [{"probability", "windows", *READABILITY}] * 2
    assert [set(p) for p in labels["predictions"]] == [{"label", "windows", *READABILITY}] * 2
    assert probs["predictions"][0]["probability"] == pytest.approx(full["probability"], abs=1e-6)
    assert labels["predictions"][0]["label"] == full["label"]


@pytest.mark.parametrize(
    "text", ["qwzxv blorptastic frumbleglitz", "!!! ???", "日本語のレビュー", "12345"]
)
def test_unknown_words_only_is_valid(client: TestClient, text: str) -> None:
    response = client.post("/predict", json={"text": text})
    assert response.status_code == 200, response.text
    assert 0.0 <= response.json()["probability"] <= 1.0


def reference(artifact: Artifact, direct_model: Any, text: str, mode: str) -> float:
    """The served probability recomputed by hand: the artifact's windows for ``mode``, the plain
    SavedModel signature (no XLA, no batcher), then the artifact's combination + calibration."""
    policy, tokenizer = artifact.scoring, artifact.tokenizer
    if mode == "last":
        rows = tokenizer.encode_batch([text])
    else:
        rows = tokenizer.encode_windows(text, policy.stride, policy.max_windows).rows
    return policy.combine(direct_model(rows).tolist(), mode)  # type: ignore[arg-type]


LONG_REVIEW = " ".join(TEXTS[:4] * 10)  # several 80-token windows in whole-review mode


@pytest.mark.parametrize("route", ["/predict", "/predict/probability"])
@pytest.mark.parametrize("mode", ["whole", "last"])
def test_parity_single_with_direct_savedmodel_call(
    client: TestClient, artifact: Artifact, direct_model: Any, route: str, mode: str
) -> None:
    for text in [*TEXTS, LONG_REVIEW]:
        served = client.post(route, json={"text": text, "scoring": mode}).json()
        expected = reference(artifact, direct_model, text, mode)
        assert served["probability"] == pytest.approx(expected, abs=1e-6)
    assert served["windows"] > 1 if mode == "whole" else served["windows"] == 1


def test_parity_batched_with_direct_savedmodel_call(
    client: TestClient, artifact: Artifact, direct_model: Any
) -> None:
    texts = [*TEXTS, LONG_REVIEW]
    served = client.post("/predict", json={"texts": texts}).json()["predictions"]
    mode = artifact.scoring.default_mode  # no "scoring" field: the artifact's default
    expected = [reference(artifact, direct_model, t, mode) for t in texts]
    np.testing.assert_allclose([p["probability"] for p in served], expected, atol=1e-6, rtol=0)
    threshold = 0.5
    assert [p["label"] for p in served] == [
        "positive" if p >= threshold else "negative" for p in expected
    ]


# (name, request kwargs, expected status, expected code) - each must be a clear 4xx JSON error.
LONG = "a" * 20_001
BAD_INPUTS: list[tuple[str, dict[str, Any], int, str]] = [
    ("not json", {"content": b"{not json", "headers": {"content-type": "application/json"}}, 400, "invalid_json"),
    ("truncated json", {"content": b'{"text": "abc', "headers": {"content-type": "application/json"}}, 400, "invalid_json"),
    ("plain text body", {"content": b"great movie", "headers": {"content-type": "text/plain"}}, 415, "unsupported_media_type"),
    ("no content type", {"content": b'{"text": "great movie"}'}, 415, "unsupported_media_type"),
    ("form body", {"data": {"text": "great"}}, 415, "unsupported_media_type"),
    ("empty body", {"content": b"", "headers": {"content-type": "application/json"}}, 422, "validation_error"),
    ("json array", {"json": ["great"]}, 422, "validation_error"),
    ("json string", {"json": "great"}, 422, "validation_error"),
    ("json null", {"content": b"null", "headers": {"content-type": "application/json"}}, 422, "validation_error"),
    ("missing both fields", {"json": {}}, 422, "validation_error"),
    ("both fields", {"json": {"text": "a", "texts": ["b"]}}, 422, "validation_error"),
    ("unknown field", {"json": {"text": "a", "lang": "en"}}, 422, "validation_error"),
    ("misspelled field", {"json": {"txt": "a"}}, 422, "validation_error"),
    ("text is a number", {"json": {"text": 5}}, 422, "validation_error"),
    ("text is a list", {"json": {"text": ["a"]}}, 422, "validation_error"),
    ("text is null", {"json": {"text": None}}, 422, "validation_error"),
    ("texts is a string", {"json": {"texts": "abc"}}, 422, "validation_error"),
    ("texts has a number", {"json": {"texts": ["ok", 3]}}, 422, "validation_error"),
    ("texts has null", {"json": {"texts": ["ok", None]}}, 422, "validation_error"),
    ("empty text", {"json": {"text": ""}}, 422, "validation_error"),
    ("whitespace text", {"json": {"text": " \n\t "}}, 422, "validation_error"),
    ("empty texts list", {"json": {"texts": []}}, 422, "validation_error"),
    ("empty text in list", {"json": {"texts": ["ok", ""]}}, 422, "validation_error"),
    ("whitespace text in list", {"json": {"texts": ["ok", "   "]}}, 422, "validation_error"),
    ("text over char limit", {"json": {"text": LONG}}, 422, "validation_error"),
    ("one of texts over char limit", {"json": {"texts": ["ok", LONG]}}, 422, "validation_error"),
    ("too many texts", {"json": {"texts": ["ok"] * 65}}, 422, "validation_error"),
    ("body over size limit", {"content": b'{"text": "' + b"a" * 1_100_000 + b'"}', "headers": {"content-type": "application/json"}}, 413, "body_too_large"),
]  # fmt: skip


@pytest.mark.parametrize("route", PREDICT_ROUTES)
@pytest.mark.parametrize(
    ("kwargs", "status", "code"),
    [pytest.param(k, s, c, id=name) for name, k, s, c in BAD_INPUTS],
)
def test_bad_input_is_a_clear_4xx(
    client: TestClient, route: str, kwargs: dict[str, Any], status: int, code: str
) -> None:
    response = client.post(route, **kwargs)
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == code
    assert isinstance(body["detail"], str) and body["detail"]


def test_validation_error_names_the_field_and_never_echoes_text(client: TestClient) -> None:
    secret = "my private review " + "z" * 20_000
    body = client.post("/predict", json={"texts": ["fine", secret]}).json()
    assert body["errors"][0]["loc"] == ["body", "texts", "1"]
    assert "my private review" not in str(body)


def test_chunked_body_over_limit_is_413(client: TestClient) -> None:
    def chunks() -> Any:
        for _ in range(30):
            yield b"a" * 50_000

    response = client.post(
        "/predict", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["code"] == "body_too_large"


def test_chunked_body_under_limit_is_served(client: TestClient) -> None:
    def chunks() -> Any:
        yield b'{"text": '
        yield b'"great film"}'

    response = client.post(
        "/predict", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("GET", "/predict", 405), ("POST", "/healthz", 405), ("GET", "/nope", 404)],
)
def test_routing_errors_are_json(client: TestClient, method: str, path: str, status: int) -> None:
    response = client.request(method, path)
    assert response.status_code == status
    assert response.json()["code"] in ("not_found", "method_not_allowed")


def test_request_id_is_echoed_or_generated(client: TestClient) -> None:
    given = client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert given.headers["x-request-id"] == "abc-123"
    generated = client.get("/healthz", headers={"X-Request-ID": "bad id\nINJECTED"})
    assert generated.headers["x-request-id"] not in ("", "bad id\nINJECTED")
    assert "\n" not in generated.headers["x-request-id"]
