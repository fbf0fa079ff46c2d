"""What is on disk under ``MODEL_DIR``: each ``<int>/`` version folder and a cheap snapshot of it.

A snapshot is the folder's file list with sizes and modification times (``lstat`` only, nothing is
read), so the poller can tell whether a version is complete (its ``MANIFEST.sha256`` is present:
``training/export.py`` writes it last, then renames the staging folder into place), whether it is
still being copied (the snapshot changed since the last poll), and whether a version that failed to
load has been replaced since (only then is it tried again).

The walk is bounded (``ScanLimits``): it stops at the first entry over the count, at a symlink
inside the folder, or when the bytes seen exceed the caps, and records that as the snapshot's
``problem``. A version with a problem is refused before any of its files is opened: TensorFlow reads
``saved_model.pb`` whole into memory (a 1.5 GB file cost 5.3 GB RSS), and a folder symlinked to
``/`` made every poll walk the whole disk.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from model_contract.artifact import ArtifactError
from model_contract.manifest import MANIFEST_FILE, manifest_sha256
from model_contract.versions import is_version_name, looks_like_version

GRAPH_FILE = "saved_model.pb"


@dataclass(frozen=True)
class ScanLimits:
    """Shape caps for one version folder (``MODEL_MAX_BYTES`` / ``_GRAPH_BYTES`` / ``_FILES``)."""

    max_bytes: int = 256 * 2**20
    max_graph_bytes: int = 16 * 2**20
    max_files: int = 256


@dataclass(frozen=True)
class Snapshot:
    files: tuple[tuple[str, int, int], ...]  # (relative path, size, mtime_ns), sorted
    problem: str | None = None  # why this folder is refused without reading it

    @property
    def complete(self) -> bool:
        return any(name == MANIFEST_FILE for name, _, _ in self.files)


def _inside(path: Path, root: Path) -> bool:
    return path != root and path.is_relative_to(root)


def snapshot(version_dir: Path, limits: ScanLimits = ScanLimits()) -> Snapshot:
    """The folder's files (``lstat``, bounded by ``limits``); ``problem`` says why it is refused."""
    root = version_dir.parent.resolve()
    try:
        top = version_dir.lstat()
    except OSError as exc:
        return Snapshot((), f"cannot be read ({exc.strerror or type(exc).__name__})")
    if stat.S_ISLNK(top.st_mode):
        # Resolved inside MODEL_DIR (e.g. ``7 -> 3``) it is walked like a folder; anywhere else
        # (``50 -> /``) it is refused without a look at its target.
        link = (("->", 0, top.st_mtime_ns),)
        try:
            target = version_dir.resolve(strict=True)
        except (OSError, RuntimeError):  # dangling or a loop
            return Snapshot(link, "is a symlink that does not resolve; refused")
        if not _inside(target, root):
            return Snapshot(link, "is a symlink to a place outside MODEL_DIR; refused")
        version_dir = target
    files: list[tuple[str, int, int]] = []
    total, entries, pending = 0, 0, [version_dir]
    while pending:
        folder = pending.pop()
        try:
            with os.scandir(folder) as listing:
                found = list(listing)
        except OSError as exc:
            where = Path(folder).relative_to(version_dir).as_posix()
            why = exc.strerror or type(exc).__name__
            return Snapshot(tuple(sorted(files)), f"folder {where!r} cannot be read ({why})")
        for entry in found:
            entries += 1
            name = Path(entry.path).relative_to(version_dir).as_posix()
            if entries > limits.max_files:
                return Snapshot(tuple(sorted(files)), _over("entries", limits.max_files, "FILES"))
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:  # removed while we looked: the next poll sees the new state
                continue
            if stat.S_ISLNK(st.st_mode):
                return Snapshot(tuple(sorted(files)), f"holds a symlink ({name!r}); refused")
            if stat.S_ISDIR(st.st_mode):
                pending.append(Path(entry.path))
                continue
            files.append((name, st.st_size, st.st_mtime_ns))
            total += st.st_size
            if name == GRAPH_FILE and st.st_size > limits.max_graph_bytes:
                return Snapshot(
                    tuple(sorted(files)),
                    f"{GRAPH_FILE} is {st.st_size:,} bytes, over "
                    f"MODEL_MAX_GRAPH_BYTES={limits.max_graph_bytes:,}",
                )
            if total > limits.max_bytes:
                return Snapshot(tuple(sorted(files)), _over("bytes", limits.max_bytes, "BYTES"))
    return Snapshot(tuple(sorted(files)))


def _over(what: str, limit: int, setting: str) -> str:
    return f"holds more than {limit:,} {what} (MODEL_MAX_{setting}={limit:,})"


def check_version_dir(version_dir: Path, limits: ScanLimits) -> None:
    """``ArtifactError`` if the folder breaks ``limits``: called right before a load reads it."""
    if (problem := snapshot(version_dir, limits).problem) is not None:
        raise ArtifactError(f"version folder {version_dir.name}: {problem}")


def scan_versions(
    model_dir: Path, limits: ScanLimits = ScanLimits()
) -> tuple[dict[int, Snapshot], list[str]]:
    """Every version folder under ``model_dir`` (``model_contract.versions``: hidden staging
    folders are not versions), and the names that look like versions but are not (``003``).

    ``OSError`` if the folder cannot be listed (e.g. a volume gone away): the poller then skips
    this scan instead of taking "nothing there" for "every version removed".
    """
    entries = list(model_dir.iterdir())
    versions = {
        int(p.name): snapshot(p, limits) for p in entries if is_version_name(p.name) and p.is_dir()
    }
    return versions, sorted(p.name for p in entries if looks_like_version(p.name))


def manifest_hash(version_dir: Path) -> str | None:
    """sha256 of the version's ``MANIFEST.sha256`` (what ``MODEL_SHA256`` pins), if readable."""
    try:
        return manifest_sha256(version_dir)
    except OSError:
        return None
