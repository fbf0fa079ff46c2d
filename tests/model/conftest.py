from __future__ import annotations

import os
from pathlib import Path

import pytest

from training.data import Dataset, load_imdb

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "tests" / "data" / "aclImdb_sample.tar.gz"
MODEL_DIR = ROOT / "model_artifacts" / "imdb_lstm"


@pytest.fixture(scope="session")
def sample() -> Dataset:
    return load_imdb(str(SAMPLE))


def full_dataset_path() -> str | None:
    """The full dataset when CI (or a developer) points IMDB_DATA at it."""
    path = os.environ.get("IMDB_DATA")
    return path if path and Path(path).exists() else None
