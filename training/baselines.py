"""The comparison models: the seed's random forest and a bag-of-words logistic regression."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.ensemble import RandomForestClassifier
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from model_contract.tokenizer import Tokenizer
from training.evaluation import classification_metrics

SEED = 1234
RF_TREES = 1000  # the tutorial's randomForest(ntree = 1000)


def random_forest(
    x_train: npt.NDArray[np.int32],
    y_train: npt.ArrayLike,
    x_test: npt.NDArray[np.int32],
    y_test: npt.ArrayLike,
    n_trees: int = RF_TREES,
) -> dict[str, Any]:
    """The seed's baseline: a forest on the padded id sequences (position-wise ids as features)."""
    forest = RandomForestClassifier(n_estimators=n_trees, n_jobs=-1, random_state=SEED)
    forest.fit(x_train, y_train)
    return classification_metrics(y_test, forest.predict_proba(x_test)[:, 1])


def tfidf_logreg(
    train_texts: Sequence[str],
    y_train: npt.ArrayLike,
    test_texts: Sequence[str],
    y_test: npt.ArrayLike,
) -> dict[str, Any]:
    """Bag of words and bigrams over the *full* review text: the honest yardstick."""
    pipeline = make_pipeline(
        TfidfVectorizer(ngram_range=(1, 2), min_df=2, max_features=200_000, sublinear_tf=True),
        LogisticRegression(C=4.0, max_iter=2000, random_state=SEED),
    )
    pipeline.fit(train_texts, y_train)
    return classification_metrics(y_test, pipeline.predict_proba(test_texts)[:, 1])


def run_all(
    tokenizer: Tokenizer,
    train_texts: Sequence[str],
    y_train: npt.ArrayLike,
    test_texts: Sequence[str],
    y_test: npt.ArrayLike,
    rf_trees: int = RF_TREES,
) -> dict[str, Any]:
    """Both baselines on the same split the LSTM used, keyed by their report names."""
    return {
        "random forest (padded ids, seed baseline)": random_forest(
            tokenizer.encode_batch(train_texts),
            y_train,
            tokenizer.encode_batch(test_texts),
            y_test,
            n_trees=rf_trees,
        ),
        "TF-IDF + logistic regression (full text)": tfidf_logreg(
            train_texts, y_train, test_texts, y_test
        ),
    }
