"""What is on disk under ``MODEL_DIR``: each ``<int>/`` version folder and a cheap snapshot of it.

A snapshot is the folder's file list with sizes and modification times (``stat`` only, nothing is
read), so the poller can tell whether a version is complete (its ``MANIFEST.sha256`` is present:
``training/export.py`` writes it last, then renames the staging folder into place), whether it is
still being copied (the snapshot changed since the last poll), and whether a version that failed to
load has been replaced since (only then is it tried again).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from model_contract.manifest import MANIFEST_FILE, manifest_sha256


@dataclass(frozen=True)
class Snapshot:
    files: tuple[tuple[str, int, int], ...]  # (relative path, size, mtime_ns), sorted

    @property
    def complete(self) -> bool:
        return any(name == MANIFEST_FILE for name, _, _ in self.files)


@dataclass(frozen=True)
class Failure:
    """Why a version could not be loaded; it is tried again only once its files differ."""

    reason: str
    snapshot: Snapshot | None
    manifest_sha256: str | None


def snapshot(version_dir: Path) -> Snapshot:
    files = []
    for root, _, names in os.walk(version_dir):
        for name in names:
            path = Path(root) / name
            try:
                st = path.stat()
            except OSError:  # removed while we looked: the next poll sees the new state
                continue
            files.append((path.relative_to(version_dir).as_posix(), st.st_size, st.st_mtime_ns))
    return Snapshot(tuple(sorted(files)))


def scan_versions(model_dir: Path) -> dict[int, Snapshot]:
    """Every ``<int>/`` folder under ``model_dir`` (hidden staging folders are not versions).

    ``OSError`` if the folder cannot be listed (e.g. a volume gone away): the poller then skips
    this scan instead of taking "nothing there" for "every version removed".
    """
    entries = list(model_dir.iterdir())
    return {
        int(p.name): snapshot(p)
        for p in entries
        if p.name.isdecimal() and p.name.isascii() and int(p.name) >= 1 and p.is_dir()
    }


def manifest_hash(version_dir: Path) -> str | None:
    """sha256 of the version's ``MANIFEST.sha256`` (what ``MODEL_SHA256`` pins), if readable."""
    try:
        return manifest_sha256(version_dir)
    except OSError:
        return None
