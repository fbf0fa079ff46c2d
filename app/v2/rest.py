"""V2 REST on the service's HTTP port: health, metadata and ``POST /v2/models/<name>/infer``.

Errors are the protocol's ``{"error": "<message>"}`` with the status of ``app.v2.core.V2Error``.
The infer route reads the body itself (no FastAPI body model), so the API key is checked before a
byte of it is parsed, and so Triton's binary tensor data extension is understood: with an
``Inference-Header-Content-Length`` header the body is that many bytes of JSON, then the raw
tensors each input's ``binary_data_size`` parameter says.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request, Response
from pydantic import BaseModel, Field, StrictInt, StrictStr, ValidationError
from pydantic_core import to_json
from starlette.routing import BaseRoute, Mount, Route

from app.deps import runtime_of
from app.service import Runtime
from app.v2 import core
from app.v2.metrics import V2Metrics
from app.v2.tensors import TensorError, check_input, decode_raw_bytes, texts_from

HEADER_LENGTH = "inference-header-content-length"
JSON, BINARY = "application/json", "application/octet-stream"


class InputTensor(BaseModel):
    name: StrictStr
    shape: list[StrictInt] = Field(max_length=8)
    datatype: StrictStr
    parameters: dict[str, Any] | None = None
    data: list[Any] | None = None


class RequestedOutput(BaseModel):
    name: StrictStr
    parameters: dict[str, Any] | None = None


class InferRequest(BaseModel):
    id: StrictStr | None = None
    parameters: dict[str, Any] | None = None
    inputs: list[InputTensor] = Field(max_length=8)
    outputs: list[RequestedOutput] | None = Field(default=None, max_length=32)


def error(status: int, message: str) -> Response:
    return Response(to_json({"error": message}), status_code=status, media_type=JSON)


def json_response(body: dict[str, Any], status: int = 200) -> Response:
    return Response(to_json(body), status_code=status, media_type=JSON)


async def answer(
    request: Request, endpoint: str, work: Callable[[Runtime], Awaitable[Response]]
) -> Response:
    """Run ``work``; a ``V2Error`` becomes its ``{"error"}`` answer; count both by protocol."""
    runtime = runtime_of(request)
    metrics: V2Metrics = request.app.state.v2_metrics
    started = time.perf_counter()
    try:
        response = await work(runtime)
    except core.V2Error as exc:
        if exc.reason is not None:
            runtime.metrics.count_rejected(exc.reason)
        response = error(exc.status, exc.message)
    metrics.observe("rest", endpoint, str(response.status_code), time.perf_counter() - started)
    return response


async def server_metadata(request: Request) -> Response:
    async def work(runtime: Runtime) -> Response:
        return json_response(core.server_metadata())

    return await answer(request, "server_metadata", work)


async def server_live(request: Request) -> Response:
    async def work(runtime: Runtime) -> Response:
        return json_response({"live": True})

    return await answer(request, "server_live", work)


async def server_ready(request: Request) -> Response:
    async def work(runtime: Runtime) -> Response:
        return json_response({"ready": runtime.ready}, 200 if runtime.ready else 503)

    return await answer(request, "server_ready", work)


async def model_metadata(request: Request) -> Response:
    name, version = _model(request)

    async def work(runtime: Runtime) -> Response:
        return json_response(core.model_metadata(runtime, name, version))

    return await answer(request, "model_metadata", work)


async def model_ready(request: Request) -> Response:
    name, version = _model(request)

    async def work(runtime: Runtime) -> Response:
        ready = core.model_ready(runtime, name, version)
        return json_response({"name": name, "ready": ready}, 200 if ready else 503)

    return await answer(request, "model_ready", work)


async def model_infer(request: Request) -> Response:
    name, version = _model(request)

    async def work(runtime: Runtime) -> Response:
        core.check_auth(runtime, request.headers.get("authorization"))
        core.check_model(runtime, name, version)  # 404 before the body is read
        if request.headers.get("content-encoding", "identity").lower() != "identity":
            raise core.V2Error(400, "compressed request bodies are not supported", "validation")
        body = await request.body()  # at most MAX_BODY_BYTES (413 from the middleware)
        parsed, texts = parse(body, request.headers.get(HEADER_LENGTH), runtime)
        names = [o.name for o in parsed.outputs or []]
        result = await core.infer(
            runtime, name, version, texts, core.options(parsed.parameters), names
        )
        return encode(parsed, name, result)

    return await answer(request, "model_infer", work)


def _model(request: Request) -> tuple[str, str | None]:
    params = request.path_params
    return params["name"], params.get("version")


def parse(
    body: bytes, header_length: str | None, runtime: Runtime
) -> tuple[InferRequest, list[str]]:
    """The request and its texts, or a 400 naming the first problem."""
    settings = runtime.settings
    size = len(body)
    if header_length is not None:
        if not header_length.isdigit() or int(header_length) > size:
            raise core.V2Error(
                400, f"{HEADER_LENGTH} must be 0..{size} (the body's length)", "validation"
            )
        size = int(header_length)
    try:
        request = InferRequest.model_validate_json(body[:size])
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(p) for p in first["loc"][:4]) or "body"
        raise core.V2Error(
            400, f"invalid inference request: {where}: {first['msg']}", "validation"
        ) from None
    if len(request.inputs) != 1:
        raise core.V2Error(
            400, f"the model takes one input, '{'text'}'; got {len(request.inputs)}", "validation"
        )
    tensor = request.inputs[0]
    try:
        count = check_input(
            tensor.name, tensor.datatype, tensor.shape, settings.max_texts_per_request
        )
        raw_size = (tensor.parameters or {}).get("binary_data_size")
        if raw_size is not None:
            if not isinstance(raw_size, int) or raw_size != len(body) - size:
                raise TensorError("binary_data_size does not match the binary data sent")
            items: list[Any] = decode_raw_bytes(body[size:], count)
        elif tensor.data is not None:
            if len(tensor.data) != count:
                raise TensorError(
                    f"input 'text' has shape [{count}] but {len(tensor.data)} elements"
                )
            items = tensor.data
        else:
            raise TensorError("input 'text' has no data")
        return request, texts_from(items, settings.max_text_chars)
    except TensorError as exc:
        raise core.V2Error(400, str(exc), "validation") from None


def encode(request: InferRequest, name: str, result: core.Answer) -> Response:
    """JSON outputs, or binary ones where asked (``binary_data``, ``binary_data_output``)."""
    default = bool((request.parameters or {}).get("binary_data_output", False))
    asked = {
        o.name: bool((o.parameters or {}).get("binary_data", default))
        for o in request.outputs or []
    }
    tensors: list[dict[str, Any]] = []
    blobs: list[bytes] = []
    for out in result.outputs:
        tensor: dict[str, Any] = {"name": out.name, "datatype": out.datatype, "shape": out.shape}
        if asked.get(out.name, default):
            raw = out.raw()
            tensor["parameters"] = {"binary_data_size": len(raw)}
            blobs.append(raw)
        else:
            tensor["data"] = out.json_values()
        tensors.append(tensor)
    body: dict[str, Any] = {"model_name": name, "model_version": result.version, "outputs": tensors}
    if request.id is not None:
        body["id"] = request.id
    head = to_json(body)
    if not blobs:
        return Response(head, media_type=JSON)
    headers = {"Inference-Header-Content-Length": str(len(head))}
    return Response(head + b"".join(blobs), media_type=BINARY, headers=headers)


def routes() -> tuple[BaseRoute, BaseRoute]:
    """``GET /v2`` and a ``/v2`` mount with the rest, infer first.

    Plain Starlette routes under one mount, not a FastAPI router: the app checks its routers in
    order, and FastAPI's per-route matching cost V2 requests ~0.2 ms of CPU walking the routers
    included before it. The mount goes first: one prefix check for any other request.
    """
    model = "/models/{name}"
    version = f"{model}/versions/{{version}}"
    inner = [
        Route(f"{model}/infer", model_infer, methods=["POST"]),
        Route(f"{version}/infer", model_infer, methods=["POST"]),
        Route("/health/live", server_live, methods=["GET"]),
        Route("/health/ready", server_ready, methods=["GET"]),
        Route(model, model_metadata, methods=["GET"]),
        Route(version, model_metadata, methods=["GET"]),
        Route(f"{model}/ready", model_ready, methods=["GET"]),
        Route(f"{version}/ready", model_ready, methods=["GET"]),
    ]
    return Route("/v2", server_metadata, methods=["GET"]), Mount("/v2", routes=inner)
