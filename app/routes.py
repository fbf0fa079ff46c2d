"""HTTP routes. Thin: validate, delegate to the runtime, shape the response."""

from __future__ import annotations

import json
import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.errors import ERROR_RESPONSES, error_response
from app.metrics import CONTENT_TYPE
from app.schemas import (
    ErrorBody,
    Health,
    LabelBatchResponse,
    LabelResponse,
    ModelInfo,
    PredictBatchResponse,
    PredictRequest,
    PredictResponse,
    ProbabilityBatchResponse,
    ProbabilityResponse,
)
from app.service import Runtime, ServiceUnavailable

_bearer = HTTPBearer(auto_error=False, description="Required only when API_KEY is set.")


# The dependencies below are ``async def`` on purpose: FastAPI runs a plain ``def`` dependency in
# the thread pool, i.e. three thread hand-offs per request for code that never blocks
# (py-spy under load: ~18 % of the event loop's time was spent in run_in_threadpool).
async def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


# The predict routes read the runtime from ``request.app.state`` instead of depending on
# ``get_runtime``: FastAPI re-solves every dependency node per request (~15 % of the event loop's
# time under load went to solve_dependencies); 7 nodes per predict call are now 4.
async def require_api_key(request: Request, credentials: Credentials) -> None:
    """401 unless API_KEY is unset or ``Authorization: Bearer <API_KEY>`` matches."""
    key = request.app.state.runtime.settings.api_key
    if key is None:
        return
    given = credentials.credentials if credentials else ""
    if not secrets.compare_digest(given.encode(), key.get_secret_value().encode()):
        raise HTTPException(
            status_code=401,
            detail="missing or invalid API key (Authorization: Bearer <key>)",
            headers={"WWW-Authenticate": "Bearer"},
        )


def checked_request(body: PredictRequest, request: Request) -> PredictRequest:
    """Apply the deployment limits (MAX_TEXTS_PER_REQUEST, MAX_TEXT_CHARS) in the 422 format.

    Called by each predict route on its validated body rather than declared as a dependency:
    one dependency node less for FastAPI to solve per request, same errors in the same order.
    """
    s = request.app.state.runtime.settings
    errors: list[dict[str, Any]] = []
    if body.texts is not None and len(body.texts) > s.max_texts_per_request:
        errors.append(
            {
                "type": "too_long",
                "loc": ("body", "texts"),
                "msg": f"at most {s.max_texts_per_request} texts per request",
                "input": None,
            }
        )
    for i, text in enumerate(body.items):
        if len(text) > s.max_text_chars:
            loc = ("body", "texts", i) if body.is_batch else ("body", "text")
            errors.append(
                {
                    "type": "string_too_long",
                    "loc": loc,
                    "msg": f"text longer than {s.max_text_chars} characters",
                    "input": None,
                }
            )
    if errors:
        raise RequestValidationError(errors)
    return body


def _json(payload: dict[str, Any]) -> Response:
    """Encode once with the C json encoder and return the bytes as they are.

    A returned ``Response`` skips FastAPI's response-model validation and serialisation (a
    pydantic model built, then validated and dumped again: ~5 % of the event loop under load).
    The ``response_model`` in each decorator still documents the shape in OpenAPI.
    """
    return Response(_encode(payload).encode(), media_type="application/json")


_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode
# ``create_app`` attaches ``AUTH_DEPENDENCIES`` when API_KEY is set: without a key, no per-request
# dependency is solved at all (two nodes fewer for FastAPI on the hot path).
AUTH_DEPENDENCIES = [Depends(require_api_key)]
predict_router = APIRouter(prefix="/predict", tags=["predict"], responses=ERROR_RESPONSES)


@predict_router.post("", response_model=PredictResponse | PredictBatchResponse)
async def predict(body: PredictRequest, request: Request) -> Response:
    """Label and P(positive) for one review (``text``) or several (``texts``, input order)."""
    runtime: Runtime = request.app.state.runtime
    scored = await runtime.score(checked_request(body, request).items, body.scoring)
    v = runtime.version
    if body.is_batch:
        preds = [
            {"label": s.label, "probability": s.probability, "windows": s.windows} for s in scored
        ]
        return _json({"predictions": preds, "model_version": v})
    s = scored[0]
    return _json(
        {"label": s.label, "probability": s.probability, "windows": s.windows, "model_version": v}
    )


@predict_router.post("/probability", response_model=ProbabilityResponse | ProbabilityBatchResponse)
async def predict_probability(body: PredictRequest, request: Request) -> Response:
    """Only P(positive)."""
    runtime: Runtime = request.app.state.runtime
    scored = await runtime.score(checked_request(body, request).items, body.scoring)
    v = runtime.version
    if body.is_batch:
        preds = [{"probability": s.probability, "windows": s.windows} for s in scored]
        return _json({"predictions": preds, "model_version": v})
    s = scored[0]
    return _json({"probability": s.probability, "windows": s.windows, "model_version": v})


@predict_router.post("/label", response_model=LabelResponse | LabelBatchResponse)
async def predict_label(body: PredictRequest, request: Request) -> Response:
    """Only the label (P(positive) >= THRESHOLD -> positive)."""
    runtime: Runtime = request.app.state.runtime
    scored = await runtime.score(checked_request(body, request).items, body.scoring)
    v = runtime.version
    if body.is_batch:
        preds = [{"label": s.label, "windows": s.windows} for s in scored]
        return _json({"predictions": preds, "model_version": v})
    s = scored[0]
    return _json({"label": s.label, "windows": s.windows, "model_version": v})


ops_router = APIRouter(tags=["ops"])
METRICS_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {CONTENT_TYPE: {}}, "description": "Prometheus text format."}
}
UNAVAILABLE: dict[int | str, dict[str, Any]] = {
    503: {"model": ErrorBody, "description": "Not ready (starting or draining)."}
}


@ops_router.get("/healthz", response_model=Health)
async def healthz() -> Health:
    """Liveness: the process is up and serving HTTP."""
    return Health(status="ok")


@ops_router.get("/readyz", response_model=Health, responses=UNAVAILABLE)
async def readyz(runtime: RuntimeDep) -> Any:
    """Readiness: 200 once the model is loaded and warmed up; 503 while starting or draining."""
    if runtime.ready:
        return Health(status="ready")
    state = "draining" if runtime.draining else "starting"
    return error_response(503, f"not ready: {state}", code=state, headers={"Retry-After": "1"})


@ops_router.get(
    "/metrics",
    response_class=Response,
    responses=METRICS_RESPONSES,
)
async def metrics(runtime: RuntimeDep) -> Response:
    """Prometheus metrics (text exposition format)."""
    return Response(runtime.metrics.render(), media_type=CONTENT_TYPE)


@ops_router.get("/model", response_model=ModelInfo, responses=UNAVAILABLE)
async def model_info(runtime: RuntimeDep) -> ModelInfo:
    """Which model is served, and how."""
    artifact, runner, s = runtime.artifact, runtime.runner, runtime.settings
    if artifact is None or runner is None:
        raise ServiceUnavailable("not_ready", "model is not loaded yet")
    return ModelInfo(
        version=str(artifact.version),
        maxlen=artifact.tokenizer.config.maxlen,
        vocabulary_size=artifact.tokenizer.vocabulary_size,
        threshold=s.threshold,
        device=runner.device,
        xla=runner.xla,
        test_accuracy=artifact.test_accuracy,
        tokenizer_fingerprint=str(artifact.preprocessing.get("fingerprint", "")),
        max_batch_size=s.max_batch_size,
        max_batch_delay_ms=s.max_batch_delay_ms,
        default_scoring=runtime.default_mode,
        window_stride=artifact.scoring.stride,
        max_windows=artifact.scoring.max_windows,
        calibrated=bool(artifact.scoring.platt),
    )
