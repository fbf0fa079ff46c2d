"""The distillation teacher: NB-weighted logistic regression on the student's own id n-grams.

The teacher reads exactly what the LSTM reads - the tokenizer's ids (stopwords dropped, words
outside the vocabulary as the OOV id) - as unigrams and bigrams with naive-Bayes log-count-ratio
weights (Wang & Manning 2012, "NBSVM"). Trained on the fit split only, it then scores every training
row (80-token windows and short spans). The review's label is a noisy target for one window of it;
the teacher's score of that window is not, and it is defined for a one-line span too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import sparse
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import normalize

SEED = 1234
NGRAMS = (1, 2)
MIN_DF = 2
C = 16.0  # chosen on the validation split among 1/4/16 (0.9076 / 0.9196 / 0.9224)
NB_SMOOTHING = 1.0
SKIP_IDS = frozenset({0, 1})  # padding and the start token carry no sentiment

# Id sequences: lists (tests) or the int32 row matrices the training pipeline builds.
IdRows = Sequence[Sequence[int]] | npt.NDArray[np.integer]


def _as_text(rows: IdRows) -> list[str]:
    return [" ".join(str(i) for i in row if i not in SKIP_IDS) for row in rows]


@dataclass
class Teacher:
    vectorizer: CountVectorizer
    ratios: npt.NDArray[np.float64]
    model: LogisticRegression

    def _features(self, rows: IdRows) -> sparse.csr_matrix:
        x = self.vectorizer.transform(_as_text(rows)).astype(np.float64)
        return normalize(sparse.csr_matrix(x.multiply(self.ratios)))

    def logits(self, rows: IdRows) -> npt.NDArray[np.float64]:
        """Teacher log-odds of P(positive) for each id sequence (any length, padding ignored)."""
        if len(rows) == 0:
            return np.zeros(0)
        return np.asarray(self.model.decision_function(self._features(rows)), dtype=np.float64)

    def probabilities(self, rows: IdRows) -> npt.NDArray[np.float64]:
        return 1.0 / (1.0 + np.exp(-self.logits(rows)))


def fit_teacher(rows: IdRows, labels: Sequence[int], c: float = C) -> Teacher:
    """Fit on whole reviews (unpadded id lists) of the fit split."""
    if len(rows) != len(labels):
        raise ValueError("rows and labels differ in length")
    vectorizer = CountVectorizer(
        token_pattern=r"\S+", ngram_range=NGRAMS, min_df=MIN_DF, binary=True, lowercase=False
    )
    x = vectorizer.fit_transform(_as_text(rows)).astype(np.float64)
    y = np.asarray(labels)
    pos = np.asarray(x[y == 1].sum(axis=0)).ravel() + NB_SMOOTHING
    neg = np.asarray(x[y == 0].sum(axis=0)).ravel() + NB_SMOOTHING
    ratios = np.log((pos / pos.sum()) / (neg / neg.sum()))
    model = LogisticRegression(C=c, max_iter=3000, random_state=SEED)
    model.fit(normalize(sparse.csr_matrix(x.multiply(ratios))), y)
    return Teacher(vectorizer, ratios, model)
