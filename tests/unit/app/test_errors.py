"""app.errors: each failure becomes a bounded ErrorBody with the table's status, code and metric.

The handlers are called directly with a minimal request (``app.state.runtime`` holding real
``ServiceMetrics``); the wire behaviour of the same handlers is in tests/api.
"""

from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse

from app import errors
from app.metrics import ServiceMetrics
from app.rejections import REJECTIONS
from app.service import InferenceFailed, RequestTimedOut, ServiceUnavailable


@pytest.fixture
def metrics() -> ServiceMetrics:
    return ServiceMetrics()


def request(metrics: ServiceMetrics, content_type: str = "application/json") -> Request:
    runtime = SimpleNamespace(metrics=metrics, settings=SimpleNamespace(retry_after_s=3))
    app = SimpleNamespace(state=SimpleNamespace(runtime=runtime))
    headers = [(b"content-type", content_type.encode())]
    return Request({"type": "http", "app": app, "path": "/predict", "headers": headers})


def body(response: JSONResponse) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(bytes(response.body))
    return data


def rejected(metrics: ServiceMetrics, reason: str) -> float:
    got = metrics.registry.get_sample_value("sentiment_rejected_total", {"reason": reason})
    return 0.0 if got is None else got


def test_reject_answers_and_counts_from_the_table(metrics: ServiceMetrics) -> None:
    for reason, rejection in REJECTIONS.items():
        response = errors.reject(metrics, reason, "because")
        assert response.status_code == rejection.status
        assert body(response) == {"detail": "because", "code": rejection.code}
        assert rejected(metrics, reason) == 1


def test_validation_errors_are_bounded_and_never_echo_input(metrics: ServiceMetrics) -> None:
    secret = "my private review"
    raw = [
        {"loc": ("body", "texts", i), "msg": "x" * 1000, "type": "string_too_long", "input": secret}
        for i in range(500)
    ] + [{"loc": ("body", secret, "a", "b", "c", "d"), "msg": "bad", "type": "extra_forbidden"}]
    response = errors.validation_response(metrics, "application/json", raw)
    data = body(response)
    assert response.status_code == 422 and data["code"] == "validation_error"
    assert len(data["errors"]) == errors.MAX_ERRORS
    assert data["detail"].endswith(f"; and {501 - errors.MAX_ERRORS} more")
    assert all(len(e["msg"]) == errors.MAX_MSG_CHARS for e in data["errors"])
    assert data["errors"][0] == {
        "loc": ["body", "texts", "0"],
        "msg": "x" * errors.MAX_MSG_CHARS,
        "type": "string_too_long",
    }
    assert secret not in bytes(response.body).decode()
    # ~0.5 MB of errors in, a few kB out: detail and errors each list at most MAX_ERRORS messages
    assert len(bytes(response.body)) < 2 * errors.MAX_ERRORS * (errors.MAX_MSG_CHARS + 60)
    assert rejected(metrics, "validation") == 1


def test_unknown_keys_in_a_location_are_masked() -> None:
    loc = ("body", "text", 3, "sent key", "x", "y")
    cleaned, total = errors._clean_errors([{"loc": loc, "msg": "m", "type": "t"}])
    assert cleaned[0]["loc"] == ["body", "text", "3", "*"]  # at most MAX_LOC_PARTS parts
    assert total == 1


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", ""])
def test_a_body_not_sent_as_json_is_415(metrics: ServiceMetrics, content_type: str) -> None:
    raw = [{"loc": ("body",), "msg": "Input should be a valid dictionary", "type": "model_type"}]
    response = errors.validation_response(metrics, content_type, raw)
    assert response.status_code == 415 and body(response)["code"] == "unsupported_media_type"
    assert rejected(metrics, "unsupported_media_type") == 1


def test_invalid_json_is_400(metrics: ServiceMetrics) -> None:
    raw = [{"loc": ("body", 7), "msg": "JSON decode error", "type": "json_invalid"}]
    response = errors.validation_response(metrics, "application/json", raw)
    assert response.status_code == 400 and body(response)["code"] == "invalid_json"
    assert body(response)["errors"] == [
        {"loc": ["body", "7"], "msg": "JSON decode error", "type": "json_invalid"}
    ]


def test_prescreen_refuses_large_invalid_bodies_in_one_error(metrics: ServiceMetrics) -> None:
    hostile = json.dumps({"texts": [""] * 200_000}).encode()
    response = errors.prescreen_response(metrics, hostile)
    assert response is not None and response.status_code == 422
    assert len(body(response)["errors"]) == 1  # list length is checked before the items
    assert body(response)["errors"][0]["loc"] == ["body", "texts"]


@pytest.mark.parametrize(
    "raw", [b'{"texts": ["fine"]}', b"{not json", b'{"text": "x"', b"\xff\xfe"]
)
def test_prescreen_serves_valid_or_unparsable_bodies(metrics: ServiceMetrics, raw: bytes) -> None:
    # Valid requests go on; what pydantic cannot parse is left to FastAPI's own parser.
    assert errors.prescreen_response(metrics, raw) is None


@pytest.mark.parametrize(
    ("cause", "message"),
    [
        (UnicodeDecodeError("utf-8", b"\xff", 0, 1, "bad"), "body is not valid UTF-8"),
        (RecursionError(), "JSON nested too deeply"),
        (ValueError("Exceeds the limit (4300 digits)"), "a value cannot be decoded"),
        (KeyError("x"), "unreadable"),
    ],
)
def test_unparsable_body_is_400_with_the_cause(
    metrics: ServiceMetrics, cause: Exception, message: str
) -> None:
    exc = HTTPException(400, "There was an error parsing the body")
    exc.__cause__ = cause
    response = asyncio.run(errors.http_exception_handler(request(metrics), exc))
    data = body(response)
    assert response.status_code == 400 and data["code"] == "invalid_json"
    assert data["errors"][0]["msg"].startswith(message)
    assert rejected(metrics, "invalid_json") == 1


def test_client_gone_mid_body_is_499_and_not_counted_twice(metrics: ServiceMetrics) -> None:
    exc = HTTPException(400, "There was an error parsing the body")
    exc.__cause__ = ClientDisconnect()
    response = asyncio.run(errors.http_exception_handler(request(metrics), exc))
    assert response.status_code == 499 and body(response)["code"] == "client_closed"
    assert rejected(metrics, "client_closed") == 0  # the middleware counts every 499


def test_routing_errors_keep_their_status_and_headers(metrics: ServiceMetrics) -> None:
    exc = HTTPException(405, "Method Not Allowed", headers={"Allow": "POST"})
    response = asyncio.run(errors.http_exception_handler(request(metrics), exc))
    assert response.status_code == 405 and response.headers["allow"] == "POST"
    assert body(response) == {"detail": "Method Not Allowed", "code": "method_not_allowed"}


@pytest.mark.parametrize("reason", ["queue_full", "not_ready", "shutting_down"])
def test_unavailable_is_503_with_retry_after(metrics: ServiceMetrics, reason: str) -> None:
    exc = ServiceUnavailable(reason, "try later")
    response = asyncio.run(errors.unavailable_handler(request(metrics), exc))
    assert response.status_code == 503 and response.headers["retry-after"] == "3"
    assert body(response) == {"detail": "try later", "code": reason}
    assert rejected(metrics, reason) == 1


def test_timeout_is_504(metrics: ServiceMetrics) -> None:
    response = asyncio.run(errors.timeout_handler(request(metrics), RequestTimedOut()))
    assert response.status_code == 504 and body(response)["detail"] == "request timed out"
    assert rejected(metrics, "timeout") == 1


def test_server_faults_are_500_without_details(
    metrics: ServiceMetrics, caplog: pytest.LogCaptureFixture
) -> None:
    failed = InferenceFailed("model blew up: secret")
    failed.__cause__ = RuntimeError("OOM")
    first = asyncio.run(errors.inference_failed_handler(request(metrics), failed))
    second = asyncio.run(errors.unhandled_handler(request(metrics), KeyError("secret")))
    assert body(first) == {"detail": "inference failed", "code": "inference_failed"}
    assert body(second) == {"detail": "internal server error", "code": "internal_error"}
    assert first.status_code == second.status_code == 500
    assert "OOM" in caplog.text  # logged for the operator, not sent to the client
    assert (
        metrics.registry.get_sample_value("sentiment_rejected_total", {"reason": "timeout"}) is None
    )


def test_validation_handler_uses_the_request_content_type(metrics: ServiceMetrics) -> None:
    exc = RequestValidationError([{"loc": ("body",), "msg": "m", "type": "model_type"}])
    response = asyncio.run(errors.validation_handler(request(metrics, "text/plain"), exc))
    assert response.status_code == 415
