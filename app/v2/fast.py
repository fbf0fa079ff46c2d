"""``POST /v2/models/<name>/infer`` past the routers: the request middleware's shortcut
(``app.fastpath``, ``ServiceApp.fast_paths``), as ``/predict`` takes it. ~0.1 ms of event-loop CPU
per request less than through Starlette's stack and the ``/v2`` mount (docs/performance.md)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from app.v2.rest import model_infer


class FastInfer:
    """``POST /v2/models/<name>/infer`` without Starlette's routing: the request middleware's
    shortcut (``app.fastpath``), as for ``/predict``; ``model_infer`` answers every V2 error and
    anything else raises to the app's ``ServerErrorMiddleware`` (500), as through the router."""

    def __init__(self, fallback: ASGIApp, name: str) -> None:
        self.fallback = fallback
        self.name = name

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("root_path"):
            await self.fallback(scope, receive, send)
            return
        scope["path_params"] = {"name": self.name}
        response = await model_infer(Request(scope, receive, send))
        await response(scope, receive, send)
