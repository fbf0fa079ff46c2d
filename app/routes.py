"""HTTP routes. Thin: validate, delegate to the runtime, shape the response."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel

from app import watchdog
from app.deps import RuntimeDep, runtime_of
from app.errors import ERROR_RESPONSES, error_response
from app.metrics import CONTENT_TYPE
from app.schemas import (
    BatchResponse,
    ErrorBody,
    Health,
    LabelOnly,
    LabelResponse,
    ModelInfo,
    ModelsResponse,
    Prediction,
    PredictRequest,
    PredictResponse,
    ProbabilityOnly,
    ProbabilityResponse,
)
from app.unreadable import UnreadableText, refused


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


predict_router = APIRouter(prefix="/predict", tags=["predict"], responses=ERROR_RESPONSES)
JSON = "application/json"


def _add_predict_route(path: str, item: type[BaseModel], single: type[BaseModel], doc: str) -> None:
    """One handler for the three projections of a prediction (see app/schemas.py).

    The response *is* the pydantic model, serialised by pydantic-core straight to bytes; built
    with ``model_construct`` (the values come from the runtime, already valid), which skips the
    validate-then-dump round trip FastAPI's ``response_model`` path would make.
    """
    fields = tuple(item.model_fields)
    batch = BatchResponse[item]  # type: ignore[valid-type]
    construct_item, construct_single = item.model_construct, single.model_construct
    to_json_single = single.__pydantic_serializer__.to_json
    to_json_batch = batch.__pydantic_serializer__.to_json

    async def handler(body: PredictRequest, request: Request) -> Response:
        runtime = runtime_of(request)
        items = checked_request(body, request).items
        version, scored = await runtime.score(items, body.scoring, body.model_version)
        refuse = (body.on_unreadable or runtime.settings.on_unreadable) == "refuse"
        if body.is_batch:
            preds = [
                refused(s) if refuse and not s.readable
                else construct_item(**{f: getattr(s, f) for f in fields})
                for s in scored
            ]  # fmt: skip
            out = batch.model_construct(predictions=preds, model_version=version)
            return Response(to_json_batch(out), media_type=JSON)
        first = scored[0]
        if refuse and not first.readable:
            raise UnreadableText(first)
        one = construct_single(model_version=version, **{f: getattr(first, f) for f in fields})
        return Response(to_json_single(one), media_type=JSON)

    handler.__name__ = f"predict{path.replace('/', '_')}"
    predict_router.add_api_route(
        path, handler, methods=["POST"], response_model=single | batch, description=doc
    )


_add_predict_route(
    "",
    Prediction,
    PredictResponse,
    "Label and calibrated P(positive) for one review (`text`) or several (`texts`, input order).",
)
_add_predict_route("/probability", ProbabilityOnly, ProbabilityResponse, "Only P(positive).")
_add_predict_route(
    "/label", LabelOnly, LabelResponse, "Only the label (P(positive) >= THRESHOLD -> positive)."
)


ops_router = APIRouter(tags=["ops"])
METRICS_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {CONTENT_TYPE: {}}, "description": "Prometheus text format."}
}
UNAVAILABLE: dict[int | str, dict[str, Any]] = {
    503: {"model": ErrorBody, "description": "Not ready (starting or draining)."}
}


@ops_router.get("/healthz", response_model=Health, responses=UNAVAILABLE)
async def healthz(runtime: RuntimeDep) -> Any:
    """Liveness: the process is up and serving HTTP, and no model call has been running for longer
    than ``WEDGED_EXIT_S`` (503 ``wedged``: restart the process)."""
    if watchdog.alive(runtime):
        return Health(status="ok")
    return error_response(503, "not alive: a model call is wedged", code="wedged")


@ops_router.get("/readyz", response_model=Health, responses=UNAVAILABLE)
async def readyz(runtime: RuntimeDep) -> Any:
    """Readiness: 200 while the default model version is loaded and warmed up; 503 while
    starting or draining."""
    if runtime.ready:
        return Health(status="ready")
    default = runtime.models.default
    wedged = default is not None and default.state == "ready" and not runtime.draining
    state = "draining" if runtime.draining else "wedged" if wedged else "starting"
    retry_after = {"Retry-After": str(runtime.settings.retry_after_s)}
    return error_response(503, f"not ready: {state}", code=state, headers=retry_after)


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
    return ModelInfo(**runtime.model_info())


@ops_router.get("/models", response_model=ModelsResponse)
async def models(runtime: RuntimeDep) -> ModelsResponse:
    """Every model version known: loaded, loading, draining or failed, and which is the default."""
    default = runtime.models.default
    versions, unlisted = runtime.models.describe()
    return ModelsResponse.model_validate(
        {
            "default_version": default.version if default else None,
            "policy": str(runtime.models.policy),
            "poll_s": runtime.settings.model_poll_s,
            "versions": versions,
            "failed_not_listed": unlisted,
        }
    )
