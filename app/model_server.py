"""One loaded model version behind a narrow interface: artifact + runner + batcher + policy.

The runtime (``app.service``) talks to a ``ModelServer`` only through ``submit``, ``info``,
``state`` and the lifecycle calls; ``app.model_registry`` keeps several side by side, each with its
own batcher, warm-up and batching policy (a GPU server gets a different ``BatchPolicy``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np
import numpy.typing as npt

from app.batcher import Batcher, BatchHooks
from app.safe_text import clip
from app.version_scan import ScanLimits, check_version_dir, manifest_hash
from model_contract.artifact import Artifact, ArtifactError, load_artifact
from model_contract.policy import BatchPolicy

logger = logging.getLogger(__name__)

Row = npt.NDArray[np.int32]
# "failed" is never the state of a live server (a failed load raises); the registry reports it.
State = Literal["loading", "ready", "draining", "stopped", "failed"]


class Runner(Protocol):
    device: str
    xla: bool
    kernel: str  # what runs the LSTM: "xla-cpu", "savedmodel" or "cudnn" (model_contract.cudnn)

    def predict(self, ids: npt.NDArray[np.int32]) -> npt.NDArray[np.float32]: ...

    def warmup(self) -> None: ...


RunnerFactory = Callable[[Path, int], Runner]


class Companion(Protocol):
    """Something built for one server that must end with it (``/explain``'s gradient batcher)."""

    async def stop(self) -> None: ...


def describe_load_error(exc: BaseException, model_dir: Path) -> str:
    """One line: an ``ArtifactError`` as is; TensorFlow's many-line errors by their first line."""
    if isinstance(exc, ArtifactError):
        return clip(str(exc), 1000)  # artifact text may be in it: one line, bounded
    if isinstance(exc, PermissionError):  # the files may be fine: the mount or mode is not
        where = Path(str(exc.filename or model_dir))
        if where.is_relative_to(model_dir):
            where = where.relative_to(model_dir)
        return (
            f"{where}: permission denied; make the version folder readable by uid {os.getuid()} "
            "(the service's user)"
        )
    first = (str(exc).strip().splitlines() or [""])[0][:300]
    return (
        f"could not load the model under {model_dir}: {type(exc).__name__}: {first}; "
        "restore the artifact from git or re-export it"
    )


def _batch_fn(runner: Runner, calls: list[float]) -> Callable[[list[Row]], Sequence[float]]:
    def run_batch(rows: list[Row]) -> Sequence[float]:
        """Runs in the batcher's thread: one stack, one model call for the whole batch.
        ``calls`` holds the running call's start (app/watchdog.py reads it: a wedged call)."""
        calls.append(time.monotonic())
        try:
            probs: list[float] = runner.predict(np.stack(rows)).tolist()
        finally:
            calls.clear()
        return probs

    return run_batch


class ModelServer:
    def __init__(
        self, artifact: Artifact, runner: Runner, policy: BatchPolicy, hooks: BatchHooks
    ) -> None:
        self.artifact = artifact
        self.runner = runner
        self.policy = policy.for_device(runner.device)
        self.state: State = "loading"
        self.manifest_sha256 = manifest_hash(artifact.path)
        # /explain's gradient batcher (app.explain.gradient), built on demand and stopped with
        # this server: held anywhere else, it kept an unloaded model alive (+25 MiB per swap).
        self.explainer: asyncio.Task[Companion | str] | None = None
        self._calls: list[float] = []  # the running model call's start time, if one runs
        self._batcher: Batcher[Row, float] = Batcher(
            _batch_fn(runner, self._calls),  # not a bound method: no server <-> batcher cycle
            max_batch_size=self.policy.max_batch_size,
            max_delay_s=self.policy.max_delay_s,
            max_queue_size=self.policy.max_queue_size,
            hooks=hooks,
            name=f"model-{artifact.version}",
            background_room=self.policy.background_room,
        )

    @classmethod
    def load(
        cls,
        model_dir: Path,
        version: int | None,
        policy: BatchPolicy,
        runner_factory: RunnerFactory,
        hooks: BatchHooks,
        manifest_sha256: str | None = None,
        limits: ScanLimits | None = None,
    ) -> ModelServer:
        """Blocking (file checks, TensorFlow load, warm-up of every batch shape): run in a thread."""
        started = time.perf_counter()
        if limits is not None and version is not None:  # again: files may change after the scan
            check_version_dir(model_dir / str(version), limits)
        artifact = load_artifact(model_dir, version, manifest_sha256)
        runner = runner_factory(artifact.path, artifact.tokenizer.config.maxlen)
        runner.warmup()
        logger.info(
            "model version %s loaded and warmed up in %.2f s",
            artifact.version,
            time.perf_counter() - started,
        )
        return cls(artifact, runner, policy, hooks)

    @property
    def version(self) -> str:
        return str(self.artifact.version)

    def busy_for(self) -> float:
        """Seconds the running model call has taken so far (0 when none runs)."""
        calls = list(self._calls)  # the model thread appends and clears; a copy is consistent
        return time.monotonic() - calls[0] if calls else 0.0

    @property
    def depth(self) -> int:
        return self._batcher.depth

    def start(self) -> None:
        self._batcher.start()
        self.state = "ready"

    def submit(self, rows: Sequence[Row], background: bool = False) -> list[asyncio.Future[float]]:
        """Enqueue all rows or none (``QueueFull`` / ``BatcherClosed`` from the batcher);
        ``background`` rows (``/explain``) queue behind the others."""
        return self._batcher.submit_many(rows, background)

    def submit_group(
        self, rows: Sequence[Row], background: bool = False
    ) -> asyncio.Future[list[float]]:
        """``submit``, with one future for all the rows' outputs (in order)."""
        return self._batcher.submit_group(rows, background)

    def hurry(self) -> None:
        """Draining: run what is queued without waiting for batches to fill."""
        self.state = "draining"
        self._batcher.hurry()

    async def stop(self, grace_s: float) -> None:
        self.hurry()
        await self._batcher.shutdown(grace_s=grace_s)
        if (thread := self._batcher.thread) is not None:  # it ends right after the drain
            await asyncio.to_thread(thread.join, grace_s)
        await self.drop_explainer()
        self.state = "stopped"

    async def drop_explainer(self) -> None:
        """Stop and forget the gradient batcher, if one was built (or is being built)."""
        task, self.explainer = self.explainer, None
        if task is not None:
            made = (await asyncio.gather(task, return_exceptions=True))[0]
            if not isinstance(made, (str, BaseException)):
                await made.stop()

    def info(self) -> dict[str, Any]:
        """What is served and how (``GET /model``)."""
        artifact, scoring = self.artifact, self.artifact.scoring
        return {
            "version": self.version,
            "state": self.state,
            "maxlen": artifact.tokenizer.config.maxlen,
            "vocabulary_size": artifact.tokenizer.vocabulary_size,
            "device": self.runner.device,
            "xla": self.runner.xla,
            "kernel": self.runner.kernel,
            "test_accuracy": artifact.test_accuracy,
            "tokenizer_fingerprint": str(artifact.preprocessing.get("fingerprint", "")),
            "manifest_sha256": self.manifest_sha256,
            "max_batch_size": self.policy.max_batch_size,
            "max_batch_delay_ms": self.policy.max_delay_s * 1000.0,
            "window_stride": scoring.stride,
            "max_windows": scoring.max_windows,
            "calibrated": bool(scoring.platt),
        }


def version_row(
    version: int, state: str, server: ModelServer | None, sha: str | None
) -> dict[str, Any]:
    """One ``GET /models`` entry (a failed or loading version has no server)."""
    artifact = server.artifact if server is not None else None
    return {
        "version": str(version),
        "state": state,
        "default": False,
        "test_accuracy": artifact.test_accuracy if artifact else None,
        "manifest_sha256": sha,
        "tokenizer_fingerprint": artifact.preprocessing.get("fingerprint") if artifact else None,
        "device": server.runner.device if server else None,
    }
