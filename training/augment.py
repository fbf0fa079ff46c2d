"""Token dropout: each epoch, a fresh random share of each row's words becomes the OOV id.

A data augmentation, not a layer - the network stays the seed's. A row that leans on one word (a
film title, an actor's name shared by training and validation reviews of the same movie) loses it
now and then, so the model must read the rest; an OOV word at serving time is then nothing new.
Optionally rare words get a higher rate of their own (``rare_rate``).
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import numpy.typing as npt

from model_contract.tokenizer import INDEX_FROM, OOV_ID

# Rare-word dropout (``--rare-word-dropout``): words of frequency rank >= 5,000 are dropped at their
# own rate. Many names of films, actors and characters live there (a test set of other films does
# not share them) - but so do rare sentiment words ("ponderous", "refreshingly").
RARE_FROM_ID = 5_000 + INDEX_FROM


def drop_words(rows: npt.NDArray[np.int32], rng: np.random.Generator, rate: Any) -> None:
    """In place: each word id of ``rows`` becomes the OOV id with probability ``rate`` (a number,
    or an array of ``rows``' shape); padding, start and OOV ids stay as they are."""
    rows[(rows >= INDEX_FROM) & (rng.random(rows.shape) < rate)] = OOV_ID


class TokenDropout(keras.utils.PyDataset):  # type: ignore[misc]
    def __init__(
        self,
        x: npt.NDArray[np.int32],
        y: npt.NDArray[np.float32],
        batch_size: int,
        rate: float,
        seed: int,
        rare_rate: float | None = None,
        rare_from_id: int = RARE_FROM_ID,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if not 0.0 <= rate < 1.0 or not 0.0 <= (rare_rate or 0.0) < 1.0:
            raise ValueError("token dropout rate must be in [0, 1)")
        self.x, self.y, self.batch_size, self.rate = x, y, batch_size, rate
        self.rare_rate, self.rare_from_id = rare_rate, rare_from_id
        self.rng = np.random.default_rng(seed)
        self.order = self.rng.permutation(len(x))

    def __len__(self) -> int:
        return -(-len(self.x) // self.batch_size)

    def __getitem__(self, index: int) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.float32]]:
        idx = self.order[index * self.batch_size : (index + 1) * self.batch_size]
        rows = self.x[idx].copy()
        rate: Any = self.rate
        if self.rare_rate is not None:  # ids are frequency ranks: a high id is a rare word
            rate = np.where(rows >= self.rare_from_id, self.rare_rate, self.rate)
        drop_words(rows, self.rng, rate)
        return rows, self.y[idx]

    def on_epoch_end(self) -> None:
        self.order = self.rng.permutation(len(self.x))
