"""Real reviews are readable: at most 0.5 % of the 25,000 IMDB test reviews may be flagged.

Needs ``IMDB_DATA`` (CI sets it); skipped without it. The verdict is the service's
(``model_contract.readability`` on the committed model's tokenizer counts, with the language
identifier asked exactly when the service asks it), so this is what ``/predict`` answers.
"""

from __future__ import annotations

from collections import Counter

import pytest

from model_contract.artifact import load_artifact
from model_contract.language import LanguageIdentifier
from model_contract.readability import decide, needs_language
from tests.model.conftest import MODEL_DIR, full_dataset_path
from training.data import load_imdb

MAX_FLAGGED = 0.005


@pytest.mark.slow
def test_at_most_half_a_percent_of_imdb_test_reviews_are_flagged() -> None:
    data = full_dataset_path()
    if data is None:
        pytest.skip("IMDB_DATA not set: the 25,000 test reviews are needed")
    tokenizer = load_artifact(MODEL_DIR).tokenizer
    texts = load_imdb(data).test.texts
    counts = [(e.n_tokens, e.n_oov) for e in map(tokenizer.encode, texts)]
    verdicts = decide(texts, counts, tokenizer.config, LanguageIdentifier())
    reasons = Counter(str(v.reason) for v in verdicts if not v.readable)
    asked = sum(needs_language(None, n, oov) for n, oov in counts)
    flagged = sum(reasons.values())
    print(f"\n{flagged} of {len(texts)} IMDB test reviews flagged {dict(reasons)}; {asked} under")
    assert len(texts) == 25_000
    assert flagged <= MAX_FLAGGED * len(texts), reasons
