"""Real IMDB test reviews as ready-made request bodies.

The full dataset is used when ``IMDB_DATA`` points at it or the shared tarball sits next to the
repo; otherwise the small sample committed under tests/data keeps ``make bench`` working anywhere.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHARED_TARBALL = REPO.parent / "shared" / "data" / "aclImdb_v1_labeled.tar.gz"
SAMPLE_TARBALL = REPO / "tests" / "data" / "aclImdb_sample.tar.gz"


def dataset_path() -> Path:
    env = os.environ.get("IMDB_DATA")
    if env and Path(env).exists():
        return Path(env)
    if SHARED_TARBALL.exists():
        return SHARED_TARBALL
    return SAMPLE_TARBALL


def load_reviews(n: int, *, max_chars: int | None = None, seed: int = 0) -> tuple[list[str], str]:
    """``n`` test reviews in a fixed shuffled order (repeated if the source has fewer)."""
    from training.data import load_imdb

    path = dataset_path()
    texts = load_imdb(str(path)).test.texts
    if max_chars is not None:
        # The service rejects over-long bodies with 422; a benchmark of rejections is no benchmark.
        texts = [t for t in texts if len(t) <= max_chars]
    random.Random(seed).shuffle(texts)
    if not texts:
        raise RuntimeError(f"no usable reviews in {path}")
    out = [texts[i % len(texts)] for i in range(n)]
    return out, str(path)


def write_bodies(texts: list[str], path: Path) -> None:
    """One JSON request body per line: the load generator never serialises on the hot path."""
    with path.open("w", encoding="utf-8") as fh:
        for text in texts:
            fh.write(json.dumps({"text": text}, ensure_ascii=False) + "\n")
