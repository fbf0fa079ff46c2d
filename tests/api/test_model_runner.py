"""The TensorFlow runner on the committed model: XLA-compiled padded batches equal the plain graph."""

from __future__ import annotations

import numpy as np
import pytest

from model_contract.artifact import Artifact
from model_contract.policy import BatchPolicy, padded_batch_sizes
from model_contract.runner import ModelRunner
from tests.model.conftest import SAMPLE
from training.data import load_imdb


@pytest.mark.parametrize(
    ("max_batch_size", "expected"),
    [
        (1, [1]),
        (10, [1, 2, 4, 8, 10]),
        (64, [1, 2, 4, 8, 16, 32, 48, 64]),
        (100, [1, 2, 4, 8, 16, 32, 48, 64, 80, 96, 100]),
        (256, [1, 2, 4, 8, 16, 32, 64, 96, 128, 160, 192, 224, 256]),
        (4096, [1 << k for k in range(9)] + list(range(512, 4097, 512))),
    ],
)
def test_padded_batch_sizes(max_batch_size: int, expected: list[int]) -> None:
    assert padded_batch_sizes(max_batch_size) == expected


@pytest.mark.parametrize("max_batch_size", [1, 2, 3, 17, 64, 100, 1000, 4096])
def test_padding_at_most_doubles_a_batch_or_adds_one_step(max_batch_size: int) -> None:
    sizes = padded_batch_sizes(max_batch_size)
    step = max(16, -(-max_batch_size // 8))
    assert sizes == sorted(set(sizes)) and sizes[-1] == max_batch_size
    for n in range(1, max_batch_size + 1):
        padded = next(s for s in sizes if s >= n)
        assert padded <= max(2 * n, n + step - 1)


def test_xla_runner_equals_plain_graph_on_real_reviews(artifact: Artifact) -> None:
    texts = load_imdb(str(SAMPLE)).test.texts
    ids = artifact.tokenizer.encode_batch(texts[:65])
    maxlen = artifact.tokenizer.config.maxlen
    plain = ModelRunner(artifact.path, maxlen, BatchPolicy(xla=False), "/CPU:0")
    xla = ModelRunner(artifact.path, maxlen, BatchPolicy(max_batch_size=64, xla=True), "/CPU:0")
    assert xla.xla and xla.batch_sizes[-1] == 64 and not plain.xla
    for n in (1, 3, 17, 33, 64, 65):  # exact sizes, padded sizes, and one above the largest
        got, want = xla.predict(ids[:n]), plain.predict(ids[:n])
        assert got.shape == want.shape == (n,)
        np.testing.assert_allclose(got, want, atol=1e-6, rtol=0)


def test_xla_failure_at_warm_up_falls_back_to_the_plain_graph(
    artifact: Artifact, caplog: pytest.LogCaptureFixture
) -> None:
    import tensorflow as tf

    policy = BatchPolicy(max_batch_size=1, xla=True, warmup_repeats=1)
    runner = ModelRunner(artifact.path, artifact.tokenizer.config.maxlen, policy, "/CPU:0")

    def broken(ids: object) -> object:
        raise tf.errors.InternalError(None, None, "no XLA here")

    runner._compiled = broken  # type: ignore[assignment]
    runner.warmup()
    assert not runner.xla and runner.batch_sizes == []
    assert "serving the plain graph" in caplog.text
    ids = artifact.tokenizer.encode_batch(["A wonderful film.", "Dull and lifeless."])
    assert runner.predict(ids).shape == (2,)
