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
import os
import signal
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import partial
from types import FrameType
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.types import ASGIApp

from app.config import Settings, StartupError, load_settings
from app.docs_pages import install_docs
from app.errors import install_error_handlers, prescreen_response
from app.explain import routes as explain_routes
from app.fastpath import FastPredict, ServiceApp, exception_handlers
from app.logging_setup import announce_ready, configure_logging
from app.loop_lag import LoopLagMonitor
from app.middleware import RequestMiddleware
from app.model_server import RunnerFactory, describe_load_error
from app.openapi import install_openapi
from app.routes import ops_router, predict_router
from app.schemas import PredictRequest
from app.service import Runtime
from app.v2 import V2
from app.v2 import install as install_v2
from app.watchdog import Watchdog

logger = logging.getLogger("app")

DRAIN_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def install_drain_handlers(runtime: Runtime) -> Callable[[], None]:
    """Chain a handler in front of the server's SIGTERM/SIGINT handler; returns an undo.

    The first signal flips readiness to 503 at once; uvicorn is asked to stop only after
    SHUTDOWN_DELAY_S (the in-process twin of a Kubernetes ``preStop`` sleep): until then it
    keeps accepting and answering, so requests a load balancer sends before it notices are not
    reset. A second signal stops at once, a third forces the exit.
    Only possible in the main thread (under uvicorn; not under TestClient's portal thread).
    """
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous: dict[int, Any] = {}
    loop = asyncio.get_running_loop()
    delay = runtime.settings.shutdown_delay_s
    signals_seen = 0

    def stop_server(server: Any) -> None:
        if server.should_exit:
            server.force_exit = True
        server.should_exit = True

    def begin(server: Any) -> None:
        runtime.begin_drain()
        logger.info("still accepting for SHUTDOWN_DELAY_S=%gs, then draining", delay)
        loop.call_later(delay, stop_server, server)

    def handler(signum: int, frame: FrameType | None) -> None:
        nonlocal signals_seen
        signals_seen += 1
        # Readiness flips right here; the rest (logging, waking the batcher) runs on the loop,
        # since a signal handler may interrupt the loop in the middle of its own bookkeeping -
        # in an empty context: the callback it interrupted may run in a request's context, whose
        # request id must not end up on the drain log lines.
        runtime.draining = True
        prev = previous.get(signum)
        server = getattr(prev, "__self__", None)
        if server is not None and hasattr(server, "should_exit"):
            # uvicorn: ask for a graceful stop directly. Its own handler would also re-raise
            # the signal after shutdown, making a clean, fully drained stop exit with 143.
            if signals_seen == 1 and delay > 0:
                loop.call_soon_threadsafe(begin, server, context=contextvars.Context())
                return
            loop.call_soon_threadsafe(runtime.begin_drain, context=contextvars.Context())
            stop_server(server)
            return
        loop.call_soon_threadsafe(runtime.begin_drain, context=contextvars.Context())
        if callable(prev):
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
    settings: Settings | None = None,
    runner_factory: RunnerFactory | None = None,
    exit_on_startup_failure: bool = False,
) -> FastAPI:
    settings = settings or load_settings()
    configure_logging(settings.log_level, settings.log_format)
    runtime = Runtime(settings, runner_factory)
    v2: V2 | None = None  # the Open Inference Protocol front (REST routes, gRPC server): set below

    def refuse_to_start(why: str) -> None:
        logger.critical("refusing to start: %s", why)
        if exit_on_startup_failure:
            # Under uvicorn: one line, exit 1. Raising would print the traceback again
            # (Starlette hands the formatted traceback to the server as the failure message).
            for handler in logger.handlers:
                handler.flush()
            os._exit(1)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            await runtime.start()
        except Exception as exc:
            refuse_to_start(describe_load_error(exc, settings.resolved_model_dir()))
            raise
        assert v2 is not None
        try:
            await v2.start()  # V2 gRPC on GRPC_PORT, if set: same loop, same runtime
        except OSError as exc:
            await runtime.stop()
            refuse_to_start(str(exc))
            raise
        # Whether auth is on, never the key; the open routes are listed in README "API".
        if settings.api_key is None:
            logger.info("auth off: API_KEY unset, the predict routes are open to anyone")
        else:
            logger.info("auth on: the predict routes need 'Authorization: Bearer <API_KEY>'")
        default = runtime.server()
        announcer = asyncio.create_task(
            announce_ready(runtime.version, default.runner.device, "/docs")
        )
        restore = install_drain_handlers(runtime)
        explain_routes.warm(app, default, settings)
        lag = LoopLagMonitor(runtime.metrics.registry)  # app/loop_lag.py
        lag.start()
        watchdog = Watchdog(runtime)  # app/watchdog.py: a wedged model call
        watchdog.start()
        try:
            yield
        finally:
            announcer.cancel()
            await lag.stop()
            await watchdog.stop()
            logger.info("shutting down: draining batcher")
            await v2.stop()  # in-flight RPCs finish first: they need the batcher
            await runtime.stop()
            await explain_routes.stop(app)  # the gradient explainers' threads, if any started
            restore()
            logger.info("shutdown complete")

    app = ServiceApp(  # FastAPI with the predict routes' shortcut (app/fastpath.py)
        title="IMDB sentiment service",
        version="1.0",
        description="LSTM sentiment classifier with dynamic batching. Review text is never logged.",
        lifespan=lifespan,
        # Starlette's trailing-slash 307 built its Location from the client's Host header (an open
        # redirect) and forced http: /predict/ is a plain 404 instead.
        redirect_slashes=False,
        docs_url=None,  # app.docs_pages: the same pages from packaged assets, not a CDN
        redoc_url=None,
    )
    install_docs(app)
    app.state.runtime = runtime
    install_error_handlers(app)
    app.include_router(predict_router)
    app.include_router(ops_router)
    explain_routes.install(app)  # POST /explain and the demo page at GET /
    v2 = install_v2(app, runtime)  # the Open Inference Protocol (app/v2/)
    # Label values for request metrics: every route path (routers are included, not copied).
    route_paths = {getattr(r, "path", "") for r in app.routes}
    route_paths |= {
        getattr(r, "path", "")
        for rt in (predict_router, ops_router, *explain_routes.ROUTERS)
        for r in rt.routes
    }
    route_paths |= v2.paths()
    predict_paths = frozenset(getattr(r, "path", "") for r in predict_router.routes)
    predict_paths |= explain_routes.PROTECTED  # /explain: same auth and body pre-screen
    install_openapi(app, settings, protected=predict_paths)
    # Each pre-screened path is checked against its own request model (not /predict's for all).
    screens: dict[str, type[BaseModel]] = dict.fromkeys(predict_paths, PredictRequest)
    schemas = (screens | explain_routes.SCHEMAS).items()
    fast = fast_paths(app, predict_router)
    if fast:  # the same shortcut for V2's unversioned infer route (app/v2/rest.py)
        fast |= v2.fast_paths()
    app.fast_paths = frozenset(fast)
    app.add_middleware(
        RequestMiddleware,
        metrics=runtime.metrics,
        known_routes=lambda: route_paths,
        max_body_bytes=settings.max_body_bytes,
        prescreen={p: partial(prescreen_response, runtime.metrics, schema=s) for p, s in schemas},
        api_key=settings.api_key.get_secret_value().encode() if settings.api_key else None,
        protected_paths=predict_paths,
        fast=fast,
    )
    return app


def fast_paths(app: FastAPI, router: APIRouter) -> dict[str, Callable[[ASGIApp], ASGIApp]]:
    """Each predict route's fast path (``app.fastpath``), around the app it falls back to.

    Off when FastAPI's own OpenTelemetry support is configured: its spans come from FastAPI's
    route handling, which the fast path skips.
    """
    telemetry = getattr(app, "_native_telemetry", None)  # FastAPI's, private: checked once
    if telemetry is not None and telemetry.enabled():
        return {}
    handlers = exception_handlers(app.exception_handlers)
    return {
        route.path: partial(FastPredict, endpoint=route.endpoint, handlers=handlers)
        for route in router.routes
        if isinstance(route, APIRoute) and "POST" in (route.methods or ())
    }


def __getattr__(name: str) -> FastAPI:
    """``app.main:app`` is built on first access, so importing this module has no side effects."""
    if name == "app":
        try:
            app = create_app(exit_on_startup_failure=True)
        except StartupError as exc:
            configure_logging("info")
            logger.critical("refusing to start: %s", exc)
            raise SystemExit(1) from None
        globals()["app"] = app
        return app
    raise AttributeError(name)
