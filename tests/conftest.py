"""Shared test setup: quiet TensorFlow before anything imports it."""

from __future__ import annotations

import os
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# Starlette's TestClient warns (once, at import) that plain httpx is deprecated in favour of
# httpx2; the pinned dev stack uses httpx, so this is not ours to fix, and with
# filterwarnings=error it would abort collection. Import it once here with that one warning muted.
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    import fastapi.testclient  # noqa: F401
