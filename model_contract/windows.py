"""Cutting id sequences into the model's fixed-length rows: padding and whole-review windows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from model_contract.tokenizer import TokenizerConfig


def window_starts(n_ids: int, maxlen: int, stride: int, max_windows: int) -> list[int]:
    """Start offsets of the full ``maxlen`` windows that cover ``n_ids`` ids, last window first.

    Windows end at ``n_ids``, ``n_ids - stride``, ... and one window starts at 0, so every id is
    in at least one window and no window is padding. More than ``max_windows`` windows are thinned
    evenly (first and last kept): the cost of one review is bounded by ``max_windows`` model rows.
    Training cuts its windows with this same function.
    """
    if stride < 1 or max_windows < 1:
        raise ValueError("stride and max_windows must be >= 1")
    if n_ids <= maxlen:
        return [0]
    starts = list(range(n_ids - maxlen, 0, -stride))
    starts.append(0)
    if len(starts) > max_windows == 1:
        return starts[:1]
    if len(starts) > max_windows:
        last = len(starts) - 1
        picks = sorted({round(i * last / (max_windows - 1)) for i in range(max_windows)})
        starts = [starts[i] for i in picks]
    return starts


def pad_sequence(ids: Sequence[int], config: TokenizerConfig) -> npt.NDArray[np.int32]:
    """One row of ``keras.utils.pad_sequences(..., maxlen, padding, truncating, value=pad_id)``."""
    maxlen = config.maxlen
    row = np.full(maxlen, config.pad_id, dtype=np.int32)
    if len(ids) > maxlen:
        ids = ids[-maxlen:] if config.truncating == "pre" else ids[:maxlen]
    if ids:
        if config.padding == "pre":
            row[maxlen - len(ids) :] = ids
        else:
            row[: len(ids)] = ids
    return row
