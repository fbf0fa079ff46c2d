"""``POST /explain`` (per-word contributions) and the demo page at ``GET /``.

The explanation logic is ``app.explain.plan``; this module validates, runs the plan's rows through the
runtime's batcher in one submit and shapes the response. ``install`` adds both to an app.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from functools import cache
from pathlib import Path
from typing import Any, cast

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse
from pydantic import BaseModel
from pydantic_core import to_json

from app.config import Settings
from app.deps import runtime_of
from app.errors import ERROR_RESPONSES
from app.explain.gradient import (
    Attribution,
    GradientBatcher,
    gradient_batcher,
    prewarm,
    stop_all,
    unavailable,
)
from app.explain.plan import explain, explain_gradient, plan_explanation
from app.explain.schemas import ExplainMethod, ExplainRequest, ExplainResponse
from app.explain.words import ExplainResponseDict
from app.model_server import ModelServer
from app.schemas import Label
from app.unreadable import Pending, UnreadableText

DEMO_PAGE = Path(__file__).resolve().parents[1] / "static" / "demo.html"
KEY_FLAG = 'data-key-required="false"'
# The page is self-contained: nothing may load from anywhere but this service (works offline).
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
        "img-src data:; connect-src 'self'; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}

explain_router = APIRouter(tags=["explain"], responses=ERROR_RESPONSES)
page_router = APIRouter(include_in_schema=False)
ROUTERS = (explain_router, page_router)  # for the request metrics' route labels
PROTECTED = frozenset({"/explain"})  # API key (when set) and body pre-screen, as for /predict
# What the middleware's pre-screen checks a large body of each path against.
SCHEMAS: dict[str, type[BaseModel]] = {"/explain": ExplainRequest}


def _check_limits(body: ExplainRequest, settings: Settings) -> None:
    """MAX_TEXT_CHARS, reported exactly like ``/predict`` reports it (422)."""
    if len(body.text) > settings.max_text_chars:
        error = {
            "type": "string_too_long",
            "loc": ("body", "text"),
            "msg": f"text longer than {settings.max_text_chars} characters",
            "input": None,
        }
        raise RequestValidationError([error])


@explain_router.post("/explain", response_model=ExplainResponse)
async def explain_text(body: ExplainRequest, request: Request) -> Response:
    """Label, P(positive) and every word's contribution to it, in log-odds.

    ``gradient`` (default): one forward and backward pass per scored window (no budget cut), a
    first-order estimate of replacing each word by the unknown-word id; see docs/explain.md. For a
    model version it cannot be used with, a request naming it is a 422 and a request leaving
    ``method`` out is answered by occlusion (``"method": "occlusion"`` in the answer).
    ``occlusion`` (exact): each word the model read is removed from every scored window that
    holds it (the window keeps its end); its contribution is logit(P) minus logit(P without it).
    All variant rows of all windows go to the batcher at once, counted by its queue limit. Cost:
    at most ``MAX_ROWS_PER_REQUEST`` rows (default 512); words beyond that budget (counted from the
    end of the review) are ``not_explained``, words outside the scored windows ``not_scored``.
    """
    runtime = runtime_of(request)
    settings = runtime.settings
    _check_limits(body, settings)
    # The CPU-heavy steps (tokenizing up to MAX_TEXT_CHARS, planning hundreds of rows, combining,
    # serializing) run in a thread: on the event loop they held up every other client's /predict.
    # Planning awaits, so the server is picked again if a hot reload moved on meanwhile.
    for _ in range(3):
        server, method, gradients = await _pick(request, body)
        policy = server.artifact.scoring
        mode = body.scoring or runtime.default_mode(server)
        plan = await asyncio.to_thread(
            plan_explanation, server.artifact.tokenizer, policy, body.text, mode,
            max_windows=policy.max_windows, max_rows=settings.rows_per_request, method=method,
        )  # fmt: skip
        if runtime.server(body.model_version) is server:
            break  # submitted to below without an await in between
    n_oov = plan.ids.count(plan.config.oov_id)
    runtime.metrics.observe_text(len(plan.ids) - 1, n_oov, plan.n_windows)
    config = server.artifact.tokenizer.config
    pending = Pending([body.text], [(len(plan.ids) - 1, n_oov)], runtime.identify, config)
    rows = list(plan.rows)
    try:
        if gradients is not None:
            outputs, attributions = await _both(
                runtime.infer(server, rows, background=True),
                gradients.attribute(rows, settings.request_timeout_s),
            )
            result = await asyncio.to_thread(explain_gradient, plan, outputs, attributions, policy)
        else:
            outputs = await runtime.infer(server, rows, background=True)
            result = await asyncio.to_thread(explain, plan, outputs, policy)
    except BaseException:
        pending.cancel()
        raise
    (verdict,) = await pending.result()
    if not verdict.readable and (body.on_unreadable or settings.on_unreadable) == "refuse":
        raise UnreadableText(verdict)
    label: Label = "positive" if result.probability >= settings.threshold else "negative"
    runtime.metrics.count_prediction(label)
    runtime.metrics.observe_verdict(verdict, label)
    # Serialized without re-validation (~1 ms for a 1.7 KB review's 300 words): the dicts are built
    # to ``ExplainResponse``'s shape, which the tests validate every answer against.
    response: ExplainResponseDict = {
        "label": label,
        "probability": result.probability,
        "windows": result.windows,
        "readable": verdict.readable,
        "reason": verdict.reason,
        "coverage": verdict.coverage,
        "language": verdict.language,
        "model_version": server.version,
        "scoring": mode,
        "method": method,
        "baseline": plan.baseline,
        "unit": "logit",
        "logit": result.logit,
        "rows": result.rows,
        "explained_words": result.explained_words,
        "tokens": result.tokens,
    }
    return Response(await asyncio.to_thread(to_json, response), media_type="application/json")


async def _pick(
    request: Request, body: ExplainRequest
) -> tuple[ModelServer, ExplainMethod, GradientBatcher | None]:
    """The model server, the method that will run and, for ``gradient``, its batcher.

    Getting the gradient batcher awaits (its first build runs in a thread); if a hot reload
    unloaded the picked version meanwhile, the version is picked again, so the caller submits to
    a server it has just picked (``Runtime.infer``'s rule)."""
    runtime = runtime_of(request)
    for _ in range(3):
        server = runtime.server(body.model_version)
        if body.method == "occlusion":
            return server, "occlusion", None
        made = await gradient_batcher(request.app, server, runtime.settings.max_queue_size)
        gradients = made if isinstance(made, GradientBatcher) else None
        if gradients is None and "method" in body.model_fields_set:
            raise unavailable(server.version, str(made))  # asked for by name: say why not
        # Left out: the default falls back to the exact method, and the answer says which ran.
        if runtime.server(body.model_version) is server:
            break
    return server, "occlusion" if gradients is None else "gradient", gradients


async def _both(
    outputs: Coroutine[Any, Any, list[float]], attributions: Coroutine[Any, Any, Attribution]
) -> tuple[list[float], Attribution]:
    """Both results, run concurrently; the first failure is raised after both have finished."""
    got = await asyncio.gather(outputs, attributions, return_exceptions=True)
    for item in got:
        if isinstance(item, BaseException):
            raise item
    return cast(list[float], got[0]), cast(Attribution, got[1])


@cache
def _page(key_required: bool) -> bytes:
    html = DEMO_PAGE.read_text(encoding="utf-8")
    if key_required:
        html = html.replace(KEY_FLAG, 'data-key-required="true"', 1)
    return html.encode("utf-8")


@page_router.get("/", response_class=HTMLResponse)
async def demo_page(request: Request) -> Response:
    """The demo page: type a review, see the label and each word's contribution."""
    key_required = request.app.state.runtime.settings.api_key is not None
    return Response(_page(key_required), media_type="text/html", headers=PAGE_HEADERS)


def install(app: FastAPI) -> None:
    """``POST /explain`` and the page. The middleware guards ``PROTECTED`` like ``/predict``."""
    app.include_router(explain_router)
    app.include_router(page_router)
    app.state.explainer_lock = asyncio.Lock()


def warm(app: FastAPI, server: ModelServer, settings: Settings) -> None:
    """Start of the lifespan: with ``EXPLAIN_PREWARM`` (off by default: it costs ~130 MiB RSS that
    a replica which never explains would not pay), build and compile the default version's
    gradient explainer in the background - the first ``/explain`` then answers in milliseconds
    instead of ~1 s. Versions loaded later build theirs on first use."""
    if settings.explain_prewarm:
        app.state.explain_prewarm = asyncio.create_task(
            prewarm(app, server, settings.max_queue_size, settings.request_timeout_s)
        )


async def stop(app: FastAPI) -> None:
    """End of the lifespan: stop the warm-up, then the gradient batchers the routes started."""
    task: asyncio.Task[None] | None = getattr(app.state, "explain_prewarm", None)
    if task is not None:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    await stop_all(app)
