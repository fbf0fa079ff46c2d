"""Offline scoring of many texts: the service's rows and combination, in large fixed-size batches.

Pure numpy around a ``predict`` callable (``runner.ModelRunner.predict`` in practice, a fake in
unit tests); no FastAPI, no event loop. A text becomes exactly the model rows the service's
``Runtime`` builds for a single-text request (its last window in ``last`` mode, every window up to
``max_windows`` in ``whole`` mode), and its window outputs are combined by the artifact's
``ScoringPolicy.combine`` - so a probability here equals the API's for the same text.

Rows from consecutive chunks are carried over so every model call has exactly ``batch_size`` rows
(the last one padded with all-padding rows, which are dropped): the XLA runner then compiles one
program, whatever the chunk sizes. Rows are independent, so the batch a row lands in does not
change its output (the 1-row XLA program is the exception, within 2e-7; it is never used here).
"""

from __future__ import annotations

import queue
import threading
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar, cast

import numpy as np
import numpy.typing as npt

from model_contract.readability import Identify, Readability, decide
from model_contract.scoring import Mode, ScoringPolicy
from model_contract.tokenizer import Tokenizer

T = TypeVar("T")
Rows = npt.NDArray[np.int32]
Predict = Callable[[Rows], npt.NDArray[np.float32]]


MAX_PENDING = 4  # chunks waiting for their rows to run, at most (see ``BulkScorer.score``)


@dataclass(frozen=True)
class Encoded(Generic[T]):
    """One chunk: a caller's tag (its records), the chunk's model rows, rows per text."""

    tag: T
    rows: Rows  # [sum(counts), maxlen]
    counts: list[int]
    verdicts: list[Readability] = field(default_factory=list)  # one per text, as the API's


@dataclass(frozen=True)
class Scores(Generic[T]):
    """One chunk's results, in the chunk's order: calibrated P(positive) and rows per text."""

    tag: T
    probabilities: list[float]
    windows: list[int]
    verdicts: list[Readability] = field(default_factory=list)


class BulkScorer:
    """Tokenizes chunks of texts (``encode``, any thread) and scores them in order (``score``)."""

    def __init__(
        self,
        tokenizer: Tokenizer,
        scoring: ScoringPolicy,
        predict: Predict,
        *,
        mode: Mode,
        max_windows: int | None = None,
        batch_size: int = 1024,
        identify: Identify | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        self.tokenizer = tokenizer
        self.scoring = scoring
        self.predict = predict
        self.mode = mode
        self.max_windows = scoring.max_windows if max_windows is None else max_windows
        if self.max_windows < 1:
            raise ValueError("max_windows must be >= 1")
        self.batch_size = batch_size
        self.identify = identify  # the language identifier for the verdicts (None: not asked)
        self.maxlen = tokenizer.config.maxlen
        self.model_calls = 0
        self.rows_run = 0

    def encode(self, tag: T, texts: Sequence[str]) -> Encoded[T]:
        """The service's rows for each text (``Runtime._rows`` for a one-text request), and its
        readability verdict (``readability.decide``, as the service's)."""
        tokenizer, config = self.tokenizer, self.tokenizer.config
        if not texts:
            return Encoded(tag, np.zeros((0, self.maxlen), np.int32), [])
        if self.mode == "last":
            encoded = [tokenizer.encode(t) for t in texts]
            verdicts = decide(
                texts, [(e.n_tokens, e.n_oov) for e in encoded], config, self.identify
            )
            return Encoded(tag, np.stack([e.ids for e in encoded]), [1] * len(texts), verdicts)
        stride, per_text = self.scoring.stride, self.max_windows
        windows = [tokenizer.encode_windows(t, stride, per_text) for t in texts]
        verdicts = decide(texts, [(w.n_tokens, w.n_oov) for w in windows], config, self.identify)
        rows = np.concatenate([w.rows for w in windows])
        return Encoded(tag, rows, [len(w.rows) for w in windows], verdicts)

    def _run(self, rows: Rows) -> list[float]:
        """One model call of exactly ``batch_size`` rows (padded), outputs for ``rows`` only."""
        n = len(rows)
        if n < self.batch_size:
            rows = np.concatenate([rows, np.zeros((self.batch_size - n, self.maxlen), np.int32)])
        self.model_calls += 1
        self.rows_run += n
        out: list[float] = self.predict(rows)[:n].tolist()
        return out

    def score(self, chunks: Iterable[Encoded[T] | None]) -> Iterator[Scores[T]]:
        """Results chunk by chunk, in input order, as soon as all of a chunk's rows have run.

        A ``None`` among the chunks runs the carried-over rows now (one padded call), so every
        chunk received so far is answered - for a caller that cannot send more yet.
        """
        size = self.batch_size
        pending: deque[Encoded[T]] = deque()
        empty: Rows = np.zeros((0, self.maxlen), np.int32)
        carry = empty
        done: list[float] = []  # outputs of rows run so far, not yet handed out
        for chunk in chunks:
            if chunk is None:
                if len(carry):
                    done += self._run(carry)
                    carry = empty
                rows = empty
            else:
                pending.append(chunk)
                rows = np.concatenate([carry, chunk.rows]) if len(carry) else chunk.rows
            full = len(rows) - len(rows) % size
            for start in range(0, full, size):
                done += self._run(rows[start : start + size])
            if chunk is not None:
                carry = rows[full:].copy()  # a copy: do not keep the whole chunk alive
            if len(pending) > MAX_PENDING and len(carry):
                # Chunks without rows (all bad rows) behind a partial batch: run it now, so they
                # are answered instead of piling up (1 good + 5M bad lines held 1.65 GB).
                done += self._run(carry)
                carry = empty
            while pending and len(done) >= len(pending[0].rows):
                yield self._combine(pending.popleft(), done)
        if len(carry):
            done += self._run(carry)
        while pending:
            yield self._combine(pending.popleft(), done)

    def _combine(self, chunk: Encoded[T], done: list[float]) -> Scores[T]:
        combine, mode = self.scoring.combine, self.mode
        probabilities = []
        start = 0
        for n in chunk.counts:
            probabilities.append(combine(done[start : start + n], mode))
            start += n
        del done[:start]
        return Scores(chunk.tag, probabilities, chunk.counts, chunk.verdicts)


_DONE = object()


def prefetch(items: Iterable[T], depth: int = 2) -> Generator[T, None, None]:
    """Iterate ``items`` in a background thread, at most ``depth`` ahead (bounded memory).

    Lets tokenization of chunk k+1 run while the model scores chunk k (TensorFlow releases the
    GIL). An exception in the producer is re-raised here; closing this iterator early (or an
    exception in the consumer) stops the producer at its next item.
    """
    buffer: queue.Queue[object] = queue.Queue(maxsize=max(1, depth))
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                buffer.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(item):
                    return
        except BaseException as exc:  # handed to the consumer, re-raised there
            put(_Failure(exc))
            return
        put(_DONE)

    thread = threading.Thread(target=produce, name="prefetch", daemon=True)
    thread.start()
    try:
        while True:
            item = buffer.get()
            if item is _DONE:
                return
            if isinstance(item, _Failure):
                raise item.exc
            yield cast(T, item)
    finally:
        stop.set()
        thread.join(timeout=1)  # a producer blocked on a read (stdin) is a daemon: let it be


@dataclass(frozen=True)
class _Failure:
    exc: BaseException
