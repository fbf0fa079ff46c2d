"""training.augment: token dropout (a Keras PyDataset, hence here and not in tests/unit)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from model_contract.tokenizer import INDEX_FROM, OOV_ID, PAD_ID, START_ID
from training.augment import TokenDropout

N, MAXLEN, BATCH = 500, 40, 64


def rows(seed: int = 0) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.float32]]:
    """Pre-padded rows: padding, a start token, words, and some OOV ids already in the text."""
    rng = np.random.default_rng(seed)
    x = rng.integers(INDEX_FROM, 20_000, (N, MAXLEN)).astype(np.int32)
    for i, n_pad in enumerate(rng.integers(0, MAXLEN - 2, N)):
        x[i, :n_pad] = PAD_ID
        x[i, n_pad] = START_ID
    x[rng.random(x.shape) < 0.03] = OOV_ID
    y = np.arange(N, dtype=np.float32)  # y identifies the row, to check rows stay aligned
    return x, y


def epoch(ds: TokenDropout) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.float32]]:
    batches = [ds[i] for i in range(len(ds))]
    ds.on_epoch_end()
    return np.concatenate([b[0] for b in batches]), np.concatenate([b[1] for b in batches])


def test_an_epoch_is_every_row_once_with_its_target() -> None:
    x, y = rows()
    ds = TokenDropout(x, y, BATCH, rate=0.15, seed=1)
    assert len(ds) == -(-N // BATCH)
    xs, ys = epoch(ds)
    assert sorted(ys.tolist()) == y.tolist()  # each row once, shuffled
    assert ys.tolist() != y.tolist()
    original = x[ys.astype(int)]
    changed = xs != original
    assert (xs[changed] == OOV_ID).all()  # dropout only ever writes the OOV id


@pytest.mark.parametrize("rate", [0.05, 0.15, 0.5])
def test_the_share_of_words_dropped_is_the_rate(rate: float) -> None:
    x, y = rows()
    xs, ys = epoch(TokenDropout(x, y, BATCH, rate=rate, seed=2))
    original = x[ys.astype(int)]
    words = original >= INDEX_FROM
    dropped = (xs != original) & words
    assert dropped.sum() / words.sum() == pytest.approx(rate, abs=0.01)  # ~12k words


def test_padding_start_and_oov_ids_are_never_touched() -> None:
    x, y = rows()
    xs, ys = epoch(TokenDropout(x, y, BATCH, rate=0.9, seed=3))
    original = x[ys.astype(int)]
    special = original < INDEX_FROM
    np.testing.assert_array_equal(xs[special], original[special])
    assert (xs[original == PAD_ID] == PAD_ID).all() and (xs[original == START_ID] == START_ID).all()


def test_masks_and_order_are_fresh_every_epoch() -> None:
    x, y = rows()
    ds = TokenDropout(x, y, BATCH, rate=0.15, seed=4)
    (x1, y1), (x2, y2) = epoch(ds), epoch(ds)
    assert y1.tolist() != y2.tolist()  # reshuffled
    order1, order2 = np.argsort(y1), np.argsort(y2)
    assert not np.array_equal(x1[order1], x2[order2])  # different words dropped
    np.testing.assert_array_equal(x, rows()[0])  # the training rows themselves are never edited


def test_a_seed_makes_it_reproducible() -> None:
    x, y = rows()
    a = TokenDropout(x, y, BATCH, rate=0.15, seed=5)
    b = TokenDropout(x, y, BATCH, rate=0.15, seed=5)
    for _ in range(2):
        (xa, ya), (xb, yb) = epoch(a), epoch(b)
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)
    c = TokenDropout(x, y, BATCH, rate=0.15, seed=6)
    assert not np.array_equal(epoch(c)[0], epoch(TokenDropout(x, y, BATCH, 0.15, seed=5))[0])


def test_rate_zero_is_the_data_as_is() -> None:
    x, y = rows()
    xs, ys = epoch(TokenDropout(x, y, BATCH, rate=0.0, seed=7))
    np.testing.assert_array_equal(xs, x[ys.astype(int)])


@pytest.mark.parametrize("rate", [-0.1, 1.0, 1.5])
def test_invalid_rate_rejected(rate: float) -> None:
    x, y = rows()
    with pytest.raises(ValueError, match=r"token dropout rate must be in \[0, 1\)"):
        TokenDropout(x, y, BATCH, rate=rate, seed=0)


def test_rare_words_get_their_own_rate() -> None:
    from training.augment import RARE_FROM_ID

    x, y = rows(6)
    xs, ys = epoch(TokenDropout(x, y, BATCH, rate=0.1, seed=6, rare_rate=0.5))
    original = x[ys.astype(int)]
    rare = original >= RARE_FROM_ID
    common = (original >= INDEX_FROM) & ~rare
    assert common.sum() > 2000 and rare.sum() > 2000
    assert float((xs[rare] != original[rare]).mean()) == pytest.approx(0.5, abs=0.02)
    assert float((xs[common] != original[common]).mean()) == pytest.approx(0.1, abs=0.02)
    special = original < INDEX_FROM
    np.testing.assert_array_equal(xs[special], original[special])
    with pytest.raises(ValueError, match="token dropout rate"):
        TokenDropout(x, y, BATCH, rate=0.1, seed=6, rare_rate=1.0)
