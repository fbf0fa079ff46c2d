"""A wedged model call: readiness first, then liveness, then the process exits to be restarted.

A model call normally takes milliseconds. One that does not return (a stuck kernel, a deadlock in a
native library) holds its version's batcher: every request for that version waits out its deadline
(504) and the queue fills (503). Nothing inside the process can stop the call, so:

- after ``WEDGED_READY_S`` (10 s) of one call, ``/readyz`` answers 503 ``wedged``: a load balancer
  sends traffic elsewhere (``Runtime.ready``);
- after ``WEDGED_EXIT_S`` (60 s), ``/healthz`` answers 503 (a Kubernetes liveness probe restarts the
  pod) and this watchdog ends the process with exit code 70 and one CRITICAL line, so that Docker's
  ``restart: unless-stopped`` (which does not act on health checks) restarts it too.

Checked once a second from the event loop. ``WEDGED_EXIT_S=0`` turns the exit (and the liveness
503) off. ``make chaos`` wedges a call on purpose (``app/chaos.py``) and measures both bounds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys

from app.service import Runtime

logger = logging.getLogger(__name__)
EXIT_CODE = 70  # EX_SOFTWARE


def wedged_for(runtime: Runtime) -> float:
    """The longest-running model call of any live version, in seconds (0: none running)."""
    return max((s.busy_for() for s in runtime.models.servers()), default=0.0)


def alive(runtime: Runtime) -> bool:
    """Liveness: no model call has run longer than ``WEDGED_EXIT_S`` (if that is on)."""
    limit = runtime.settings.wedged_exit_s
    return limit <= 0 or wedged_for(runtime) <= limit


class Watchdog:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="watchdog")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        settings, warned = self.runtime.settings, False
        while True:
            await asyncio.sleep(1.0)
            busy = wedged_for(self.runtime)
            if busy > settings.wedged_ready_s and not warned:
                warned = True
                logger.error("a model call has run for %.0f s: wedged; readiness 503", busy)
            elif busy <= settings.wedged_ready_s:
                warned = False
            if not alive(self.runtime):
                logger.critical(
                    "a model call has run for %.0f s (WEDGED_EXIT_S=%g): exiting so that the "
                    "orchestrator restarts the process", busy, settings.wedged_exit_s,
                )  # fmt: skip
                for handler in logging.getLogger().handlers:
                    handler.flush()
                sys.stderr.flush()
                os._exit(EXIT_CODE)  # the wedged thread cannot be joined: no clean shutdown
