"""Batching, metrics, auth, overload, timeouts and draining, in-process with controlled runners."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from app.config import Settings
from app.main import create_app
from model_contract.artifact import Artifact

from .conftest import controlled_app, metric_samples, sample

METRIC_NAMES = [
    "sentiment_requests_total",
    "sentiment_request_duration_seconds",
    "sentiment_batch_size",
    "sentiment_inference_duration_seconds",
    "sentiment_queue_wait_seconds",
    "sentiment_queue_depth",
    "sentiment_predictions_total",
    "sentiment_rejected_total",
    "sentiment_review_tokens",
    "sentiment_oov_ratio",
    "sentiment_model_info",
    "process_cpu_seconds_total",
    "process_resident_memory_bytes",
]


def test_metric_names_exist_and_move(client: TestClient, artifact: Artifact) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    client.post("/predict", json={"text": "great film"})
    before = metric_samples(client)
    families = {f.name for f in text_string_to_metric_families(client.get("/metrics").text)} | {
        name for name, _ in before
    }
    for name in METRIC_NAMES:
        assert (
            name in families
            or f"{name}_total" in families
            or name.removesuffix("_total") in families
        ), name

    response = client.post("/predict", json={"texts": ["great film", "awful film", "qwzxv"]})
    assert response.status_code == 200
    labels = [p["label"] for p in response.json()["predictions"]]
    client.post("/predict", json={"text": ""})  # 422
    after = metric_samples(client)

    def delta(name: str, **lbl: str) -> float:
        return sample(after, name, **lbl) - sample(before, name, **lbl)

    assert delta("sentiment_requests_total", route="/predict", status="200") == 1
    assert delta("sentiment_requests_total", route="/predict", status="422") == 1
    assert delta("sentiment_request_duration_seconds_count", route="/predict") == 2
    assert delta("sentiment_rejected_total", reason="validation") == 1
    for label in ("positive", "negative"):
        assert delta("sentiment_predictions_total", label=label) == labels.count(label)
    assert delta("sentiment_review_tokens_count") == 3
    assert delta("sentiment_review_tokens_sum") == 5  # "great film", "awful film", "qwzxv"
    assert delta("sentiment_oov_ratio_count") == 3
    assert delta("sentiment_batch_size_sum") == 3
    assert delta("sentiment_batch_size_count") >= 1
    assert delta("sentiment_inference_duration_seconds_count") >= 1
    assert delta("sentiment_queue_wait_seconds_count") == 3
    assert sample(after, "sentiment_queue_depth") == 0
    device = client.get("/model").json()["device"]
    assert sample(after, "sentiment_model_info", version=str(artifact.version), device=device) == 1


@pytest.fixture(scope="module")
def batching_client() -> Iterator[TestClient]:
    # A delay window makes the batching assertion independent of machine speed.
    with TestClient(create_app(Settings(max_batch_size=64, max_batch_delay_ms=50))) as c:
        yield c


def test_concurrent_requests_share_model_calls(
    batching_client: TestClient, client: TestClient
) -> None:
    n = 32
    texts = [f"review number {i}: {'great' if i % 2 else 'terrible'} movie" for i in range(n)]
    expected = [client.post("/predict", json={"text": t}).json()["probability"] for t in texts]
    before = metric_samples(batching_client)
    with ThreadPoolExecutor(max_workers=n) as pool:
        responses = list(
            pool.map(lambda t: batching_client.post("/predict", json={"text": t}), texts)
        )
    after = metric_samples(batching_client)
    assert [r.status_code for r in responses] == [200] * n
    got = [r.json()["probability"] for r in responses]
    assert got == pytest.approx(expected, abs=1e-6)  # each caller got its own answer
    calls = sample(after, "sentiment_batch_size_count") - sample(
        before, "sentiment_batch_size_count"
    )
    texts_run = sample(after, "sentiment_batch_size_sum") - sample(
        before, "sentiment_batch_size_sum"
    )
    assert texts_run == n
    assert 1 <= calls < n


def wait_for_queue_depth(c: TestClient, depth: int) -> None:
    deadline = time.monotonic() + 30
    while sample(metric_samples(c), "sentiment_queue_depth") != depth:
        assert time.monotonic() < deadline, f"queue never reached depth {depth}"
        time.sleep(0.01)


def test_default_settings_requests_arriving_during_a_model_call_form_one_batch() -> None:
    """No delay window (default): an idle worker runs at once, later arrivals batch up."""
    c, runner = controlled_app()
    try:
        runner.gate.clear()
        n = 16
        with ThreadPoolExecutor(max_workers=n + 1) as pool:
            first = pool.submit(c.post, "/predict", json={"text": "first"})
            assert runner.entered.wait(30)
            rest = [pool.submit(c.post, "/predict", json={"text": f"r {i}"}) for i in range(n)]
            wait_for_queue_depth(c, n)
            runner.gate.set()
            assert first.result(30).status_code == 200
            assert all(f.result(30).status_code == 200 for f in rest)
        assert runner.calls == 2  # [first], then all 16 together
    finally:
        runner.gate.set()
        c.__exit__(None, None, None)


def test_api_key_required_on_predict_routes_only() -> None:
    with TestClient(create_app(Settings(api_key=SecretStr("s3cret")))) as c:
        for route in ("/predict", "/predict/probability", "/predict/label"):
            missing = c.post(route, json={"text": "great"})
            assert missing.status_code == 401
            assert missing.json()["code"] == "unauthorized"
            assert missing.headers["www-authenticate"] == "Bearer"
            wrong = c.post(route, json={"text": "great"}, headers={"Authorization": "Bearer nope"})
            assert wrong.status_code == 401
            basic = c.post(route, json={"text": "great"}, headers={"Authorization": "Basic s3cret"})
            assert basic.status_code == 401
            ok = c.post(route, json={"text": "great"}, headers={"Authorization": "Bearer s3cret"})
            assert ok.status_code == 200
        for route in ("/healthz", "/readyz", "/metrics"):
            assert c.get(route).status_code == 200
        samples = metric_samples(c)
        assert sample(samples, "sentiment_rejected_total", reason="unauthorized") == 9


def test_queue_full_is_503_with_retry_after_at_once() -> None:
    c, runner = controlled_app(max_batch_size=1, max_queue_size=2, max_texts_per_request=2)
    try:
        runner.gate.clear()
        with ThreadPoolExecutor(max_workers=3) as pool:
            running = pool.submit(c.post, "/predict", json={"text": "first"})
            assert runner.entered.wait(30)  # "first" is inside the model call
            queued = pool.submit(c.post, "/predict", json={"texts": ["second", "third"]})
            wait_for_queue_depth(c, 2)  # both texts of the second request wait
            refused = c.post("/predict", json={"text": "fourth"})
            assert refused.status_code == 503
            assert refused.headers["retry-after"] == "1"
            assert refused.json()["code"] == "queue_full"
            runner.gate.set()
            assert running.result(30).status_code == 200
            assert queued.result(30).status_code == 200
        assert sample(metric_samples(c), "sentiment_rejected_total", reason="queue_full") == 1
    finally:
        runner.gate.set()
        c.__exit__(None, None, None)


def test_request_timeout_is_504_and_worker_survives() -> None:
    c, runner = controlled_app(request_timeout_s=0.2)
    try:
        runner.delay_s = 1.0
        response = c.post("/predict", json={"text": "slow"})
        assert response.status_code == 504
        assert response.json()["code"] == "timeout"
        runner.delay_s = 0.0
        deadline = time.monotonic() + 30
        while runner.calls < 1 and time.monotonic() < deadline:  # the slow batch still finishes
            time.sleep(0.05)
        assert runner.calls == 1
        assert c.post("/predict", json={"text": "fast again"}).status_code == 200
        assert sample(metric_samples(c), "sentiment_rejected_total", reason="timeout") == 1
    finally:
        c.__exit__(None, None, None)


def test_model_failure_is_a_json_500_and_service_recovers() -> None:
    c, runner = controlled_app()
    try:
        runner.fail = True
        response = c.post("/predict", json={"texts": ["a", "b"]})
        assert response.status_code == 500
        assert response.json()["code"] == "inference_failed"
        runner.fail = False
        assert c.post("/predict", json={"text": "fine"}).status_code == 200
    finally:
        c.__exit__(None, None, None)


def test_draining_flips_readiness_but_still_serves_accepted_work() -> None:
    with TestClient(create_app(Settings())) as c:
        runtime = c.app.state.runtime  # type: ignore[attr-defined]
        assert c.get("/readyz").status_code == 200
        runtime.begin_drain()
        response = c.get("/readyz")
        assert response.status_code == 503
        assert response.json()["code"] == "draining"
        assert "retry-after" in response.headers
        assert c.get("/healthz").status_code == 200
        assert c.post("/predict", json={"text": "still served"}).status_code == 200
