"""Weight averaging: an exponential moving average (EMA) of the weights is what gets validated.

With batch 32 the weights at the end of an epoch are one noisy point of the optimiser's path; the
average of the last few thousand steps is a smoother model of the same network (Polyak averaging,
as in ``keras.optimizers.Adam(use_ema=True)``). The network and its size are unchanged - one model,
not an ensemble - and only the averaged weights are ever validated, selected and exported.

Why a callback rather than ``use_ema=True``: Keras' optimizer overwrites the model with the *last*
average after ``fit`` (``finalize_variable_values``), which would undo early stopping's "restore
the best epoch". Here the average is swapped into the model at every epoch end - before the
whole-review validation and early stopping look at it - and swapped out again when the next epoch
starts, so the best epoch's *averaged* weights are the ones restored.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import numpy.typing as npt

DEFAULT_DECAY = 0.999  # per optimiser step: an average over the last ~1,000 steps (~1/3 epoch)
EVERY = 10  # steps between updates (reading the weights costs ~ms; the decay is compounded)


class WeightAverage(keras.callbacks.Callback):  # type: ignore[misc]
    """Keeps ``avg <- d * avg + (1 - d) * w`` every ``every`` steps; the model holds ``avg`` from
    each epoch's end until the next epoch begins (and after training).

    Must come *first* in the callback list so later ``on_epoch_end`` hooks see the average.
    """

    def __init__(self, decay: float = DEFAULT_DECAY, every: int = EVERY) -> None:
        super().__init__()
        if not 0.0 < decay < 1.0:
            raise ValueError("decay must be in (0, 1)")
        if every < 1:
            raise ValueError("every must be >= 1")
        self.step_decay = decay**every
        self.every = every
        self.average: list[npt.NDArray[Any]] | None = None
        self._raw: list[npt.NDArray[Any]] | None = None  # the optimiser's weights while swapped
        self._steps = 0

    def _update(self) -> None:
        weights = self.model.get_weights()
        if self.average is None:
            self.average = [np.array(w, copy=True) for w in weights]
            return
        d = self.step_decay
        for avg, w in zip(self.average, weights, strict=True):
            avg *= d
            avg += (1.0 - d) * w

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self._steps += 1
        if self._steps % self.every == 0 or self.average is None:
            self._update()

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._update()
        assert self.average is not None  # set by _update
        self._raw = self.model.get_weights()
        self.model.set_weights(self.average)

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if self._raw is not None:  # training goes on from the optimiser's own weights
            self.model.set_weights(self._raw)
            self._raw = None
