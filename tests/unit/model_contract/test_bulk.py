"""model_contract/bulk.py with a fake model: the service's rows, fixed-size calls, input order."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import numpy as np
import pytest

from model_contract.artifact import Artifact, load_artifact
from model_contract.bulk import BulkScorer, Encoded, prefetch
from model_contract.settings import ModelSettings

LONG = " ".join(f"word{i} great awful plot" for i in range(800))  # > 32 windows
TEXTS = ["Loved it.", "the a an", "!!!", "", LONG, "Dull <br /> and slow", "É😀", LONG[:900]]


@pytest.fixture(scope="module")
def artifact() -> Artifact:
    return load_artifact(ModelSettings().resolved_model_dir())


class FakeModel:
    """P(positive) from a row's contents (so a misplaced row changes the answer); records calls."""

    def __init__(self) -> None:
        self.sizes: list[int] = []

    def __call__(self, rows: np.ndarray) -> np.ndarray:
        assert rows.dtype == np.int32
        self.sizes.append(len(rows))
        return self.row_probs(rows)

    @staticmethod
    def row_probs(rows: np.ndarray) -> np.ndarray:
        x = (rows.astype(np.int64) * np.arange(1, rows.shape[1] + 1)).sum(axis=1) % 1000
        return np.asarray(0.05 + 0.9 * x / 1000, dtype=np.float32)


def expected(artifact: Artifact, texts: list[str], mode: str, max_windows: int) -> list[float]:
    """What the service computes for each text alone (app/service.py ``_rows`` + ``combine``)."""
    tok, policy, out = artifact.tokenizer, artifact.scoring, []
    for text in texts:
        if mode == "last":
            rows = tok.encode(text).ids[None, :]
        else:
            rows = tok.encode_windows(text, policy.stride, max_windows).rows
        out.append(policy.combine(FakeModel.row_probs(rows).tolist(), mode))  # type: ignore[arg-type]
    return out


def chunked(texts: list[str], sizes: list[int]) -> Iterator[list[str]]:
    start = 0
    for size in sizes:
        yield texts[start : start + size]
        start += size


@pytest.mark.parametrize("mode", ["whole", "last"])
@pytest.mark.parametrize("batch_size", [1, 3, 16, 1000])
@pytest.mark.parametrize("sizes", [[8], [1] * 8, [3, 0, 4, 0, 1], [0, 2, 6, 0]])
def test_results_in_order_whatever_the_chunks_and_batches(
    artifact: Artifact, mode: str, batch_size: int, sizes: list[int]
) -> None:
    model = FakeModel()
    scorer = BulkScorer(artifact.tokenizer, artifact.scoring, model, mode=mode,  # type: ignore[arg-type]
                        batch_size=batch_size)  # fmt: skip
    chunks = [scorer.encode(i, c) for i, c in enumerate(chunked(TEXTS, sizes))]
    results = list(scorer.score(iter(chunks)))
    assert [r.tag for r in results] == list(range(len(sizes)))  # every chunk, empty ones too
    probs = [p for r in results for p in r.probabilities]
    assert probs == expected(artifact, TEXTS, mode, artifact.scoring.max_windows)
    assert set(model.sizes) == {batch_size}  # one XLA shape: the last call is padded
    windows = [w for r in results for w in r.windows]
    assert sum(windows) == scorer.rows_run == sum(len(c.rows) for c in chunks)
    if mode == "whole":
        assert windows[4] == artifact.scoring.max_windows > 1  # LONG is thinned to the cap
    else:
        assert set(windows) == {1}


def test_max_windows_thins_like_a_many_text_request(artifact: Artifact) -> None:
    model = FakeModel()
    scorer = BulkScorer(artifact.tokenizer, artifact.scoring, model, mode="whole", max_windows=3)
    (result,) = scorer.score([scorer.encode(None, TEXTS)])
    assert result.probabilities == expected(artifact, TEXTS, "whole", 3)
    assert max(result.windows) == 3


def test_no_input_no_model_call(artifact: Artifact) -> None:
    model = FakeModel()
    scorer = BulkScorer(artifact.tokenizer, artifact.scoring, model, mode="whole")
    assert list(scorer.score([])) == []
    assert [r.probabilities for r in scorer.score([scorer.encode(None, [])])] == [[]]
    assert model.sizes == []


def test_invalid_sizes(artifact: Artifact) -> None:
    for kw in ({"batch_size": 0}, {"max_windows": 0}):
        with pytest.raises(ValueError, match=">= 1"):
            BulkScorer(artifact.tokenizer, artifact.scoring, FakeModel(), mode="last", **kw)  # type: ignore[arg-type]


def test_a_chunk_is_handed_out_as_soon_as_its_rows_have_run(artifact: Artifact) -> None:
    """Carry-over must not hold results back until the end (streaming output)."""
    scorer = BulkScorer(artifact.tokenizer, artifact.scoring, FakeModel(), mode="last",
                        batch_size=4)  # fmt: skip
    seen: list[int] = []

    def chunks() -> Iterator[Encoded[int]]:
        for i in range(5):
            seen.append(i)
            yield scorer.encode(i, ["a", "b", "c", "d"])

    for result in scorer.score(chunks()):
        assert seen[-1] == result.tag  # chunk i is out before chunk i + 1 is read


def test_prefetch_keeps_order_and_bounds_the_lead() -> None:
    produced: list[int] = []

    def items() -> Iterator[int]:
        for i in range(50):
            produced.append(i)
            yield i

    out = []
    for i in prefetch(items(), depth=2):
        time.sleep(0.001)
        assert len(produced) - i <= 4  # queue of 2 + one being put + one being made
        out.append(i)
    assert out == list(range(50))


def test_prefetch_reraises_the_producers_error() -> None:
    def items() -> Iterator[int]:
        yield 1
        raise OSError("disk gone")

    it = prefetch(items())
    assert next(it) == 1
    with pytest.raises(OSError, match="disk gone"):
        next(it)


def test_closing_prefetch_stops_the_producer() -> None:
    def items() -> Iterator[int]:
        i = 0
        while True:
            yield i
            i += 1

    before = threading.active_count()
    it = prefetch(items(), depth=1)
    assert next(it) == 0
    it.close()
    deadline = time.monotonic() + 5
    while threading.active_count() > before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert threading.active_count() == before


def test_none_flushes_the_carried_rows(artifact: Artifact) -> None:
    """A worker with nothing more queued answers every chunk it has (one padded call)."""
    model = FakeModel()
    scorer = BulkScorer(artifact.tokenizer, artifact.scoring, model, mode="last", batch_size=8)
    first, second = scorer.encode(0, ["a", "b", "c"]), scorer.encode(1, ["d"])
    results = scorer.score(iter([first, None, None, second]))
    assert next(results).tag == 0 and model.sizes == [8]  # answered before chunk 1 arrived
    assert [r.tag for r in results] == [1] and model.sizes == [8, 8]
    assert scorer.rows_run == 4


def test_chunks_without_rows_do_not_pile_up(artifact: Artifact) -> None:
    """1 good row, then chunks of bad rows only (no model rows): the good row's partial batch
    must run before they pile up (1 good line + 5M bad lines held 1.65 GB)."""
    model = FakeModel()
    scorer = BulkScorer(artifact.tokenizer, artifact.scoring, model, mode="whole", batch_size=64)
    consumed = 0

    def chunks() -> Iterator[Encoded[int]]:
        nonlocal consumed
        yield scorer.encode(0, ["Loved it."])
        for tag in range(1, 10_000):
            consumed += 1
            yield scorer.encode(tag, [])

    results = scorer.score(chunks())
    first = next(results)
    assert first.tag == 0 and consumed <= 8, consumed
    assert sum(1 for _ in results) == 9_999
