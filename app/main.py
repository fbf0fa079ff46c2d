"""ASGI entry point: ``uvicorn app.main:app``.

The lifespan loads and checks the artifact (refusing to start on a tokenizer mismatch), warms the
model up, starts the batcher, and on shutdown marks the service not-ready, drains queued and
in-flight work, then stops. SIGTERM flips readiness to 503 immediately (before uvicorn starts
closing connections), so load balancers stop routing here while accepted requests finish.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import signal
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from types import FrameType
from typing import Any

from fastapi import FastAPI

from app.config import Settings
from app.errors import install_error_handlers
from app.logging_setup import announce_ready, configure_logging
from app.middleware import RequestMiddleware
from app.routes import AUTH_DEPENDENCIES, ops_router, predict_router
from app.service import RunnerFactory, Runtime
from model_contract.artifact import ArtifactError

logger = logging.getLogger("app")

DRAIN_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def install_drain_handlers(runtime: Runtime) -> Callable[[], None]:
    """Chain a handler in front of the server's SIGTERM/SIGINT handler; returns an undo.

    Only possible in the main thread (under uvicorn; not under TestClient's portal thread).
    """
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous: dict[int, Any] = {}
    loop = asyncio.get_running_loop()

    def handler(signum: int, frame: FrameType | None) -> None:
        # Readiness flips right here; the rest (logging, waking the batcher) runs on the loop,
        # since a signal handler may interrupt the loop in the middle of its own bookkeeping.
        runtime.draining = True
        # An empty context: the signal may interrupt a callback running in a request's context,
        # whose request id must not end up on the drain log line.
        loop.call_soon_threadsafe(runtime.begin_drain, context=contextvars.Context())
        prev = previous.get(signum)
        server = getattr(prev, "__self__", None)
        if server is not None and hasattr(server, "should_exit"):
            # uvicorn: ask for a graceful stop directly. Its own handler would also re-raise
            # the signal after shutdown, making a clean, fully drained stop exit with 143.
            if server.should_exit:
                server.force_exit = True
            server.should_exit = True
        elif callable(prev):
            prev(signum, frame)
        elif prev == signal.SIG_DFL:
            raise SystemExit(0)

    for sig in DRAIN_SIGNALS:
        previous[sig] = signal.signal(sig, handler)

    def restore() -> None:
        for sig, prev in previous.items():
            signal.signal(sig, prev)

    return restore


def create_app(
    settings: Settings | None = None, runner_factory: RunnerFactory | None = None
) -> FastAPI:
    settings = settings or Settings()
    configure_logging(settings.log_level, settings.log_format)
    runtime = Runtime(settings, runner_factory)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            await runtime.start()
        except ArtifactError as exc:
            logger.critical("refusing to start: %s", exc)
            raise
        device = runtime.runner.device if runtime.runner else "unknown"
        announcer = asyncio.create_task(announce_ready(runtime.version, device, app.docs_url))
        restore = install_drain_handlers(runtime)
        try:
            yield
        finally:
            announcer.cancel()
            logger.info("shutting down: draining batcher")
            await runtime.stop()
            restore()
            logger.info("shutdown complete")

    app = FastAPI(
        title="IMDB sentiment service",
        version="1.0",
        description="LSTM sentiment classifier with dynamic batching. Review text is never logged.",
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    install_error_handlers(app)
    app.include_router(predict_router, dependencies=AUTH_DEPENDENCIES if settings.api_key else None)
    app.include_router(ops_router)
    # Label values for request metrics: every route path (routers are included, not copied).
    route_paths = {getattr(r, "path", "") for r in app.routes}
    route_paths |= {
        getattr(r, "path", "") for rt in (predict_router, ops_router) for r in rt.routes
    }
    app.add_middleware(
        RequestMiddleware,
        metrics=runtime.metrics,
        known_routes=lambda: route_paths,
        max_body_bytes=settings.max_body_bytes,
    )
    return app


def __getattr__(name: str) -> FastAPI:
    """``app.main:app`` is built on first access, so importing this module has no side effects."""
    if name == "app":
        app = create_app()
        globals()["app"] = app
        return app
    raise AttributeError(name)
