"""Compiling the seed tutorial's network, and its inference-only twin for export.

The architecture itself (``build_model`` and its constants) lives in ``model_contract.network``:
the service rebuilds the same network from an artifact's weights for the GPU path.
"""

from __future__ import annotations

from typing import Any

import keras

from model_contract.network import build_model


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
    (Keras also picks cuDNN only if TensorFlow sees a GPU when the function is traced: an export
    on a CPU holds the generic loop; ``model_contract.cudnn`` builds the GPU function at serving.)
    """
    twin = build_model(num_words, maxlen, recurrent_dropout=0.0)
    twin.set_weights(trained.get_weights())
    return twin
