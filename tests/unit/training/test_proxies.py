"""training.proxies: the one-liner proxies (last sentences; served accuracy on short texts)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from model_contract.scoring import Platt, ScoringPolicy
from model_contract.tokenizer import Tokenizer, TokenizerConfig
from training.proxies import MIN_WORDS, last_sentences, short_text_accuracy
from training.vocabulary import build_word_index


def test_last_sentence_of_enough_words_keeps_the_review_label() -> None:
    texts = [
        "A fine start to the film here. It ended well, I thought, on the whole. Ok.",
        "Too short. Also short!",  # no sentence of MIN_WORDS words: the review is dropped
        "One two three four five six<br />seven eight nine ten eleven twelve? yes",
        "No sentence end at all but more than six words in it",
    ]
    out, ys = last_sentences(texts, [1, 0, 0, 1])
    assert out == [
        "It ended well, I thought, on the whole.",
        "seven eight nine ten eleven twelve?",
        "No sentence end at all but more than six words in it",
    ]
    assert ys == [1, 0, 1]
    assert all(len(s.split()) >= MIN_WORDS for s in out)


def test_short_text_accuracy_is_what_the_service_would_answer() -> None:
    texts = ["good good fine", "bad awful", "good bad", "fine"]
    config = TokenizerConfig(maxlen=8, num_words=100, stopwords=())
    tok = Tokenizer(config, build_word_index(texts, config))
    good, bad = tok.word_index["good"] + 3, tok.word_index["bad"] + 3

    def predict(x: npt.NDArray[np.int32]) -> npt.NDArray[np.float32]:
        z = (x == good).sum(1) - (x == bad).sum(1)
        return np.asarray(1 / (1 + np.exp(-z)), dtype=np.float32)

    # logits 2, -1, 0, 0 -> served labels 1, 0, 1 (0.5 is positive), 1
    policy = ScoringPolicy()
    assert short_text_accuracy(predict, tok, policy, texts, [1, 0, 1, 1], "last") == 1.0
    assert short_text_accuracy(predict, tok, policy, texts, [1, 0, 0, 0], "last") == 0.5
    # The artifact's calibration is applied: a large negative intercept turns every answer negative.
    shifted = ScoringPolicy(platt={"whole": Platt(1.0, -5.0)})
    assert short_text_accuracy(predict, tok, shifted, texts, [0, 0, 0, 0], "whole") == 1.0
