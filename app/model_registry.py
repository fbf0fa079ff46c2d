"""The loaded model versions (one ``ModelServer`` each), the default one, and hot reload.

``MODEL_VERSIONS`` (``app.version_policy``) names the versions to serve; the default (for requests
that pin none) is the highest loaded and ready one. Every ``MODEL_POLL_S`` s ``MODEL_DIR`` is
scanned (``app.version_scan``; failures: ``app.version_failures``); new versions are loaded and
warmed up in a worker thread, then published in one assignment on the event loop; versions no
longer wanted leave the routing table, drain and are dropped. At most one model beyond the policy's
count is loaded at once; the last ready one is never dropped (docs/operations.md "Model versions").
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from app.config import Settings
from app.metrics import ServiceMetrics
from app.model_server import ModelServer, RunnerFactory, describe_load_error, version_row
from app.tuning import freeze_before_first_model, release_unloaded_model, trim_heap
from app.version_failures import Failures, VersionNotLoaded
from app.version_scan import Snapshot, manifest_hash, scan_versions
from model_contract.artifact import ArtifactError, resolve_version_dir

logger = logging.getLogger(__name__)
# A failed load costs 30 ms to seconds: 2,000 broken folders were all tried in one poll.
MAX_LOADS_PER_POLL = 8


class ModelRegistry:
    def __init__(
        self, settings: Settings, runner_factory: RunnerFactory, metrics: ServiceMetrics
    ) -> None:
        self.settings = settings
        self.policy = settings.version_policy
        self.model_dir = settings.resolved_model_dir()
        self.limits = settings.scan_limits
        self.metrics = metrics
        self._runner_factory = runner_factory
        self.default: ModelServer | None = None
        self._servers: dict[int, ModelServer] = {}  # routable (pinned requests find these)
        self._draining: dict[int, ModelServer] = {}  # left the routing table, finishing work
        self._loading: int | None = None
        self._failed = Failures(self.model_dir, metrics)
        self._seen: dict[int, Snapshot] = {}
        self._kept: set[int] = set()  # removed from disk, kept as the last ready version
        self._lock = asyncio.Lock()
        self._poller: asyncio.Task[None] | None = None

    # --- the request path (no awaits: a server picked here is submitted to at once) -----------
    def get(self, version: str | None) -> ModelServer | None:
        """The server for a pinned version (``VersionNotLoaded`` if none), else the default."""
        if version is None:
            return self.default
        server = self._servers.get(int(version))
        if server is None:
            raise VersionNotLoaded(version, self.loaded)
        return server

    def servers(self) -> list[ModelServer]:
        """Every live server: routable and draining."""
        return [*self._servers.values(), *self._draining.values()]

    @property
    def loaded(self) -> list[str]:
        return [str(v) for v in sorted(self._servers)]

    # --- start-up -------------------------------------------------------------------------
    async def start(self) -> None:
        """Load what the policy names; raise (refusing to start) if nothing can be served."""
        try:
            present, odd = await asyncio.to_thread(scan_versions, self.model_dir, self.limits)
        except OSError:
            present, odd = {}, []  # resolve_version_dir below names the problem
        self._failed.warn_odd(odd)
        self._seen = present
        if self.policy.explicit:
            for version in set(self.policy.explicit) - set(present):  # before loading any
                resolve_version_dir(self.model_dir, version)  # raises, naming what exists
            for version in self.policy.explicit:
                if (error := await self._load(version, present[version])) is not None:
                    raise error
        else:
            errors: list[BaseException] = []
            for version in sorted(present, reverse=True):
                if len(self._servers) == self.policy.latest:
                    break
                if (error := await self._load(version, present[version])) is not None:
                    errors.append(error)
            if not self._servers:
                if errors:
                    raise errors[0]
                resolve_version_dir(self.model_dir)  # raises: no versions at all
            for version in self._failed:  # others serve: say why not these
                logger.error("model version %s refused: %s", version, self._failed.reason(version))

    def start_polling(self) -> None:
        if self.settings.model_poll_s > 0 and self._poller is None:
            self._poller = asyncio.create_task(self._poll(), name="model-poller")

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self.settings.model_poll_s)
            try:
                await self.reconcile()
            except OSError as exc:  # MODEL_DIR unreadable: change nothing until it is back
                logger.warning(
                    "cannot list MODEL_DIR %s (%s); versions unchanged", self.model_dir, exc
                )
            except Exception:  # never let one bad poll end hot reload
                logger.exception(
                    "model poll failed; trying again in %gs", self.settings.model_poll_s
                )

    # --- hot reload -----------------------------------------------------------------------
    async def reconcile(self) -> None:
        """One poll: retry changed failures, load what is wanted, unload what is not."""
        async with self._lock:
            present, odd = await asyncio.to_thread(scan_versions, self.model_dir, self.limits)
            self._failed.warn_odd(odd)
            previous, self._seen = self._seen, present
            self._failed.forget_changed(present)
            self._failed.refuse_unread(present, previous, self._servers, self._serving)
            self._kept &= set(self._servers) - set(present)
            attempts = 0  # loads tried in this poll: bounded, so one poll's work is too
            while True:
                stable = {
                    v
                    for v, snap in present.items()
                    if snap.complete
                    and v not in self._failed
                    and (v in self._servers or previous.get(v) == snap)
                }
                wanted = self.policy.select(stable)
                todo, obsolete = wanted - set(self._servers), set(self._servers) - wanted
                if todo and len(self._servers) <= self.policy.max_versions:
                    if attempts == MAX_LOADS_PER_POLL:
                        return  # the rest next poll; what is loaded keeps serving meanwhile
                    version, attempts = max(todo), attempts + 1
                    if await self._load(version, present[version]) is not None:
                        self._failed.log(version, self._serving)
                    continue
                removable = [v for v in sorted(obsolete) if self._can_unload(v)]
                if removable:
                    await self._unload(removable[0], gone=removable[0] not in present)
                    continue
                for version in obsolete - self._kept:
                    self._kept.add(version)
                    logger.warning("model version %s removed but kept: the last one ready", version)
                return

    @property
    def _serving(self) -> str:
        return self.default.version if self.default else "none"

    def _can_unload(self, version: int) -> bool:
        return any(s.state == "ready" for v, s in self._servers.items() if v != version)

    async def _load(self, version: int, snap: Snapshot | None) -> BaseException | None:
        """Load, warm up (in a thread) and publish one version; the error if it failed."""
        s = self.settings
        if snap is not None and snap.problem is not None:
            return ArtifactError(self._failed.refuse(version, snap))
        self._loading = version
        try:  # app/tuning.py: what exists before the first model is frozen, the models are not
            await asyncio.to_thread(freeze_before_first_model)
            server = await asyncio.to_thread(
                ModelServer.load, self.model_dir, version, s.batch_policy,
                self._runner_factory, self.metrics.for_version(str(version)), s.model_sha256,
                self.limits,
            )  # fmt: skip
        except Exception as exc:
            path = self.model_dir / str(version)
            reason = describe_load_error(exc, self.model_dir)
            self._failed.record(version, reason, snap, manifest_hash(path))
            return exc
        finally:
            self._loading = None
        server.start()
        self._servers[version] = server
        self.metrics.count_reload("loaded")
        self._update_default()
        return None

    async def _unload(self, version: int, gone: bool) -> None:
        server = self._servers.pop(version)
        self._draining[version] = server
        self._update_default()  # switch first: new unpinned requests go elsewhere at once
        depth, started = server.depth, time.perf_counter()
        await server.stop(grace_s=max(self.settings.request_timeout_s, 1.0))
        drained = time.perf_counter()
        del self._draining[version], server
        self.metrics.set_depth(str(version), None)
        paused, cpu = release_unloaded_model()  # app/tuning.py: ms on the loop, not a full collect
        await asyncio.to_thread(trim_heap)
        self.metrics.count_reload("unloaded")
        why = "its folder was removed" if gone else f"not in MODEL_VERSIONS={self.policy}"
        logger.info(
            "model version %s unloaded (%s): drained %d queued rows in %.2f s, released in %.2f s "
            "(collected in %.1f ms on the event loop, %.1f ms CPU)", version, why, depth,
            drained - started, time.perf_counter() - drained, paused * 1000, cpu * 1000,
        )  # fmt: skip

    def _update_default(self) -> None:
        ready = [v for v, s in self._servers.items() if s.state == "ready"]
        new = self._servers[max(ready)] if ready else None
        old, self.default = self.default, new
        if new is old:
            return
        self.metrics.set_default_model(_labels(new), _labels(old))
        if old is not None and new is not None:
            logger.info("default model version now %s (was %s)", new.version, old.version)

    # --- shutdown -------------------------------------------------------------------------
    def hurry(self) -> None:
        """SIGTERM: stop polling; every server runs what it has queued without waiting."""
        if self._poller is not None:
            self._poller.cancel()
        for server in [*self._servers.values(), *self._draining.values()]:
            server.hurry()

    async def stop(self) -> int:
        """Drain every version (the rows they had queued are returned), concurrently."""
        self.hurry()
        if self._poller is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
        servers = [*self._servers.values(), *self._draining.values()]
        depth = sum(s.depth for s in servers)
        grace = max(self.settings.request_timeout_s, 1.0)
        await asyncio.gather(*(s.stop(grace_s=grace) for s in servers))
        return depth

    # --- GET /models ------------------------------------------------------------------------
    def describe(self) -> tuple[list[dict[str, Any]], int]:
        """The ``GET /models`` rows, highest first, and how many failed ones are not listed."""
        failed, more = self._failed.rows()
        rows = {v: version_row(v, state, None, sha) for v, (state, sha) in failed.items()}
        if self._loading is not None:
            rows[self._loading] = version_row(self._loading, "loading", None, None)
        for version, server in [*self._draining.items(), *self._servers.items()]:
            rows[version] = version_row(version, server.state, server, server.manifest_sha256)
            rows[version]["default"] = server is self.default
        return [rows[v] for v in sorted(rows, reverse=True)], more


def _labels(server: ModelServer | None) -> tuple[str, str] | None:
    return (server.version, server.runner.device) if server is not None else None
