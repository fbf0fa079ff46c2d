"""The behavioural suite against the committed default model, through the real app."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from tests.model.behaviour_suite import SUITE, format_results, run_suite

MIN_PASS_RATE = 0.90  # issue 11: >= 90 % of the clear-cut cases
MIN_CAPABILITY_RATE = 0.70  # no capability may collapse while the total holds


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with TestClient(create_app(Settings())) as test_client:
        yield test_client


def test_behavioural_suite_pass_rate(client: TestClient) -> None:
    def score(texts: Sequence[str]) -> list[str]:
        response = client.post("/predict", json={"texts": list(texts)})
        assert response.status_code == 200
        return [p["label"] for p in response.json()["predictions"]]

    results = run_suite(score)
    print("\n" + format_results(results))
    passed = sum(p for p, _, _ in results.values())
    total = sum(len(items) for items in SUITE.values())
    assert passed / total >= MIN_PASS_RATE, format_results(results)
    for capability, (p, n, failed) in results.items():
        assert p / n >= MIN_CAPABILITY_RATE, f"{capability}: {failed}"
