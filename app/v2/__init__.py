"""The Open Inference Protocol (KServe V2): REST routes on the HTTP port, gRPC on GRPC_PORT.

``install`` adds the REST routes and the per-protocol metrics to the app and returns the ``V2``
whose ``start``/``stop`` the lifespan calls for the gRPC server (when GRPC_PORT is set). Both
protocols score through the app's one ``Runtime`` (docs/api.md, "Open Inference Protocol").
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from fastapi import FastAPI
from starlette.types import ASGIApp

from app.service import Runtime
from app.v2 import rest
from app.v2.fast import FastInfer
from app.v2.grpc_server import GrpcFront
from app.v2.metrics import V2Metrics


class V2:
    def __init__(self, runtime: Runtime, metrics: V2Metrics) -> None:
        self.runtime = runtime
        self.metrics = metrics
        self._grpc: GrpcFront | None = None

    async def start(self) -> None:
        """Listen for gRPC if GRPC_PORT is set (OSError if the port cannot be bound)."""
        settings = self.runtime.settings
        if settings.grpc_port is None:
            return
        front = GrpcFront(self.runtime, self.metrics)
        await front.start(settings.grpc_host, settings.grpc_port)
        self._grpc = front

    async def stop(self) -> None:
        """Stop taking RPCs; running ones get REQUEST_TIMEOUT_S (their deadline) to finish."""
        if self._grpc is not None:
            await self._grpc.stop(self.runtime.settings.request_timeout_s)
        self._grpc = None

    def fast_paths(self) -> dict[str, Callable[[ASGIApp], ASGIApp]]:
        """The unversioned infer route's shortcut past the routers (``app.v2.fast``)."""
        name = self.runtime.settings.v2_model_name
        return {f"/v2/models/{name}/infer": partial(FastInfer, name=name)}

    def paths(self) -> set[str]:
        """The concrete unversioned V2 paths (the request metrics label these by path)."""
        model = f"/v2/models/{self.runtime.settings.v2_model_name}"
        return {
            "/v2",
            "/v2/health/live",
            "/v2/health/ready",
            model,
            f"{model}/ready",
            f"{model}/infer",
        }


def install(app: FastAPI, runtime: Runtime) -> V2:
    metrics = V2Metrics(runtime.metrics.registry)
    app.state.v2_metrics = metrics
    root, mount = rest.routes()
    app.router.routes.insert(0, mount)  # see rest.routes: matched before the routers
    app.router.routes.append(root)
    return V2(runtime, metrics)
