"""Versions that failed to load (or were refused unread), and folder names that are not versions.

The bookkeeping behind ``app.model_registry``: a failure is kept until the folder's files change
(its snapshot differs), its reason is one escaped line of bounded length with paths relative to
``MODEL_DIR``, and ``GET /models`` lists at most ``MAX_FAILED_ROWS`` of them (the highest): 2,000
broken folders made it 494 KB of absolute paths.
"""

from __future__ import annotations

import logging
from collections.abc import Container, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from app.metrics import ServiceMetrics
from app.safe_text import clip
from app.version_scan import Snapshot

logger = logging.getLogger("app.model_registry")

MAX_FAILED_ROWS = 20


@dataclass(frozen=True)
class Failure:
    """Why a version could not be loaded; it is tried again only once its files differ."""

    reason: str
    snapshot: Snapshot | None
    manifest_sha256: str | None


class VersionNotLoaded(Exception):
    """A request pinned a version that is not loaded (404, naming the loaded ones)."""

    def __init__(self, version: str, loaded: list[str]) -> None:
        super().__init__(f"model version {version} is not loaded; loaded: {', '.join(loaded)}")
        self.loaded = loaded


class Failures:
    def __init__(self, model_dir: Path, metrics: ServiceMetrics) -> None:
        self._prefix = f"{model_dir}/"
        self._metrics = metrics
        self._failed: dict[int, Failure] = {}
        self._odd: set[str] = set()  # digit-only names that are not versions, warned about

    def __contains__(self, version: object) -> bool:
        return version in self._failed

    def __iter__(self) -> Iterator[int]:
        return iter(self._failed)

    def reason(self, version: int) -> str:
        return self._failed[version].reason

    def forget_changed(self, present: Mapping[int, Snapshot]) -> None:
        """Replaced or removed since it failed: worth another try."""
        for version in [v for v, f in self._failed.items() if present.get(v) != f.snapshot]:
            del self._failed[version]

    def record(self, version: int, reason: str, snap: Snapshot | None, sha: str | None) -> str:
        reason = clip(reason.replace(self._prefix, ""))
        self._failed[version] = Failure(reason, snap, sha)
        self._metrics.count_reload("failed")
        return reason

    def refuse(self, version: int, snap: Snapshot) -> str:
        """A folder that breaks the shape limits: failed without a byte of it read."""
        return self.record(version, f"version folder {version} {snap.problem}", snap, None)

    def refuse_unread(
        self,
        present: Mapping[int, Snapshot],
        previous: Mapping[int, Snapshot],
        loaded: Container[int],
        serving: str,
    ) -> None:
        """Every folder over the limits, once it held still for a poll, wanted or not: one ERROR."""
        for version, snap in present.items():
            known = version in self._failed or version in loaded
            if snap.problem and previous.get(version) == snap and not known:
                self.refuse(version, snap)
                self.log(version, serving)

    def log(self, version: int, serving: str) -> None:
        logger.error(
            "model version %s refused (still serving %s): %s",
            version,
            serving,
            self.reason(version),
        )

    def warn_odd(self, names: list[str]) -> None:
        for name in set(names) - self._odd:  # once per name while it exists
            logger.warning(
                "folder %s under MODEL_DIR is not a model version (1 to 18 digits, no leading "
                "zero): ignored; rename it to serve it", clip(repr(name), 60),
            )  # fmt: skip
        self._odd = set(names)

    def rows(self) -> tuple[dict[int, tuple[str, str | None]], int]:
        """The highest ``MAX_FAILED_ROWS`` failures {version: (state, manifest sha)}, and how many
        more there are."""
        shown = sorted(self._failed, reverse=True)[:MAX_FAILED_ROWS]
        rows = {
            v: (f"failed: {self._failed[v].reason}", self._failed[v].manifest_sha256) for v in shown
        }
        return rows, len(self._failed) - len(shown)
