"""Shared test setup: quiet TensorFlow before anything imports it."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def pytest_configure(config: pytest.Config) -> None:
    # Starlette's TestClient warns that plain httpx is deprecated in favour of httpx2; the
    # pinned dev stack uses httpx, so this is not ours to fix (filterwarnings=error otherwise).
    config.addinivalue_line(
        "filterwarnings", "ignore:Using `httpx` with `starlette.testclient`:UserWarning"
    )
