"""Structural checks that run before per-field validation, so a hostile body costs O(1) errors.

Kept out of ``app.schemas`` so the request model only wires them in.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic_core import PydanticCustomError


def known_fields_only(data: Any, fields: Mapping[str, object]) -> Any:
    """One error for any unknown key, naming the *expected* fields and never the sent ones.

    ``extra="forbid"`` alone reports every unknown key with the key in ``loc``: a body of 90k
    keys took 0.5 s and returned 11 MB, and review text sent as a key came straight back.
    """
    if isinstance(data, dict) and not fields.keys() >= data.keys():
        raise PydanticCustomError(
            "extra_forbidden",
            "unknown field: the body may contain only {expected}",
            {"expected": ", ".join(f"'{name}'" for name in fields)},
        )
    return data
