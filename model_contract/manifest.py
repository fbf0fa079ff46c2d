"""Per-file sha256 manifest of an artifact version: written at export, checked before loading.

``<version>/MANIFEST.sha256`` lists every other file of the version folder, one
``<sha256>  <relative path>`` line each (``sha256sum -c`` reads it too). Corruption anywhere
(a flipped byte in ``variables.data-*``, a truncated ``saved_model.pb``, an edited
``word_index.json``) is then named precisely before TensorFlow ever reads the files.
``MODEL_SHA256`` optionally pins the manifest itself, so a coordinated edit of a file *and* the
manifest is refused as well.

    .venv/bin/python -m model_contract.manifest model_artifacts/imdb_lstm/2   # (re)write one manifest
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

MANIFEST_FILE = "MANIFEST.sha256"


class ManifestError(RuntimeError):
    """The artifact's files do not match its manifest (or the pinned manifest hash)."""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _files(version_dir: Path) -> list[str]:
    return sorted(
        p.relative_to(version_dir).as_posix()
        for p in version_dir.rglob("*")
        if p.is_file() and p.name != MANIFEST_FILE
    )


def write_manifest(version_dir: Path) -> Path:
    lines = [f"{_sha256(version_dir / name)}  {name}\n" for name in _files(version_dir)]
    path = version_dir / MANIFEST_FILE
    path.write_text("".join(lines), encoding="utf-8")
    return path


def manifest_sha256(version_dir: Path) -> str:
    return _sha256(version_dir / MANIFEST_FILE)


def verify_manifest(version_dir: Path, pinned_sha256: str | None = None) -> None:
    """Raise ``ManifestError`` naming the first file that is missing, extra or altered."""
    manifest = version_dir / MANIFEST_FILE
    fix = "restore the folder from git or re-export it"
    if not manifest.is_file():
        raise ManifestError(
            f"{version_dir}: no {MANIFEST_FILE}; write one with "
            f"'python -m model_contract.manifest {version_dir}' after checking the files are the exported ones"
        )
    if pinned_sha256 is not None and manifest_sha256(version_dir) != pinned_sha256.lower():
        raise ManifestError(
            f"{manifest}: sha256 differs from MODEL_SHA256 - the artifact is not the pinned one; "
            f"{fix}, or pin the new manifest's hash"
        )
    expected: dict[str, str] = {}
    for number, line in enumerate(manifest.read_text(encoding="utf-8").splitlines(), 1):
        digest, sep, name = line.partition("  ")
        if not sep or len(digest) != 64:
            raise ManifestError(f"{manifest}: line {number} is not '<sha256>  <path>'; {fix}")
        expected[name] = digest
    present = set(_files(version_dir))
    for name in sorted(expected.keys() - present):
        raise ManifestError(f"{version_dir / name}: listed in {MANIFEST_FILE} but missing; {fix}")
    for name in sorted(present - expected.keys()):
        raise ManifestError(f"{version_dir / name}: not in {MANIFEST_FILE} (added later?); {fix}")
    for name, digest in sorted(expected.items()):
        if _sha256(version_dir / name) != digest:
            raise ManifestError(
                f"{version_dir / name}: sha256 does not match {MANIFEST_FILE} "
                f"(corrupted, truncated or edited); {fix}"
            )


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        written = write_manifest(Path(arg))
        print(f"{written}  sha256={manifest_sha256(Path(arg))}")
