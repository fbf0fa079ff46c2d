"""Tensors of the Open Inference Protocol (KServe V2), the same for REST and gRPC.

The model takes one ``BYTES`` input, ``text``, shape ``[N]``: N review texts (UTF-8). It answers
one tensor per output in ``OUTPUTS``, each of shape ``[N]`` in input order. Tensor data arrives
either as JSON/protobuf values or as raw bytes (Triton's binary tensor data extension and gRPC's
``raw_input_contents``: every ``BYTES`` element is a 4-byte little-endian length, then its bytes);
answers are encoded the same two ways.
"""

from __future__ import annotations

import struct
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

import numpy as np

from app.service import Scored

INPUT = "text"
# name -> (datatype, what it is); the order of a response without requested outputs.
OUTPUTS: dict[str, tuple[str, str]] = {
    "probability": ("FP32", "calibrated P(positive)"),
    "label": ("BYTES", "'positive' or 'negative' (probability >= THRESHOLD)"),
    "windows": ("INT32", "80-token windows (model rows) scored for the text"),
    "readable": ("BOOL", "false: the model cannot read the text; the answer is a guess"),
    "reason": ("BYTES", "why not readable ('' when readable)"),
    "coverage": ("FP32", "share of the read words the model knows"),
    "language": ("BYTES", "ISO 639-1 code when the language identifier was asked, else ''"),
}
_LENGTH = struct.Struct("<I")


class TensorError(ValueError):
    """The request's tensors are not what the model takes (400 / INVALID_ARGUMENT)."""


@dataclass(slots=True)
class Output:
    name: str
    datatype: str
    values: list[Any]

    @property
    def shape(self) -> list[int]:
        return [len(self.values)]

    def raw(self) -> bytes:
        """The values as raw tensor bytes (little-endian, row-major)."""
        if self.datatype == "BYTES":
            return b"".join(_LENGTH.pack(len(v)) + v for v in self._bytes())
        dtype = {"FP32": "<f4", "INT32": "<i4", "BOOL": "?"}[self.datatype]
        return np.asarray(self.values, dtype=dtype).tobytes()

    def json_values(self) -> list[Any]:
        """JSON values: FP32 rounded to float32, as the raw bytes carry them."""
        if self.datatype == "FP32":  # array('f'): the float32 rounding, ~10x cheaper than numpy's
            return array("f", self.values).tolist()
        return self.values

    def _bytes(self) -> list[bytes]:
        return [v.encode() for v in self.values]


def decode_raw_bytes(raw: bytes, count: int) -> list[bytes]:
    """``count`` length-prefixed elements that fill ``raw`` exactly, else ``TensorError``."""
    items: list[bytes] = []
    offset, end = 0, len(raw)
    while offset < end:
        if offset + 4 > end:
            raise TensorError("BYTES data ends inside an element's 4-byte length")
        (length,) = _LENGTH.unpack_from(raw, offset)
        offset += 4
        if offset + length > end:
            raise TensorError("BYTES data ends inside an element")
        items.append(raw[offset : offset + length])
        offset += length
        if len(items) > count:
            break
    if len(items) != count:
        raise TensorError(f"input '{INPUT}' has shape [{count}]: its data holds another count")
    return items


def check_input(name: str, datatype: str, shape: Sequence[int], max_texts: int) -> int:
    """The element count of the one input, after checking its name, datatype and shape."""
    if name != INPUT:
        raise TensorError(f"unknown input '{name}': the model takes one input, '{INPUT}'")
    if datatype != "BYTES":
        raise TensorError(f"input '{INPUT}' must be BYTES (review texts), got {datatype}")
    if len(shape) != 1:
        raise TensorError(f"input '{INPUT}' must have shape [N] (N texts), got {list(shape)}")
    count = int(shape[0])
    if count < 1:
        raise TensorError(f"input '{INPUT}' must hold at least one text, got shape [{count}]")
    if count > max_texts:
        raise TensorError(f"at most {max_texts} texts per request, got {count}")
    return count


def texts_from(items: Sequence[bytes | str], max_chars: int) -> list[str]:
    """Review texts from the elements: UTF-8, not blank, at most ``max_chars`` characters."""
    texts: list[str] = []
    for i, item in enumerate(items):
        if isinstance(item, bytes):
            try:
                text = item.decode("utf-8")
            except UnicodeDecodeError:
                raise TensorError(f"text {i} is not valid UTF-8") from None
        elif isinstance(item, str):
            text = item
        else:
            raise TensorError(f"text {i} is not a string (input '{INPUT}' is BYTES)")
        if not text or text.isspace():
            raise TensorError(f"text {i} is empty or only whitespace")
        if len(text) > max_chars:
            raise TensorError(f"text {i} is longer than {max_chars} characters")
        texts.append(text)
    return texts


def requested(names: Sequence[str] | None) -> list[str]:
    """The outputs to answer, in the order asked (all of ``OUTPUTS`` when none are named)."""
    if not names:
        return list(OUTPUTS)
    unknown = [n for n in names if n not in OUTPUTS]
    if unknown:
        raise TensorError(f"unknown output '{unknown[0]}': the outputs are {', '.join(OUTPUTS)}")
    return list(dict.fromkeys(names))


# Each output's value from a ``Scored`` (None becomes '' in a BYTES tensor).
_VALUE: dict[str, Callable[[Scored], Any]] = {
    "probability": attrgetter("probability"),
    "label": attrgetter("label"),
    "windows": attrgetter("windows"),
    "readable": attrgetter("readable"),
    "reason": lambda s: s.reason or "",
    "coverage": attrgetter("coverage"),
    "language": lambda s: s.language or "",
}


def outputs(scored: Sequence[Scored], names: Sequence[str]) -> list[Output]:
    return [Output(n, OUTPUTS[n][0], list(map(_VALUE[n], scored))) for n in names]


def metadata_tensors() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``inputs`` and ``outputs`` of the model metadata (``-1``: any N)."""
    inputs = [{"name": INPUT, "datatype": "BYTES", "shape": [-1]}]
    outs = [{"name": n, "datatype": d, "shape": [-1]} for n, (d, _) in OUTPUTS.items()]
    return inputs, outs
