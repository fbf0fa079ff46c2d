"""The tokenizer's Latin-1 fast path against its regex definition on every review of the dataset."""

from __future__ import annotations

import pytest

from model_contract.artifact import load_artifact
from tests.model.conftest import MODEL_DIR, full_dataset_path
from tests.unit.model_contract.test_tokenizer import reference_ids
from training.data import load_imdb


@pytest.mark.slow
def test_fast_path_equals_regex_on_all_50k_reviews() -> None:
    data = full_dataset_path()
    if data is None:
        pytest.skip("IMDB_DATA not set: the committed sample is covered by the unit tests")
    tok = load_artifact(MODEL_DIR).tokenizer
    ds = load_imdb(data)
    texts = [*ds.train.texts, *ds.test.texts]
    assert len(texts) == 50_000
    mismatches = [
        text[:80] for text in texts if tok.to_ids(text)[0][1:] != reference_ids(tok, text)
    ]
    assert mismatches == []
