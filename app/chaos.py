"""Fault injection for ``make chaos`` only: the service with model calls that fail or hang on cue.

Not reachable from the production entry point: ``python -m app.serve`` serves ``app.main:app``,
which never imports this module or reads its variable. Only an explicit ``--app app.chaos:app``
(``docker-compose.chaos.yml``, used by ``scripts/chaos.sh``) serves this variant, and only then is
``FAULT_DIR`` read (default ``/tmp/faults``; the compose file's tmpfs, emptied by a restart).
A file dropped there is the cue, checked before every model call:

- ``raise_once``: the next model call raises (the file is removed first): that batch's requests
  get a 500 ``inference_failed``, ``sentiment_batch_errors_total`` counts it, the next batch runs;
- ``wedge``: model calls hang while the file exists (``app/watchdog.py`` turns readiness, then
  liveness, off and finally ends the process).

The start-up log says ``FAULT INJECTION ENABLED`` once, at WARNING.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from app.config import load_settings
from app.main import create_app
from app.model_server import Runner, RunnerFactory
from app.service import default_runner_factory

logger = logging.getLogger(__name__)


class InjectedFault(RuntimeError):
    """Raised by a model call on cue (``raise_once``)."""


class FaultyRunner:
    """A real runner whose ``predict`` obeys the cue files first; the rest is the runner's."""

    def __init__(self, runner: Runner, faults: Path) -> None:
        self._runner, self._faults = runner, faults
        self.device, self.xla, self.kernel = runner.device, runner.xla, runner.kernel

    def predict(self, ids: npt.NDArray[np.int32]) -> npt.NDArray[np.float32]:
        try:
            (self._faults / "raise_once").unlink()
        except FileNotFoundError:
            pass
        else:
            raise InjectedFault("injected fault (raise_once)")
        while (self._faults / "wedge").exists():
            time.sleep(0.05)
        return self._runner.predict(ids)

    def warmup(self) -> None:
        self._runner.warmup()

    def __getattr__(self, name: str) -> Any:  # signature, batch_sizes, ...: the real runner's
        return getattr(self._runner, name)


def faulty_factory(inner: RunnerFactory, faults: Path) -> RunnerFactory:
    def factory(path: Path, maxlen: int) -> Runner:
        return FaultyRunner(inner(path, maxlen), faults)

    return factory


def __getattr__(name: str) -> Any:
    """``app.chaos:app``: built on first access, as ``app.main:app``."""
    if name != "app":
        raise AttributeError(name)
    faults = Path(os.environ.get("FAULT_DIR", "/tmp/faults"))
    faults.mkdir(parents=True, exist_ok=True)
    settings = load_settings()
    app = create_app(settings, faulty_factory(default_runner_factory(settings), faults), True)
    logger.warning("FAULT INJECTION ENABLED: cue files in %s (app/chaos.py)", faults)
    globals()["app"] = app
    return app
