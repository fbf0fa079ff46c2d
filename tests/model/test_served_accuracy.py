"""The committed default model through the real HTTP API (uvicorn subprocess, default settings).

With ``IMDB_DATA`` (CI sets it): all 25,000 IMDB test reviews, in both scoring modes. Without it:
the committed 300-review sample, with floors loosened by its standard error (~2 points).
"""

from __future__ import annotations

from pathlib import Path

import httpx
import numpy as np
import pytest

from tests.model.conftest import SAMPLE, full_dataset_path
from tests.process.servers import run_server
from training.data import load_imdb

# v5 measures 0.9014 (whole review, default) and 0.8902 (last 80) on all 25,000 reviews (v4: 0.8987
# / 0.8867; docs/training.md); the floors sit just under the measured values so any regression fails.
FULL_MIN_ACCURACY = {"default": 0.898, "last": 0.887}
SAMPLE_MIN_ACCURACY = {"default": 0.86, "last": 0.83}
BATCH = 64  # MAX_TEXTS_PER_REQUEST


def served_labels(url: str, texts: list[str], scoring: str | None) -> list[int]:
    labels: list[int] = []
    with httpx.Client(base_url=url, timeout=60) as client:
        for i in range(0, len(texts), BATCH):
            body: dict[str, object] = {"texts": texts[i : i + BATCH]}
            if scoring is not None:
                body["scoring"] = scoring
            response = client.post("/predict/label", json=body)
            assert response.status_code == 200, response.text[:500]
            labels += [int(p["label"] == "positive") for p in response.json()["predictions"]]
    return labels


@pytest.mark.slow
@pytest.mark.process
def test_accuracy_through_post_predict(tmp_path: Path) -> None:
    data = full_dataset_path()
    test = load_imdb(data or str(SAMPLE)).test
    floors = FULL_MIN_ACCURACY if data else SAMPLE_MIN_ACCURACY
    y = np.asarray(test.labels)
    accuracy = {}
    with run_server(tmp_path) as server:
        for name, scoring in (("default", None), ("last", "last")):
            pred = np.asarray(served_labels(server.url, test.texts, scoring))
            accuracy[name] = float((pred == y).mean())
    print(f"\nserved accuracy on {len(y)} IMDB test reviews: {accuracy}")
    for name, floor in floors.items():
        assert accuracy[name] >= floor, f"{name}: {accuracy[name]:.4f} < {floor}"
