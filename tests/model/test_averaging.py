"""training.averaging: the EMA of the weights is what the epoch-end hooks and early stopping see."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import numpy.typing as npt
import pytest

from training.averaging import WeightAverage

EPOCHS, STEPS = 3, 8


def tiny_model() -> keras.Model:
    keras.utils.set_random_seed(0)
    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(inputs))
    model.compile(optimizer=keras.optimizers.SGD(0.5), loss="binary_crossentropy")
    return model


def data() -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(STEPS * 16, 4)).astype(np.float32)
    return x, (x[:, 0] > 0).astype(np.float32)


class Recorder(keras.callbacks.Callback):  # type: ignore[misc]
    """After the averager: the raw weights after every step, the model's at each epoch end."""

    def __init__(self) -> None:
        super().__init__()
        self.steps: list[list[npt.NDArray[Any]]] = []
        self.epoch_ends: list[list[npt.NDArray[Any]]] = []
        self.epoch_begins: list[list[npt.NDArray[Any]]] = []

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self.steps.append(self.model.get_weights())

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.epoch_ends.append(self.model.get_weights())

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.epoch_begins.append(self.model.get_weights())


def expected_average(steps: list[list[npt.NDArray[Any]]], decay: float) -> list[npt.NDArray[Any]]:
    avg = [w.astype(np.float64) for w in steps[0]]
    for weights in steps[1:]:
        avg = [decay * a + (1 - decay) * w for a, w in zip(avg, weights, strict=True)]
    return avg


@pytest.mark.parametrize("decay", [0.5, 0.9])
def test_epoch_end_hooks_see_the_moving_average_and_training_resumes_from_raw(decay: float) -> None:
    model, recorder = tiny_model(), Recorder()
    x, y = data()
    model.fit(x, y, batch_size=16, epochs=EPOCHS, shuffle=False, verbose=0,
              callbacks=[WeightAverage(decay, every=1), recorder])  # fmt: skip
    assert len(recorder.steps) == EPOCHS * STEPS
    for e in range(EPOCHS):
        # Epoch end: the average of every step so far, each epoch's last step counted twice (once
        # as a step, once at its epoch end) - not the last step's weights.
        seen = recorder.steps[: (e + 1) * STEPS]
        updates = [
            w
            for k in range(e + 1)
            for w in [*seen[k * STEPS : (k + 1) * STEPS], seen[(k + 1) * STEPS - 1]]
        ]
        want = expected_average(updates, decay)
        got = recorder.epoch_ends[e]
        for g, w in zip(got, want, strict=True):
            np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)
        assert not np.allclose(got[0], seen[-1][0])
    for e in range(1, EPOCHS):  # the next epoch starts from the optimiser's own weights
        for g, w in zip(recorder.epoch_begins[e], recorder.steps[e * STEPS - 1], strict=True):
            np.testing.assert_array_equal(g, w)
    for g, w in zip(model.get_weights(), recorder.epoch_ends[-1], strict=True):
        np.testing.assert_array_equal(g, w)  # after fit the model holds the average


def test_early_stopping_restores_the_best_epochs_average() -> None:
    model, recorder = tiny_model(), Recorder()
    x, y = data()
    scores = iter([0.5, 0.9, 0.6, 0.7])  # epoch 2 is the best

    class Score(keras.callbacks.Callback):  # type: ignore[misc]
        def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            assert logs is not None
            logs["val_score"] = next(scores)

    stop = keras.callbacks.EarlyStopping(
        monitor="val_score", mode="max", patience=2, restore_best_weights=True
    )
    model.fit(x, y, batch_size=16, epochs=4, shuffle=False, verbose=0,
              callbacks=[WeightAverage(0.9, every=1), recorder, Score(), stop])  # fmt: skip
    for g, w in zip(model.get_weights(), recorder.epoch_ends[1], strict=True):
        np.testing.assert_array_equal(g, w)


def test_every_compounds_the_decay_and_bad_values_are_refused() -> None:
    assert WeightAverage(0.999, every=10).step_decay == pytest.approx(0.999**10)
    for bad in (0.0, 1.0, -0.1):
        with pytest.raises(ValueError, match="decay"):
            WeightAverage(bad)
    with pytest.raises(ValueError, match="every"):
        WeightAverage(0.9, every=0)
