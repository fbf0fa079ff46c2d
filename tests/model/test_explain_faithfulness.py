"""Are /explain's contributions faithful? Deleting the words it ranks highest must move the model
more than deleting as many random words - on real IMDB test reviews, through the real HTTP API.

For each review, scoring mode and method (occlusion, gradient): ``POST /explain``, then the k words
with the largest contribution *towards the predicted label* are deleted from the text (their
characters cut out), and separately k random words of those it explained; ``POST /predict`` scores
both edits. The drop in P(predicted label) must be larger for the explained words - on average
(more than twice) and review by review (>= 80 %) - over all reviews (>= 200) and over the clearly
positive ones (P(positive) >= 0.9), the issue's case; and the mean drop in log-odds must be larger
by > 0.2 (a margin in P would say little when a confident model's P barely moves either way).

Data: with ``IMDB_DATA``, 250 clearly positive and 250 other test reviews from a fixed random
1,500 of the full set; else the committed sample's 300 test reviews (~90 clearly positive).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from app.config import Settings
from tests.model.conftest import SAMPLE, full_dataset_path
from tests.process.servers import run_server
from training.data import load_imdb

KS = (1, 3, 5, 10)
N_FULL = 1500  # ~25-30 % clearly positive: enough for PER_GROUP of them
PER_GROUP = 250
CLEARLY_POSITIVE = 0.9


@dataclass
class Case:
    text: str
    probability: float  # P(positive) of the untouched review
    tokens: list[dict[str, Any]]

    @property
    def sign(self) -> int:  # +1: the model says positive
        return 1 if self.probability >= 0.5 else -1


def delete(text: str, tokens: list[dict[str, Any]]) -> str:
    """``text`` with the characters of ``tokens`` cut out (the rest untouched)."""
    out, at = [], 0
    for t in sorted(tokens, key=lambda t: t["start"]):
        out.append(text[at : t["start"]])
        at = t["end"]
    return "".join([*out, text[at:]])


def predict(client: httpx.Client, texts: list[str], scoring: str) -> np.ndarray:
    # Few enough texts per request that none gets fewer windows than alone (the row budget).
    batch = max(1, Settings().rows_per_request // client.get("/model").json()["max_windows"])
    probs: list[float] = []
    for i in range(0, len(texts), batch):
        body = {"texts": texts[i : i + batch], "scoring": scoring}
        response = client.post("/predict/probability", json=body)
        assert response.status_code == 200, response.text[:300]
        probs += [p["probability"] for p in response.json()["predictions"]]
    return np.asarray(probs)


def reviews(client: httpx.Client, scoring: str) -> list[str]:
    """The sample's 300 test reviews; from the full set, 250 clearly positive + 250 others."""
    data = full_dataset_path()
    texts = load_imdb(data or str(SAMPLE)).test.texts
    if not data:
        return texts
    texts = random.Random(12).sample(texts, N_FULL)
    clear = predict(client, texts, scoring) >= CLEARLY_POSITIVE
    chosen = [t for t, c in zip(texts, clear, strict=True) if c][:PER_GROUP]
    return chosen + [t for t, c in zip(texts, clear, strict=True) if not c][:PER_GROUP]


def logit(p: np.ndarray) -> np.ndarray:
    q = np.clip(p, 1e-7, 1 - 1e-7)
    return np.asarray(np.log(q) - np.log1p(-q))


@pytest.mark.slow
@pytest.mark.process
@pytest.mark.parametrize("method", ["occlusion", "gradient"])
@pytest.mark.parametrize("scoring", ["last", "whole"])
def test_deleting_top_words_moves_the_model_more_than_random_words(
    tmp_path: Path, scoring: str, method: str
) -> None:
    rng = random.Random(0)
    with run_server(tmp_path) as server, httpx.Client(base_url=server.url, timeout=60) as client:
        texts = reviews(client, scoring)
        assert len(texts) >= 200
        version = client.get("/model").json()["version"]
        cases = []
        for text in texts:
            body = {"text": text, "scoring": scoring, "method": method}
            response = client.post("/explain", json=body)
            assert response.status_code == 200, response.text[:300]
            answer = response.json()
            cases.append(Case(text, answer["probability"], answer["tokens"]))
        base = predict(client, [c.text for c in cases], scoring)
        assert np.allclose(base, [c.probability for c in cases], atol=1e-5)
        rows = []
        for k in KS:
            top_texts, random_texts = [], []
            for c in cases:
                scored = [t for t in c.tokens if t["status"] == "scored"]
                ranked = sorted(scored, key=lambda t: -c.sign * t["contribution"])
                top = [t for t in ranked[:k] if c.sign * t["contribution"] > 0] or ranked[:1]
                top_texts.append(delete(c.text, top))
                random_texts.append(delete(c.text, rng.sample(scored, len(top))))
            sign = np.asarray([c.sign for c in cases])
            p_top, p_random = (
                predict(client, top_texts, scoring),
                predict(client, random_texts, scoring),
            )
            drops = [  # drop in P(predicted label), then in its log-odds
                (sign * (base - p_top), sign * (base - p_random)),
                (sign * (logit(base) - logit(p_top)), sign * (logit(base) - logit(p_random))),
            ]
            rows.append((k, drops))
    positive = base >= CLEARLY_POSITIVE
    print(
        f"\nfaithfulness, scoring={scoring}, method={method}: {len(cases)} IMDB test reviews "
        f"({positive.sum()} clearly positive), model version {version}"
    )
    print(
        "| k | reviews | mean drop in P, top-k vs random k (top > random) "
        "| mean drop in log-odds, top-k vs random k |"
    )
    print("|---:|---|---:|---:|")
    for k, ((top, rand), (ztop, zrand)) in rows:
        for name, mask in (("all", np.ones_like(positive)), ("clearly positive", positive)):
            wins = float((top[mask] > rand[mask]).mean())
            print(
                f"| {k} | {name} ({mask.sum()}) | {top[mask].mean():.4f} vs "
                f"{rand[mask].mean():.4f} ({wins:.0%}) | {ztop[mask].mean():.3f} vs "
                f"{zrand[mask].mean():.3f} |"
            )
    if full_dataset_path():
        assert positive.sum() >= 200
    assert positive.sum() >= 20
    for k, ((top, rand), (ztop, zrand)) in rows:
        for mask in (np.ones_like(positive), positive):
            assert top[mask].mean() > 2 * rand[mask].mean(), k
            assert (top[mask] > rand[mask]).mean() >= 0.8, k
            # a margin in log-odds: a confident model's P barely moves either way
            assert ztop[mask].mean() - zrand[mask].mean() > 0.2, k
