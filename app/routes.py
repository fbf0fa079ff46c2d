"""HTTP routes. Thin: validate, delegate to the runtime, shape the response."""

from __future__ import annotations

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
    LabelOnly,
    LabelResponse,
    ModelInfo,
    PredictBatchResponse,
    Prediction,
    PredictRequest,
    PredictResponse,
    ProbabilityBatchResponse,
    ProbabilityOnly,
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


async def require_api_key(runtime: RuntimeDep, credentials: Credentials) -> None:
    """401 unless API_KEY is unset or ``Authorization: Bearer <API_KEY>`` matches."""
    key = runtime.settings.api_key
    if key is None:
        return
    given = credentials.credentials if credentials else ""
    if not secrets.compare_digest(given.encode(), key.get_secret_value().encode()):
        raise HTTPException(
            status_code=401,
            detail="missing or invalid API key (Authorization: Bearer <key>)",
            headers={"WWW-Authenticate": "Bearer"},
        )


async def checked_request(body: PredictRequest, runtime: RuntimeDep) -> PredictRequest:
    """Apply the deployment limits (MAX_TEXTS_PER_REQUEST, MAX_TEXT_CHARS) in the 422 format."""
    s = runtime.settings
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


Body = Annotated[PredictRequest, Depends(checked_request)]
predict_router = APIRouter(
    prefix="/predict",
    tags=["predict"],
    dependencies=[Depends(require_api_key)],
    responses=ERROR_RESPONSES,
)


@predict_router.post("", response_model=PredictResponse | PredictBatchResponse)
async def predict(body: Body, runtime: RuntimeDep) -> PredictResponse | PredictBatchResponse:
    """Label and P(positive) for one review (``text``) or several (``texts``, input order)."""
    scored = await runtime.score(body.items)
    v = runtime.version
    if body.is_batch:
        preds = [Prediction(label=s.label, probability=s.probability) for s in scored]
        return PredictBatchResponse(predictions=preds, model_version=v)
    return PredictResponse(
        label=scored[0].label, probability=scored[0].probability, model_version=v
    )


@predict_router.post("/probability", response_model=ProbabilityResponse | ProbabilityBatchResponse)
async def predict_probability(
    body: Body, runtime: RuntimeDep
) -> ProbabilityResponse | ProbabilityBatchResponse:
    """Only P(positive)."""
    scored = await runtime.score(body.items)
    v = runtime.version
    if body.is_batch:
        preds = [ProbabilityOnly(probability=s.probability) for s in scored]
        return ProbabilityBatchResponse(predictions=preds, model_version=v)
    return ProbabilityResponse(probability=scored[0].probability, model_version=v)


@predict_router.post("/label", response_model=LabelResponse | LabelBatchResponse)
async def predict_label(body: Body, runtime: RuntimeDep) -> LabelResponse | LabelBatchResponse:
    """Only the label (P(positive) >= THRESHOLD -> positive)."""
    scored = await runtime.score(body.items)
    v = runtime.version
    if body.is_batch:
        return LabelBatchResponse(
            predictions=[LabelOnly(label=s.label) for s in scored], model_version=v
        )
    return LabelResponse(label=scored[0].label, model_version=v)


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
        test_accuracy=artifact.test_accuracy,
        tokenizer_fingerprint=str(artifact.preprocessing.get("fingerprint", "")),
        max_batch_size=s.max_batch_size,
        max_batch_delay_ms=s.max_batch_delay_ms,
    )
