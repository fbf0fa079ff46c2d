"""training.pretrain: PPMI co-occurrence vectors reduced by SVD, the embedding's starting point."""

from __future__ import annotations

import numpy as np
import pytest

from training.pretrain import INIT_STD, cooccurrence, ppmi, ppmi_svd_embeddings

NUM_WORDS = 30 + 10 * 10 + 5  # ten topics of context words, five unused ids


def test_cooccurrence_counts_pairs_by_distance() -> None:
    counts = cooccurrence([[1, 5, 6, 7]], NUM_WORDS, window=2).toarray()
    assert counts[5, 6] == counts[6, 5] == 1.0  # neighbours
    assert counts[5, 7] == counts[7, 5] == 0.5  # distance 2: weight 1/2
    assert counts[6, 7] == 1.0
    assert counts.sum() == 2 * (1 + 1 + 0.5)
    assert (counts == counts.T).all()


def test_cooccurrence_ignores_special_ids_window_and_review_edges() -> None:
    # 0 padding, 1 start, 2 OOV and ids >= num_words are not words; reviews do not touch.
    counts = cooccurrence([[0, 1, 2, 10, 999, 11], [12], [13, 14, 15, 16]], NUM_WORDS, 1)
    dense = counts.toarray()
    assert dense[:3].sum() == 0 and dense[:, :3].sum() == 0
    assert dense[10, 11] == 1.0  # 999 is dropped first, so 10 and 11 become neighbours
    assert dense[11, 12] == 0 and dense[12].sum() == 0
    assert dense[13, 15] == 0  # beyond the window
    assert cooccurrence([], NUM_WORDS, 5).shape == (NUM_WORDS, NUM_WORDS)
    assert cooccurrence([[5]], NUM_WORDS, 5).nnz == 0


def test_ppmi_is_positive_and_keeps_the_shape() -> None:
    rng = np.random.default_rng(0)
    rows = [list(rng.integers(3, NUM_WORDS, 20)) for _ in range(200)]
    counts = cooccurrence(rows, NUM_WORDS, 3)
    m = ppmi(counts)
    assert m.shape == counts.shape
    assert (m.data > 0).all()
    assert m.nnz < counts.nnz  # pairs seen less than chance are dropped


def reference_ppmi_raw(counts: np.ndarray, alpha: float = 0.75) -> np.ndarray:
    """log P(w, c) / (P(w) P_alpha(c)), P_alpha(c) = count(c)^alpha / sum over c' of
    count(c')^alpha (Levy et al. 2015); -inf where the pair was never seen."""
    p_wc = counts / counts.sum()
    p_w = counts.sum(axis=1, keepdims=True) / counts.sum()
    col = counts.sum(axis=0, keepdims=True) ** alpha
    with np.errstate(divide="ignore", invalid="ignore"):
        result: np.ndarray = np.log(p_wc / (p_w * col / col.sum()))
    return result


def reference_ppmi(counts: np.ndarray, alpha: float = 0.75) -> np.ndarray:
    """The textbook definition: max(0, PMI_alpha), 0 for pairs never seen."""
    return np.where(counts > 0, np.maximum(reference_ppmi_raw(counts, alpha), 0), 0)


def test_ppmi_matches_the_textbook_definition() -> None:
    counts = cooccurrence(topic_corpus(0), NUM_WORDS, 2)
    np.testing.assert_allclose(ppmi(counts).toarray(), reference_ppmi(counts.toarray()), atol=1e-9)


def test_v3_shift_reproduces_the_pmi_v3_was_trained_with() -> None:
    # v3's init subtracted log(total / sum count(c)^0.75) before clipping at 0; kept behind a
    # flag so `--embedding-init ppmi-svd-v3` still rebuilds v3's starting point.
    counts = cooccurrence(topic_corpus(0), NUM_WORDS, 2)
    dense = counts.toarray()
    col = dense.sum(axis=0) ** 0.75
    shift = np.log(dense.sum() / col.sum())
    assert shift > 0
    expected = np.where(dense > 0, np.maximum(reference_ppmi_raw(dense) - shift, 0), 0)
    np.testing.assert_allclose(ppmi(counts, v3_shift=True).toarray(), expected, atol=1e-9)
    assert ppmi(counts, v3_shift=True).nnz < ppmi(counts).nnz


TOPICS = 10


def topic_corpus(seed: int) -> list[list[int]]:
    """Ten topics: words 3+2t and 4+2t share topic t's context words (30+10t ... 39+10t) but
    never appear together; every row is one topic word among eight of its context words."""
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(2000):
        t = int(rng.integers(TOPICS))
        context = [int(c) for c in rng.integers(30 + 10 * t, 40 + 10 * t, 8)]
        context.insert(4, int(rng.choice([3 + 2 * t, 4 + 2 * t])))
        rows.append([1, *context])
    return rows


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def test_words_used_alike_get_similar_vectors() -> None:
    vectors = ppmi_svd_embeddings(topic_corpus(0), NUM_WORDS, dim=TOPICS, window=2)
    for t in range(TOPICS):
        a, b, other = vectors[3 + 2 * t], vectors[4 + 2 * t], vectors[3 + 2 * ((t + 1) % TOPICS)]
        assert cosine(a, b) > 0.8  # same contexts, never seen together
        assert cosine(a, b) > cosine(a, other) + 0.5
        ctx = vectors[30 + 10 * t : 40 + 10 * t]
        assert cosine(ctx[0], ctx[5]) > cosine(ctx[0], vectors[30 + 10 * ((t + 1) % TOPICS)]) + 0.5


def test_embedding_shape_scale_and_special_ids() -> None:
    vectors = ppmi_svd_embeddings(topic_corpus(1), NUM_WORDS, dim=6)
    assert vectors.shape == (NUM_WORDS, 6) and vectors.dtype == np.float32
    words = np.r_[3 : 3 + 2 * TOPICS, 30 : 30 + 10 * TOPICS]
    assert (np.abs(vectors[words]).sum(axis=1) > 0).all()
    # Ids with no context (padding, start, OOV, unused ids) get small uniform noise, not zeros.
    for i in (0, 1, 2, 25, NUM_WORDS - 1):
        assert np.abs(vectors[i]).max() <= INIT_STD and np.abs(vectors[i]).sum() > 0
    assert float(vectors.std()) == pytest.approx(INIT_STD, rel=0.3)


def test_embeddings_are_deterministic() -> None:
    rows = topic_corpus(2)
    np.testing.assert_array_equal(
        ppmi_svd_embeddings(rows, NUM_WORDS, 4), ppmi_svd_embeddings(rows, NUM_WORDS, 4)
    )
