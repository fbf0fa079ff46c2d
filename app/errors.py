"""Error mapping: every client mistake becomes a clear 4xx JSON ``ErrorBody``, never a 500.

Codes: 400 malformed JSON, 415 body not sent as application/json, 401 missing/wrong API key, 404/405 routing, 413 body too large,
422 schema/limit violations, 503 (+ Retry-After) overloaded/not ready/shutting down,
504 request timeout, 500 only for genuine server faults.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError
from pydantic_core import from_json
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from app.explain.schemas import ExplainRequest
from app.httputil import is_json_media_type
from app.metrics import ServiceMetrics
from app.rejections import REJECTIONS, code_for
from app.schemas import ErrorBody, PredictRequest
from app.service import InferenceFailed, RequestTimedOut, Runtime, ServiceUnavailable
from app.unreadable import UnreadableText
from app.version_failures import VersionNotLoaded

logger = logging.getLogger(__name__)
V2_PREFIX = "/v2/"  # app.v2: errors are {"error": "..."} there


def error_response(
    status: int,
    detail: str,
    code: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = ErrorBody(detail=detail, code=code or code_for(status), errors=errors)
    return JSONResponse(body.model_dump(exclude_none=True), status_code=status, headers=headers)


def reject(
    metrics: ServiceMetrics,
    reason: str,
    detail: str,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """Count the refusal and answer it, both from the one table (``app.rejections``)."""
    rejection = REJECTIONS[reason]
    metrics.count_rejected(reason)
    return error_response(rejection.status, detail, rejection.code, errors, headers)


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


# Bounds on every error answer: a body of 500k bad items once produced a 73 MB 422 (issue 9).
MAX_ERRORS = 10  # errors listed per response; the detail says how many more there were
MAX_MSG_CHARS = 160
MAX_LOC_PARTS = 4
# Location parts that may appear verbatim: our own field names (never a key the client sent).
_KNOWN_LOC = (
    frozenset(PredictRequest.model_fields) | frozenset(ExplainRequest.model_fields) | {"body"}
)


def _loc(parts: Any) -> list[str]:
    return [
        str(p) if isinstance(p, int) or p in _KNOWN_LOC else "*"
        for p in tuple(parts)[:MAX_LOC_PARTS]
    ]


def _clean_errors(errors: Any) -> tuple[list[dict[str, Any]], int]:
    """Location, message and type only: never echo the (private) review text or unknown keys.

    Returns the first ``MAX_ERRORS`` errors and how many there were in all.
    """
    errors = list(errors)
    cleaned = [
        {
            "loc": _loc(e.get("loc", ())),
            "msg": str(e.get("msg"))[:MAX_MSG_CHARS],
            "type": str(e.get("type"))[:MAX_MSG_CHARS],
        }
        for e in errors[:MAX_ERRORS]
    ]
    return cleaned, len(errors)


def validation_response(
    metrics: ServiceMetrics, content_type: str, raw_errors: Any
) -> JSONResponse:
    """The 415/400/422 answer for a body that failed parsing or validation (bounded size)."""
    errors, total = _clean_errors(raw_errors)
    if not is_json_media_type(content_type) and any(e["loc"] == ["body"] for e in errors):
        # FastAPI does not parse non-JSON bodies; say so instead of "should be a dictionary".
        detail = "send a JSON body with 'Content-Type: application/json'"
        return reject(metrics, "unsupported_media_type", detail)
    if any(e["type"] == "json_invalid" for e in errors):
        return reject(metrics, "invalid_json", "request body is not valid JSON", errors)
    summary = "; ".join(f"{'.'.join(e['loc'][1:]) or 'body'}: {e['msg']}" for e in errors)
    if total > len(errors):
        summary += f"; and {total - len(errors)} more"
    return reject(metrics, "validation", f"invalid request: {summary}", errors)


async def validation_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    content_type = request.headers.get("content-type", "")
    return validation_response(_runtime(request).metrics, content_type, exc.errors())


def prescreen_response(
    metrics: ServiceMetrics, body: bytes, schema: type[BaseModel] = PredictRequest
) -> JSONResponse | None:
    """The 422 for a large JSON body that cannot be a valid request, else None (serve it).

    The stdlib parse FastAPI does costs ~25 ms per MB of small values before validation even
    starts; pydantic's Rust parser builds the same objects in ~9 ms, and validation then fails
    in O(1) (list length and unknown keys are checked before any item). Bodies it cannot parse
    are left to FastAPI, so there is one JSON dialect (the stdlib's) for what is well-formed.
    """
    try:
        data = from_json(body)
    except ValueError:
        return None
    try:
        schema.model_validate(data)  # the route's own request model
    except ValidationError as exc:
        raw = exc.errors(include_url=False, include_input=False, include_context=False)
        located = [{**e, "loc": ("body", *e["loc"])} for e in raw]
        return validation_response(metrics, "application/json", located)
    return None


# Why the stdlib parser refused a body FastAPI then turns into a bare 400 (checked in order:
# UnicodeDecodeError is a ValueError too).
_PARSE_FAILURES: tuple[tuple[type[BaseException], str], ...] = (
    (UnicodeDecodeError, "body is not valid UTF-8"),
    (RecursionError, "JSON nested too deeply"),
    (ValueError, "a value cannot be decoded (e.g. an integer with over 4300 digits)"),
)


def _body_unreadable(metrics: ServiceMetrics, cause: BaseException) -> JSONResponse:
    if isinstance(cause, ClientDisconnect):
        # The client left mid-upload: nobody will read this. The middleware counts every 499.
        # Not counted here: the middleware counts every 499 it sends or sees.
        closed = REJECTIONS["client_closed"]
        return error_response(closed.status, "client closed the request", closed.code)
    reason = next((msg for kind, msg in _PARSE_FAILURES if isinstance(cause, kind)), "unreadable")
    errors: list[dict[str, Any]] = [{"loc": ["body"], "msg": reason, "type": "json_invalid"}]
    return reject(metrics, "invalid_json", "request body is not valid JSON", errors)


async def http_exception_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400 and exc.__cause__ is not None:
        # FastAPI's "There was an error parsing the body": same shape and metric as bad JSON.
        return _body_unreadable(_runtime(request).metrics, exc.__cause__)
    headers = dict(exc.headers) if exc.headers else None
    if request.url.path.startswith(V2_PREFIX):  # the Open Inference Protocol's error shape
        body = {"error": str(exc.detail)}
        return JSONResponse(body, status_code=exc.status_code, headers=headers)
    return error_response(exc.status_code, str(exc.detail), headers=headers)


async def unavailable_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ServiceUnavailable)
    runtime = _runtime(request)
    retry_after = str(runtime.settings.retry_after_s)
    return reject(runtime.metrics, exc.reason, exc.detail, headers={"Retry-After": retry_after})


async def version_not_loaded_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, VersionNotLoaded)
    return reject(_runtime(request).metrics, "model_version_not_loaded", str(exc))


async def timeout_handler(request: Request, exc: Exception) -> JSONResponse:
    return reject(_runtime(request).metrics, "timeout", str(exc) or "request timed out")


async def unreadable_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, UnreadableText)
    return reject(_runtime(request).metrics, "unreadable", str(exc), exc.errors())


async def inference_failed_handler(request: Request, exc: Exception) -> JSONResponse:
    logger.error("inference failed path=%s cause=%r", request.url.path, exc.__cause__)
    return error_response(500, "inference failed", code="inference_failed")


async def unhandled_handler(request: Request, exc: Exception) -> JSONResponse:
    logger.exception("unhandled error path=%s", request.url.path)
    return error_response(500, "internal server error")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, validation_handler)
    app.add_exception_handler(StarletteHTTPException, http_exception_handler)
    app.add_exception_handler(ServiceUnavailable, unavailable_handler)
    app.add_exception_handler(RequestTimedOut, timeout_handler)
    app.add_exception_handler(VersionNotLoaded, version_not_loaded_handler)
    app.add_exception_handler(InferenceFailed, inference_failed_handler)
    app.add_exception_handler(UnreadableText, unreadable_handler)
    app.add_exception_handler(Exception, unhandled_handler)


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "Body is not valid JSON."},
    401: {"model": ErrorBody, "description": "Missing or wrong API key (when API_KEY is set)."},
    404: {"model": ErrorBody, "description": "The pinned model_version is not loaded."},
    413: {"model": ErrorBody, "description": "Body larger than MAX_BODY_BYTES."},
    415: {"model": ErrorBody, "description": "Body is not sent as application/json."},
    422: {
        "model": ErrorBody,
        "description": (
            "Wrong shape, types, empty text or over a limit; 'unreadable_text': the model "
            "cannot read the text and on_unreadable is 'refuse'."
        ),
    },
    500: {"model": ErrorBody, "description": "Server fault (never caused by client input)."},
    503: {
        "model": ErrorBody,
        "description": "Queue full, not ready or shutting down (Retry-After).",
    },
    504: {"model": ErrorBody, "description": "Not answered within REQUEST_TIMEOUT_S."},
}
