"""``/explain``'s ``gradient`` method (the default): one forward and backward pass per window.

The windows go to the model server's batcher exactly as for ``/predict`` (so label and probability
are the served model's, to the bit) and, at the same time, to a second batcher whose thread runs
``model_contract.gradients`` - the same network rebuilt from the artifact's SavedModel checkpoint
(``network``'s reader, as on a GPU) and checked against the signature. That second batcher is
built on the first gradient request for a model server (reading the weights and the check take
0.1-0.2 s; XLA compiles one program per batch shape on first use, 1-3 s each), belongs to that
server (``ModelServer.explainer``) and is stopped with it. At most ``EXPLAIN_GRADIENT_VERSIONS``
exist (~130 MiB each): the default version's displaces another; a pinned version beyond the cap
has none (as below). It has its own queue limit (``MAX_QUEUE_SIZE`` windows);
a full queue is a 503 ``queue_full`` like the model's. A model it cannot be built for (not this
architecture, or the rebuilt network disagrees with the signature) has none: ``/explain`` then
answers 422 if the request named the method, and falls back to occlusion if it was the default.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError

from app.batcher import Batcher, BatcherClosed, QueueFull
from app.model_server import ModelServer, Row
from app.service import RequestTimedOut, ServiceUnavailable

if TYPE_CHECKING:  # TensorFlow is imported on first use: after ``tuning.configure_threads``
    from model_contract.gradients import GradientAttributor

logger = logging.getLogger(__name__)
Attribution = npt.NDArray[np.float32]


class GradientBatcher:
    """Attributions for window rows, batched on their own thread (see the module doc)."""

    def __init__(self, attributor: GradientAttributor, max_queue_size: int, name: str) -> None:
        self.attributor = attributor
        self._batcher: Batcher[Row, Attribution] = Batcher(
            self._run,
            max_batch_size=max(attributor.batch_sizes or [32]),
            max_delay_s=0.0,
            max_queue_size=max_queue_size,
            name=name,
        )
        self._batcher.start()

    def _run(self, rows: list[Row]) -> list[Attribution]:
        _, attributions = self.attributor.attribute(np.stack(rows))
        return list(attributions)

    async def attribute(self, rows: list[Row], timeout_s: float) -> Attribution:
        """[len(rows), maxlen] attributions: one all-or-nothing submit, one deadline."""
        try:
            futures = self._batcher.submit_many(rows)
        except QueueFull as exc:
            raise ServiceUnavailable("queue_full", "server overloaded, retry later") from exc
        except BatcherClosed as exc:
            raise ServiceUnavailable("shutting_down", "server is shutting down") from exc
        try:
            return np.stack(await asyncio.wait_for(asyncio.gather(*futures), timeout_s))
        except TimeoutError:
            raise RequestTimedOut(f"no result within {timeout_s}s") from None
        finally:
            for fut in futures:
                fut.cancel()  # no-op when done; the batcher skips cancelled items

    async def stop(self) -> None:
        """Finish what was submitted (a displaced explainer may still have work), then end the
        thread, which drops the attributor: its network and compiled programs can go."""
        await self._batcher.shutdown(grace_s=30.0)
        if (thread := self._batcher.thread) is not None:
            await asyncio.to_thread(thread.join, 30.0)


def _probe(server: ModelServer) -> npt.NDArray[np.int32]:
    """Rows to check the rebuilt network on: the artifact's golden rows (padded and full) and a
    full row of distinct words."""
    cfg = server.artifact.tokenizer.config
    golden = [g["ids"] for g in server.artifact.preprocessing.get("golden", [])]
    full = np.arange(cfg.index_from, cfg.index_from + cfg.maxlen) % cfg.num_words
    return np.asarray([*golden, full], dtype=np.int32)


def _attributor(server: ModelServer) -> GradientAttributor | str:
    """In a thread: the attributor, checked against the signature, or why there is none."""
    from model_contract.gradients import UnsupportedModel, build_attributor, load_weights
    from model_contract.savedmodel import ServingSignature

    runner: Any = server.runner
    signature = getattr(runner, "signature", None)
    if not isinstance(signature, ServingSignature):
        return "this runner exposes no SavedModel signature"
    try:
        return build_attributor(
            signature,
            load_weights(server.artifact.path, signature.maxlen),
            server.artifact.tokenizer.config.oov_id,
            _probe(server),
            device=runner.device,
            xla=runner.xla,
        )
    except UnsupportedModel as exc:
        logger.warning("gradient explanations unavailable for version %s: %s", server.version, exc)
        return str(exc)


async def _make(server: ModelServer, max_queue_size: int) -> GradientBatcher | str:
    made = await asyncio.to_thread(_attributor, server)
    if isinstance(made, str):
        return made
    return GradientBatcher(made, max_queue_size, f"gradients-{server.version}")


async def gradient_batcher(
    app: FastAPI, server: ModelServer, max_queue_size: int
) -> GradientBatcher | str:
    """The server's gradient batcher, built on first use, or why this model cannot have one.

    Once built (or refused), the answer is a finished task: awaiting it does not suspend."""
    task = server.explainer
    if task is None or (task.done() and task.exception() is not None):  # failed: try again
        async with app.state.explainer_lock:  # the cap holds under concurrent first requests
            task = server.explainer
            if task is None or (task.done() and task.exception() is not None):
                if (refused := await _make_room(app, server)) is not None:
                    return refused
                task = server.explainer = asyncio.create_task(_make(server, max_queue_size))
    made = await asyncio.shield(task)  # a cancelled request does not cancel the build
    return made if isinstance(made, GradientBatcher | str) else str(made)


async def _make_room(app: FastAPI, server: ModelServer) -> str | None:
    """None if ``server`` may have an explainer now, else why not. One of the
    ``EXPLAIN_GRADIENT_VERSIONS`` places is the default version's (it displaces another version's
    explainer if need be); pinned versions share the others."""
    models = app.state.runtime.models
    cap: int = app.state.runtime.settings.explain_gradient_versions
    default = models.default
    others = [s for s in models.servers() if s is not server and s.explainer is not None]
    if server is default and cap > 0:
        for other in others[: max(0, len(others) - cap + 1)]:
            await other.drop_explainer()
        return None
    if len([s for s in others if s is not default]) < cap - 1:
        return None
    return (
        f"gradient explainers are kept for at most {cap} model version(s) "
        "(EXPLAIN_GRADIENT_VERSIONS), the default version first; use method 'occlusion'"
    )


def explainers(app: FastAPI) -> dict[ModelServer, asyncio.Task[Any]]:
    """The explainers that exist now, by server (for tests and ``/model``-style reporting)."""
    return {s: s.explainer for s in app.state.runtime.models.servers() if s.explainer is not None}


def unavailable(version: str, reason: str) -> RequestValidationError:
    """The 422 for a request that names ``"method": "gradient"`` for a model without one."""
    error = {
        "type": "value_error",
        "loc": ("body", "method"),
        "msg": f"method 'gradient' is not available for model version {version}: {reason}",
        "input": "gradient",
    }
    return RequestValidationError([error])


PREWARM_WINDOWS = (1, 3)  # padded to 2 and 4 rows: the shapes of reviews up to ~4 windows


async def prewarm(app: FastAPI, server: ModelServer, max_queue_size: int, timeout_s: float) -> None:
    """Build ``server``'s gradient batcher and compile its common batch shapes (a background task
    of the lifespan). Never raises: a model without the gradient method, or a shutdown meanwhile,
    just ends it."""
    try:
        made = await gradient_batcher(app, server, max_queue_size)
        if isinstance(made, str):
            return
        probe = list(_probe(server))
        for n in PREWARM_WINDOWS:
            await made.attribute([probe[i % len(probe)] for i in range(n)], timeout_s)
        logger.info("gradient explainer for version %s built and warmed", server.version)
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # a warm-up must never take the service down
        logger.warning("gradient explainer warm-up for version %s: %s", server.version, exc)


async def stop_all(app: FastAPI) -> None:
    """End of the lifespan: every server's explainer (the servers' own stop did it already,
    unless a server never started)."""
    for server in app.state.runtime.models.servers():
        await server.drop_explainer()
