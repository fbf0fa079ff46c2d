"""The seed tutorial's network, exactly, plus its inference-only twin for export."""

from __future__ import annotations

from typing import Any

import keras

EMBEDDING_DIM = 128
LSTM_UNITS = 64
DROPOUT = 0.2
RECURRENT_DROPOUT = 0.2


def build_model(
    num_words: int, maxlen: int, *, recurrent_dropout: float = RECURRENT_DROPOUT
) -> keras.Model:
    """Embedding(num_words, 128) -> LSTM(64, dropout .2, recurrent_dropout .2) -> Dense(1, sigmoid)."""
    inputs = keras.Input(shape=(maxlen,), dtype="int32", name="token_ids")
    x = keras.layers.Embedding(num_words, EMBEDDING_DIM, name="embedding")(inputs)
    x = keras.layers.LSTM(
        LSTM_UNITS, dropout=DROPOUT, recurrent_dropout=recurrent_dropout, name="lstm"
    )(x)
    outputs = keras.layers.Dense(1, activation="sigmoid", name="probability")(x)
    return keras.Model(inputs, outputs, name="imdb_lstm")


def compile_model(model: keras.Model, learning_rate: Any = 1e-3) -> None:
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
        loss="binary_crossentropy",
        metrics=["accuracy", keras.metrics.AUC(name="auc")],
    )


def inference_twin(trained: keras.Model, num_words: int, maxlen: int) -> keras.Model:
    """Same weights, ``recurrent_dropout=0``.

    Dropout is inactive at inference either way, but Keras 3 refuses the fused cuDNN LSTM kernel
    whenever ``recurrent_dropout > 0`` — even in inference mode. The twin is what gets exported.
    """
    twin = build_model(num_words, maxlen, recurrent_dropout=0.0)
    twin.set_weights(trained.get_weights())
    return twin
