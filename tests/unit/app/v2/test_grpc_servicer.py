"""The gRPC servicer's answers for a fault of ours and for a V2 error, without a server."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
import pytest
from prometheus_client import CollectorRegistry

from app.v2.core import V2Error
from app.v2.grpc_server import Servicer
from app.v2.metrics import V2Metrics


class Aborted(Exception):
    pass


class Context:
    def __init__(self) -> None:
        self.aborted: tuple[Any, str] | None = None

    async def abort(self, code: Any, details: str) -> None:
        self.aborted = (code, details)
        raise Aborted


class Metrics:
    """Stands in for ServiceMetrics' one method the servicer calls."""

    def __init__(self) -> None:
        self.rejected: list[str] = []

    def count_rejected(self, reason: str) -> None:
        self.rejected.append(reason)


class Runtime:
    def __init__(self) -> None:
        self.metrics = Metrics()


RUNTIME = Runtime()


def answer(work: Any) -> tuple[Context, V2Metrics]:
    metrics = V2Metrics(CollectorRegistry())
    context = Context()
    servicer = Servicer(RUNTIME, metrics)  # type: ignore[arg-type]
    with pytest.raises(Aborted):
        asyncio.run(servicer._answer("model_infer", context, work))  # type: ignore[arg-type]
    return context, metrics


def count(metrics: V2Metrics, status: str) -> float:
    value = metrics.requests.labels("grpc", "model_infer", status)._value.get()
    return float(value)


def test_a_fault_is_internal_without_details(caplog: pytest.LogCaptureFixture) -> None:
    async def work() -> None:
        raise RuntimeError("secret internals")

    context, metrics = answer(work)
    assert context.aborted == (grpc.StatusCode.INTERNAL, "internal server error")
    assert count(metrics, "INTERNAL") == 1
    assert "V2 gRPC model_infer failed" in caplog.text


def test_a_v2_error_keeps_its_code_and_message() -> None:
    async def work() -> None:
        raise V2Error(404, "unknown model 'x'", "model_version_not_loaded")

    context, metrics = answer(work)
    assert context.aborted == (grpc.StatusCode.NOT_FOUND, "unknown model 'x'")
    assert count(metrics, "NOT_FOUND") == 1
    assert RUNTIME.metrics.rejected[-1] == "model_version_not_loaded"
