"""Several model versions in-process with the real committed models: /models, pinning, start-up.

Hot reload's rules are ``test_hot_reload.py``; the same behaviour under load against a real
uvicorn process is ``tests/process/test_hot_swap.py``. XLA off: loads take ~2 s instead of ~8 s.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from tests.api.conftest import metric_samples, sample
from tests.api.model_dirs import FAST, TEXT, poll, put_version, reloads, states


@pytest.fixture(scope="module")
def two_versions() -> Iterator[TestClient]:
    with TestClient(create_app(Settings(model_versions="2,3", **FAST))) as c:  # type: ignore[arg-type]
        yield c


def test_models_lists_versions_and_the_default(two_versions: TestClient) -> None:
    body = two_versions.get("/models").json()
    assert body["default_version"] == "3" and body["policy"] == "2,3" and body["poll_s"] == 0
    assert [v["version"] for v in body["versions"]] == ["3", "2"]
    for row in body["versions"]:
        assert row["state"] == "ready" and row["default"] is (row["version"] == "3")
        assert len(row["manifest_sha256"]) == 64 and len(row["tokenizer_fingerprint"]) == 64
        assert 0.8 < row["test_accuracy"] < 1
    assert two_versions.get("/model").json()["version"] == "3"
    assert two_versions.get("/readyz").status_code == 200
    samples = metric_samples(two_versions)
    assert sample(samples, "sentiment_model_info", version="3", device="/CPU:0") == 1
    assert sample(samples, "sentiment_model_info", version="2", device="/CPU:0") == 0


@pytest.mark.parametrize(
    "route", ["/predict", "/predict/probability", "/predict/label", "/explain"]
)
def test_a_request_can_pin_a_version(two_versions: TestClient, route: str) -> None:
    answers = {}
    for pin in (None, "2", "3"):
        body: dict[str, Any] = {"text": TEXT} | ({} if pin is None else {"model_version": pin})
        response = two_versions.post(route, json=body)
        assert response.status_code == 200, response.text
        answers[pin] = response.json()
    assert answers[None]["model_version"] == answers["3"]["model_version"] == "3"
    assert answers["2"]["model_version"] == "2"
    assert answers[None] == answers["3"]
    if "probability" in answers["2"]:  # really scored by another model
        assert abs(answers["2"]["probability"] - answers["3"]["probability"]) > 1e-3
    batch = two_versions.post(route, json={"texts": [TEXT, "awful"], "model_version": "2"})
    if route != "/explain":
        assert batch.status_code == 200 and batch.json()["model_version"] == "2"


@pytest.mark.parametrize("route", ["/predict", "/predict/label", "/explain"])
def test_unloaded_version_is_404_naming_the_loaded_ones(
    two_versions: TestClient, route: str
) -> None:
    before = metric_samples(two_versions)
    response = two_versions.post(route, json={"text": TEXT, "model_version": "1"})
    assert response.status_code == 404
    assert response.json() == {
        "detail": "model version 1 is not loaded; loaded: 2, 3",
        "code": "model_version_not_loaded",
    }
    after = metric_samples(two_versions)
    reason = {"reason": "model_version_not_loaded"}
    assert sample(after, "sentiment_rejected_total", **reason) == (
        sample(before, "sentiment_rejected_total", **reason) + 1
    )
    assert two_versions.get("/no/such/path").json()["code"] == "not_found"  # a plain 404


@pytest.mark.parametrize("pin", ["abc", "0", "02", "", "1" * 19, 2, True, 2.0, -1, None, ["2"]])
def test_malformed_version_is_422(two_versions: TestClient, pin: Any) -> None:
    body = {"text": TEXT, "model_version": pin}
    response = two_versions.post("/predict", json=body)
    if pin is None:  # JSON null: the same as leaving it out
        assert response.status_code == 200
        return
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["loc"] == ["body", "model_version"]


def test_startup_skips_a_broken_highest_version(tmp_path: Path) -> None:
    put_version(tmp_path, "2", source=2)
    broken = put_version(tmp_path, "3")
    (broken / "word_index.json").write_text("{}")  # no longer matches the manifest
    with TestClient(create_app(Settings(model_dir=tmp_path, **FAST))) as c:  # type: ignore[arg-type]
        seen = states(c)
        assert seen["default"] == "2" and seen["2"] == "ready"
        assert seen["3"].startswith("failed: ") and "word_index.json" in seen["3"]
        assert reloads(c) == {"loaded": 1, "failed": 1, "unloaded": 0}
        poll(c, 3)  # unchanged files: not tried again
        assert reloads(c)["failed"] == 1
