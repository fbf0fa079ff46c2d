"""Batch scoring in worker processes (``--workers N``, default: one per core, at most 4).

Each worker is a whole scorer: the artifact (checked again), a ``ModelRunner`` on one TensorFlow
thread, a ``BulkScorer``; it tokenizes and scores the chunks it is sent, one after the other. The
parent reads, checks and writes; chunk k goes to worker k mod N and results are taken back in the
same order, so the output order is the input order. With every core busy this is the most
CPU-efficient arrangement measured on the 2-core box (docs/batch.md): one TensorFlow thread per
process wastes nothing on thread hand-offs, and no process waits for another.

Workers are started with ``spawn`` (TensorFlow is not fork-safe), ignore SIGINT (the parent stops
them), and exit when the parent's pipe closes, so none outlives a killed parent for long.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import queue
import signal
import threading
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from model_contract.bulk import Scores
from model_contract.scoring import Mode

MAX_DEFAULT_WORKERS = 4  # each holds a TensorFlow runtime (~0.8 GB RSS)
# Chunks given to a worker and not yet answered, at most: one being scored, the next waiting in its
# pipe (so it never has to flush its carried-over rows early), one more queued here.
IN_FLIGHT = 3


class WorkerFailed(RuntimeError):
    """A worker could not load the model or a model call failed."""


@dataclass(frozen=True)
class WorkerConfig:
    model_dir: Path
    version: int
    sha256: str | None
    mode: Mode
    max_windows: int | None
    batch_size: int
    xla: bool


def default_workers() -> int:
    return max(1, min(len(os.sched_getaffinity(0)), MAX_DEFAULT_WORKERS))


def _worker(conn: Connection, config: WorkerConfig) -> None:  # pragma: no cover - subprocess
    """Load, say ready, then score chunks (lists of texts) until ``None`` or a closed pipe."""
    import time

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")
    try:
        from batch.run import load_runner
        from model_contract.artifact import load_artifact
        from model_contract.bulk import BulkScorer
        from model_contract.language import LanguageIdentifier

        artifact = load_artifact(config.model_dir, config.version, config.sha256)
        runner = load_runner(artifact, config.batch_size, config.xla)
        scorer = BulkScorer(artifact.tokenizer, artifact.scoring, runner.predict,
                            mode=config.mode, max_windows=config.max_windows,
                            batch_size=config.batch_size,
                            identify=LanguageIdentifier())  # fmt: skip
    except Exception as exc:
        with contextlib.suppress(OSError):
            conn.send(("error", f"{type(exc).__name__}: {exc}"))
        return
    conn.send(("ready", None))
    cpu = time.process_time()

    def incoming() -> Iterator[Any]:
        while True:
            if not conn.poll():
                yield None  # nothing more has arrived: answer every chunk received (flush)
            if (texts := conn.recv()) is None:
                return
            yield scorer.encode(None, texts)

    try:
        # Rows carry over between chunks (one model shape) while more chunks are queued; when
        # none is, the carried rows run at once, so the parent never waits on a full batch.
        for result in scorer.score(incoming()):
            conn.send(("ok", (result.probabilities, result.windows, result.verdicts)))
        conn.send(("done", time.process_time() - cpu))
    except (EOFError, OSError):
        return  # the parent went away (closed pipe)
    except Exception as exc:
        with contextlib.suppress(OSError):
            conn.send(("error", f"{type(exc).__name__}: {exc}"))


class WorkerPool:
    def __init__(self, n: int, config: WorkerConfig) -> None:
        ctx = mp.get_context("spawn")
        self._conns: list[Connection] = []
        self._procs: list[Any] = []
        self._outboxes: list[queue.SimpleQueue[Any]] = []
        self.cpu_seconds = 0.0  # the workers' CPU while scoring (reported when they finish)
        try:
            for i in range(n):
                parent, child = ctx.Pipe()
                proc = ctx.Process(target=_worker, args=(child, config), name=f"score-{i}",
                                   daemon=True)  # fmt: skip
                proc.start()
                child.close()
                self._conns.append(parent)
                self._procs.append(proc)
            for conn in self._conns:  # they load in parallel
                self._receive(conn, "ready")
            for conn in self._conns:
                # A sender thread per worker: a chunk waits in the pipe while the worker is busy
                # (so the worker sees more is coming), and the parent can go on reading.
                box: queue.SimpleQueue[Any] = queue.SimpleQueue()
                threading.Thread(target=_send_loop, args=(conn, box), daemon=True).start()
                self._outboxes.append(box)
        except BaseException:
            self.close()
            raise

    def _receive(self, conn: Connection, expected: str) -> Any:
        try:
            kind, payload = conn.recv()
        except EOFError:
            raise WorkerFailed("a scoring worker exited unexpectedly") from None
        if kind == "error":
            raise WorkerFailed(f"scoring worker: {payload}")
        assert kind == expected, (kind, expected)
        return payload

    def score(self, chunks: Iterable[Any], texts_of: Any) -> Iterator[Scores[Any]]:
        """Scores for each chunk, in order; ``texts_of(chunk)`` is what a worker scores."""
        n = len(self._conns)
        pending: deque[tuple[Connection, Any]] = deque()
        for i, chunk in enumerate(chunks):
            self._outboxes[i % n].put(texts_of(chunk))
            pending.append((self._conns[i % n], chunk))
            if len(pending) >= IN_FLIGHT * n:
                yield self._result(*pending.popleft())
        for box in self._outboxes:
            box.put(None)  # the end: the worker answers the rest, then reports its CPU time
        while pending:
            yield self._result(*pending.popleft())
        for conn in self._conns:
            self.cpu_seconds += self._receive(conn, "done")

    def _result(self, conn: Connection, chunk: Any) -> Scores[Any]:
        probabilities, windows, verdicts = self._receive(conn, "ok")
        return Scores(chunk, probabilities, windows, verdicts)

    def close(self) -> None:
        for box in self._outboxes:
            box.put(_STOP)
        for conn in self._conns:
            conn.close()  # a worker waiting for a chunk sees EOF and exits
        for proc in self._procs:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.terminate()
                proc.join(timeout=5)


_STOP = object()


def _send_loop(conn: Connection, box: queue.SimpleQueue[Any]) -> None:
    while (item := box.get()) is not _STOP:
        try:
            conn.send(item)
        except OSError:  # closed: the pool is shutting down
            return
