"""The one grammar of a model version: a folder name under ``MODEL_DIR``, a request's
``model_version``, an entry of ``MODEL_VERSIONS`` and the ``version`` metric label.

ASCII digits without a leading zero, 1 to 18 of them: epoch timestamps (10 digits in seconds, 13 in
milliseconds) and ``YYYYMMDDhhmmss`` (14) fit, and every version is an int64. ``003`` or ``²`` are
not versions (``int("003")`` named folder ``3``, which does not exist).
"""

from __future__ import annotations

import re

VERSION_PATTERN = r"^[1-9][0-9]{0,17}$"
MAX_VERSION = 10**18 - 1
_VERSION = re.compile(VERSION_PATTERN)
_DIGITS = re.compile(r"[0-9]+")


def is_version_name(name: str) -> bool:
    return _VERSION.fullmatch(name) is not None


def looks_like_version(name: str) -> bool:
    """All ASCII digits but not a version (``003``, ``0``, 19+ digits): worth a warning."""
    return _DIGITS.fullmatch(name) is not None and not is_version_name(name)
