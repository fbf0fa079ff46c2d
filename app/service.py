"""The service runtime: settings, metrics, readiness and the served models; texts -> scores.

One ``Runtime`` per app lives on ``app.state.runtime``; the lifespan starts and stops it. Each
loaded model version (artifact, runner, batcher, batching policy) is an
``app.model_server.ModelServer``; ``app.model_registry.ModelRegistry`` holds them, the default one
and the hot-reload poller.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.batcher import BatcherClosed, QueueFull
from app.config import Settings
from app.metrics import ServiceMetrics
from app.model_registry import ModelRegistry
from app.model_server import ModelServer, Row, Runner, RunnerFactory
from app.schemas import Label
from app.unreadable import Counts, Pending
from model_contract.artifact import Artifact
from model_contract.language import LanguageIdentifier
from model_contract.readability import Reason
from model_contract.scoring import Mode
from model_contract.tf_process import configure_threads, quiet_tensorflow

logger = logging.getLogger(__name__)


def default_runner_factory(settings: Settings) -> RunnerFactory:
    def factory(path: Path, maxlen: int) -> Runner:
        configure_threads()  # before TensorFlow's first import, which the next lines trigger
        with quiet_tensorflow():  # no C++ start-up chatter unless TF_CPP_MIN_LOG_LEVEL asks for it
            from model_contract.runner import ModelRunner

        return ModelRunner(path, maxlen, settings.batch_policy)

    return factory


class ServiceUnavailable(Exception):
    """Answered with 503 + Retry-After; ``reason`` is the ``sentiment_rejected_total`` label."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


class RequestTimedOut(Exception):
    """The prediction was not ready within REQUEST_TIMEOUT_S (504)."""


class InferenceFailed(Exception):
    """The model call for this request's batch raised (500, not the client's fault)."""


@dataclass(frozen=True)
class Scored:
    probability: float
    label: Label
    windows: int  # model rows this text cost
    readable: bool  # the rest: model_contract.readability.Readability's fields
    reason: Reason | None
    coverage: float
    language: str | None


class Runtime:
    """Settings, metrics, readiness and the model registry; scores texts."""

    def __init__(self, settings: Settings, runner_factory: RunnerFactory | None = None) -> None:
        self.settings = settings
        self.metrics = ServiceMetrics()
        factory = runner_factory or default_runner_factory(settings)
        self.models = ModelRegistry(settings, factory, self.metrics)
        self.draining = False
        self._drain_logged = False
        self.identify: LanguageIdentifier | None = None  # loaded by start(); tests may skip it

    @property
    def ready(self) -> bool:
        """The default version is loaded and ready, its model call is not wedged (``WEDGED_READY_S``:
        app/watchdog.py) and no SIGTERM arrived."""
        server = self.models.default
        if server is None or server.state != "ready" or self.draining:
            return False
        return server.busy_for() <= self.settings.wedged_ready_s

    def default_mode(self, server: ModelServer | None = None) -> Mode:
        """SCORING if set, else the (given or default) version's validated default."""
        if self.settings.scoring is not None:
            return self.settings.scoring
        server = server or self.models.default
        return server.artifact.scoring.default_mode if server else "last"

    @property
    def version(self) -> str:
        """The default version (``unknown`` before start-up)."""
        server = self.models.default
        return server.version if server else "unknown"

    def server(self, version: str | None = None) -> ModelServer:
        """The pinned version (404 ``VersionNotLoaded`` if absent), else the default (503)."""
        server = self.models.get(version)
        if server is None:
            raise ServiceUnavailable("not_ready", "model is not loaded yet")
        return server

    def model_info(self) -> dict[str, Any]:
        server = self.server()
        return server.info() | {
            "threshold": self.settings.threshold,
            "default_scoring": self.default_mode(server),
        }

    async def start(self) -> None:
        self.identify = await asyncio.to_thread(LanguageIdentifier)
        await self.models.start()
        server = self.server()
        logger.info(
            "service ready version=%s device=%s fingerprint=%s max_batch_size=%d "
            "max_batch_delay_ms=%g max_queue_size=%d versions=%s poll_s=%g",
            server.version, server.runner.device,
            server.artifact.preprocessing.get("fingerprint"), server.policy.max_batch_size,
            server.policy.max_delay_s * 1000, server.policy.max_queue_size,
            ",".join(self.models.loaded),
            self.settings.model_poll_s,
        )  # fmt: skip
        self.models.start_polling()

    def begin_drain(self) -> None:
        """Readiness goes 503 at once; queued and in-flight work still completes."""
        if not self._drain_logged:
            self._drain_logged = True
            logger.info("draining: readiness now 503; finishing queued and in-flight work")
        self.draining = True
        self.models.hurry()

    async def stop(self) -> None:
        self.begin_drain()
        depth = await self.models.stop()
        logger.info("batchers drained (had %d queued)", depth)
        self.metrics.close()

    def _rows(
        self, artifact: Artifact, texts: Sequence[str], mode: Mode
    ) -> tuple[list[Row], list[int], list[Counts]]:
        """Model rows for each text (its windows in whole-review mode), how many per text, and
        each text's (n_tokens, n_oov) for its readability verdict."""
        tokenizer, observe_text = artifact.tokenizer, self.metrics.observe_text
        rows: list[Row] = []
        counts: list[int] = []
        stats: list[Counts] = []
        if mode == "last":
            for text in texts:
                encoded = tokenizer.encode(text)
                observe_text(encoded.n_tokens, encoded.n_oov, 1)
                stats.append((encoded.n_tokens, encoded.n_oov))
                rows.append(encoded.ids)
            return rows, [1] * len(texts), stats
        policy = artifact.scoring
        # Windows per text shrink (evenly thinned) when many long texts share one request, so a
        # request never costs more than MAX_ROWS_PER_REQUEST rows of the bounded queue.
        per_text = min(policy.max_windows, max(1, self.settings.rows_per_request // len(texts)))
        for text in texts:
            windows = tokenizer.encode_windows(text, policy.stride, per_text)
            n = len(windows.rows)
            observe_text(windows.n_tokens, windows.n_oov, n)
            stats.append((windows.n_tokens, windows.n_oov))
            rows.extend(windows.rows)
            counts.append(n)
        return rows, counts, stats

    async def score(
        self, texts: Sequence[str], mode: Mode | None = None, version: str | None = None
    ) -> tuple[str, list[Scored]]:
        """Tokenize, enqueue every row, await the batched results, combine per text (in order).

        Returns the version that scored them: the pinned one, else the default at submit time.
        """
        server = self.server(version)
        artifact = server.artifact
        mode = mode or self.default_mode(server)
        rows, counts, stats = self._rows(artifact, texts, mode)
        pending = Pending(texts, stats, self.identify, artifact.tokenizer.config)
        try:
            probs = await self.infer(server, rows)  # submits before the language task starts
        except BaseException:
            pending.cancel()
            raise
        verdicts = await pending.result()
        threshold = self.settings.threshold
        count, observe = self.metrics.count_prediction, self.metrics.observe_verdict
        combine = artifact.scoring.combine
        scored = []
        start = 0
        for n, v in zip(counts, verdicts, strict=True):
            p = combine(probs[start : start + n], mode)
            start += n
            label: Label = "positive" if p >= threshold else "negative"
            count(label)
            observe(v, label)
            scored.append(Scored(p, label, n, v.readable, v.reason, v.coverage, v.language))
        return server.version, scored

    async def infer(
        self, server: ModelServer, rows: Sequence[Row], background: bool = False
    ) -> list[float]:
        """Outputs for ``rows``: one all-or-nothing batcher submit, one deadline (503/504/500).

        Call it with a server just picked by ``server()``, without awaiting in between: a version
        being unloaded leaves the routing table before its batcher stops accepting.
        """
        try:
            waiter = server.submit_group(rows, background)
        except QueueFull as exc:
            raise ServiceUnavailable("queue_full", "server overloaded, retry later") from exc
        except BatcherClosed as exc:
            raise ServiceUnavailable("shutting_down", "server is shutting down") from exc
        # One future for all the rows (no per-row futures to gather) and one timer per request
        # instead of ``asyncio.timeout`` (cheaper on the loop).
        timed_out = False

        def expire() -> None:
            nonlocal timed_out
            timed_out = True
            waiter.cancel()

        timeout_s = self.settings.request_timeout_s
        timer = asyncio.get_running_loop().call_later(timeout_s, expire)
        try:
            return await waiter
        except asyncio.CancelledError:
            waiter.cancel()  # the batcher skips the rows not yet taken; a running batch is unharmed
            if timed_out:
                raise RequestTimedOut(f"no result within {timeout_s}s") from None
            raise
        except Exception as exc:
            raise InferenceFailed("model call failed") from exc
        finally:
            timer.cancel()
