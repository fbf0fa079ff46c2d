"""What V2 REST and gRPC share: errors, the model and its versions, metadata, and one inference.

An inference goes through ``Runtime.score``: the same tokenizer, batcher, row budget, deadline and
model versions as ``POST /predict``. Every failure is a ``V2Error`` with an HTTP status; gRPC maps
it to its status code (``GRPC_CODES``). The model has one name (``V2_MODEL_NAME``); its versions
are the loaded model versions, the unversioned routes use the default one.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, get_args

import grpc

from app.service import InferenceFailed, RequestTimedOut, Runtime, ServiceUnavailable
from app.unreadable import detail
from app.v2.tensors import Output, TensorError, metadata_tensors, outputs, requested
from app.version_failures import VersionNotLoaded
from model_contract.scoring import Mode
from model_contract.versions import is_version_name

SERVER_NAME = "imdb-sentiment-service"
SERVER_VERSION = "1.0"
# Triton's binary tensor data extension (REST); gRPC's raw contents are core protocol.
EXTENSIONS = ["binary_tensor_data"]
PLATFORM = "tensorflow_savedmodel"
MODES: tuple[str, ...] = get_args(Mode)
ON_UNREADABLE = ("answer", "refuse")

GRPC_CODES = {
    400: grpc.StatusCode.INVALID_ARGUMENT,
    401: grpc.StatusCode.UNAUTHENTICATED,
    404: grpc.StatusCode.NOT_FOUND,
    413: grpc.StatusCode.RESOURCE_EXHAUSTED,
    500: grpc.StatusCode.INTERNAL,
    503: grpc.StatusCode.UNAVAILABLE,
    504: grpc.StatusCode.DEADLINE_EXCEEDED,
}


class V2Error(Exception):
    """An answer other than success: HTTP ``status``, the protocol's error message, and the
    ``sentiment_rejected_total`` reason when it is a refusal counted there."""

    def __init__(self, status: int, message: str, reason: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.reason = reason

    @property
    def grpc_code(self) -> grpc.StatusCode:
        return GRPC_CODES.get(self.status, grpc.StatusCode.UNKNOWN)


def token_matches(authorization: str | None, key: bytes) -> bool:
    """``Bearer <key>`` (scheme case-insensitive), compared in constant time: as for HTTP."""
    scheme, _, token = (authorization or "").partition(" ")
    given = token.strip().encode("latin-1", "replace") if scheme.lower() == "bearer" else b""
    return secrets.compare_digest(given, key)


def check_auth(runtime: Runtime, authorization: str | None) -> None:
    key = runtime.settings.api_key
    if key is not None and not token_matches(authorization, key.get_secret_value().encode()):
        raise V2Error(
            401, "missing or invalid API key (authorization: Bearer <key>)", "unauthorized"
        )


def check_model(runtime: Runtime, name: str, version: str | None) -> str | None:
    """The version to use (None: the default) if ``name``/``version`` name a loaded model."""
    if name != runtime.settings.v2_model_name:
        raise V2Error(
            404, f"unknown model '{name[:80]}': this server has '{runtime.settings.v2_model_name}'"
        )
    if not version:  # gRPC's empty string: the default version
        return None
    if not is_version_name(version) or version not in runtime.models.loaded:
        loaded = ", ".join(runtime.models.loaded)
        raise V2Error(
            404,
            f"model version '{version[:20]}' is not loaded; loaded: {loaded}",
            "model_version_not_loaded",
        )
    return version


def model_ready(runtime: Runtime, name: str, version: str | None) -> bool:
    pinned = check_model(runtime, name, version)
    if runtime.draining:
        return False
    server = runtime.models.get(pinned)
    return server is not None and server.state == "ready"


def server_metadata() -> dict[str, Any]:
    return {"name": SERVER_NAME, "version": SERVER_VERSION, "extensions": EXTENSIONS}


def model_metadata(runtime: Runtime, name: str, version: str | None) -> dict[str, Any]:
    pinned = check_model(runtime, name, version)
    inputs, outs = metadata_tensors()
    return {
        "name": name,
        "versions": [pinned] if pinned else runtime.models.loaded,
        "platform": PLATFORM,
        "inputs": inputs,
        "outputs": outs,
    }


@dataclass(frozen=True)
class Options:
    """The request's ``parameters`` this service reads (others, e.g. Triton's, are ignored)."""

    scoring: Mode | None = None
    on_unreadable: str | None = None


def options(parameters: dict[str, Any] | None) -> Options:
    params = parameters or {}
    scoring, on_unreadable = params.get("scoring"), params.get("on_unreadable")
    if scoring is not None and scoring not in MODES:
        raise V2Error(400, f"parameter 'scoring' must be one of {', '.join(MODES)}", "validation")
    if on_unreadable is not None and on_unreadable not in ON_UNREADABLE:
        raise V2Error(400, "parameter 'on_unreadable' must be 'answer' or 'refuse'", "validation")
    return Options(scoring, on_unreadable)


@dataclass(frozen=True)
class Answer:
    version: str
    outputs: list[Output]


async def infer(
    runtime: Runtime,
    name: str,
    version: str | None,
    texts: Sequence[str],
    opts: Options,
    output_names: Sequence[str] | None = None,
) -> Answer:
    """Score ``texts`` exactly as ``POST /predict`` does; the outputs asked for, in order."""
    pinned = check_model(runtime, name, version)
    try:
        names = requested(output_names)
    except TensorError as exc:
        raise V2Error(400, str(exc), "validation") from None
    try:
        used, scored = await runtime.score(texts, opts.scoring, pinned)
    except ServiceUnavailable as exc:
        raise V2Error(503, exc.detail, exc.reason) from None
    except VersionNotLoaded as exc:  # unloaded between the check and the submit
        raise V2Error(404, str(exc), "model_version_not_loaded") from None
    except RequestTimedOut as exc:
        raise V2Error(504, str(exc) or "request timed out", "timeout") from None
    except InferenceFailed:
        raise V2Error(500, "inference failed") from None
    if (opts.on_unreadable or runtime.settings.on_unreadable) == "refuse":
        for i, s in enumerate(scored):
            if not s.readable:
                raise V2Error(400, f"text {i}: {detail(s)}", "unreadable")
    return Answer(used, outputs(scored, names))
