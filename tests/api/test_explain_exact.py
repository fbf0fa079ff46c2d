"""/explain end to end with the real model: occlusion's contributions are real deletions, and a
calibrated whole-review artifact (what newer versions ship) is explained, by the default method and
by occlusion, with the same windows as /predict.
"""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from model_contract.artifact import Artifact
from model_contract.manifest import write_manifest
from tests.api.test_api import NEGATIVE, POSITIVE

REVIEW = (
    "I expected to hate it, but it turned out to be one of the best films of the year. "
    "The cast is superb and the story is moving, even if the middle drags a little."
)
POLICY = {
    "default_mode": "whole",
    "stride": 40,  # overlapping windows: words in two windows
    "max_windows": 8,
    "platt": {"whole": {"a": 1.3, "b": -0.2}, "last": {"a": 0.9, "b": 0.1}},
}


def logit(p: float) -> float:
    return math.log(p / (1 - p))


def test_last_mode_contributions_are_exact_deletions(client: TestClient) -> None:
    """In 'last' mode an occlusion contribution is logit(P(review)) - logit(P(review with that
    word cut out)), exactly; ``probability_change`` the same in probability."""
    for text in (REVIEW, POSITIVE, NEGATIVE):
        request = {"text": text, "scoring": "last", "method": "occlusion"}
        body = client.post("/explain", json=request).json()
        scored = [t for t in body["tokens"] if t["status"] == "scored"]
        edited = [text[: t["start"]] + text[t["end"] :] for t in scored]
        predicted = client.post("/predict", json={"texts": edited, "scoring": "last"}).json()
        for tok, pred in zip(scored, predicted["predictions"], strict=True):
            p, q = body["probability"], pred["probability"]
            assert tok["probability_change"] == pytest.approx(p - q, abs=1e-5), tok
            assert tok["contribution"] == pytest.approx(logit(p) - logit(q), abs=1e-3), tok


@pytest.fixture(scope="module")
def calibrated_client(
    artifact: Artifact, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    """The committed model with a whole-review, calibrated scoring policy in its artifact."""
    root = tmp_path_factory.mktemp("calibrated")
    version = root / str(artifact.version)
    shutil.copytree(artifact.path.resolve(), version)  # ~21 MB
    pre = json.loads((version / "preprocessing.json").read_text())
    (version / "preprocessing.json").write_text(json.dumps({**pre, "scoring": POLICY}))
    write_manifest(version)  # an edited artifact needs its own manifest
    with TestClient(create_app(Settings(model_dir=root))) as c:
        yield c


@pytest.mark.parametrize("method", [None, "occlusion"])
def test_calibrated_whole_review_artifact(
    calibrated_client: TestClient, method: str | None
) -> None:
    c = calibrated_client
    assert c.get("/model").json()["default_scoring"] == "whole"
    long_review = " ".join([REVIEW, NEGATIVE, POSITIVE] * 4)  # 5 overlapping windows
    for text in (REVIEW, long_review):
        predicted = c.post("/predict", json={"text": text}).json()
        request = {"text": text} if method is None else {"text": text, "method": method}
        explained = c.post("/explain", json=request).json()
        assert explained["method"] == (method or "gradient")
        assert explained["scoring"] == "whole"
        assert explained["windows"] == predicted["windows"]
        assert explained["probability"] == pytest.approx(predicted["probability"], abs=1e-6)
        assert explained["label"] == predicted["label"]
        statuses = {t["status"] for t in explained["tokens"]}
        assert "scored" in statuses and "not_scored" not in statuses
    assert explained["windows"] > 2
    if method == "occlusion":  # words in two overlapping windows cost two rows each
        assert explained["rows"] > explained["windows"] + explained["explained_words"]
    else:  # the default (gradient): one forward and backward pass per window
        assert explained["rows"] == explained["windows"]
    tokens = {t["text"]: t for t in explained["tokens"] if t["status"] == "scored"}
    assert tokens["superb"]["contribution"] > 0 and tokens["awful"]["contribution"] < 0
