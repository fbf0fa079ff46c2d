"""model_contract.manifest: the per-file sha256 manifest written at export, checked before loading."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from model_contract.manifest import (
    MANIFEST_FILE,
    ManifestError,
    manifest_sha256,
    verify_manifest,
    write_manifest,
)

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def version_dir(tmp_path: Path) -> Path:
    """A version folder shaped like an export: top-level files and a nested variables/ folder."""
    root = tmp_path / "3"
    (root / "variables").mkdir(parents=True)
    (root / "saved_model.pb").write_bytes(bytes(range(256)) * 40)
    (root / "variables" / "variables.data-00000-of-00001").write_bytes(b"\x00\x01" * 5000)
    (root / "variables" / "variables.index").write_bytes(b"index")
    (root / "word_index.json").write_text('{"good": 1}', encoding="utf-8")
    (root / "preprocessing.json").write_text("{}", encoding="utf-8")
    write_manifest(root)
    return root


def test_manifest_lists_every_other_file_with_its_sha256(version_dir: Path) -> None:
    lines = (version_dir / MANIFEST_FILE).read_text(encoding="utf-8").splitlines()
    names = [line.split("  ", 1)[1] for line in lines]
    assert (
        names
        == sorted(names)
        == [
            "preprocessing.json",
            "saved_model.pb",
            "variables/variables.data-00000-of-00001",
            "variables/variables.index",
            "word_index.json",
        ]
    )  # the manifest does not list itself; paths are relative, posix
    for line in lines:
        digest, name = line.split("  ", 1)
        assert digest == hashlib.sha256((version_dir / name).read_bytes()).hexdigest()
    verify_manifest(version_dir)  # a fresh manifest verifies


def test_rewriting_is_deterministic(version_dir: Path) -> None:
    before = manifest_sha256(version_dir)
    write_manifest(version_dir)
    assert manifest_sha256(version_dir) == before


@pytest.mark.parametrize(
    "name", ["saved_model.pb", "variables/variables.data-00000-of-00001", "word_index.json"]
)
def test_one_flipped_byte_is_named(version_dir: Path, name: str) -> None:
    path = version_dir / name
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(ManifestError, match=rf"{name}: sha256 does not match"):
        verify_manifest(version_dir)


def test_truncated_file_detected(version_dir: Path) -> None:
    path = version_dir / "saved_model.pb"
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(ManifestError, match=r"saved_model\.pb: .*truncated"):
        verify_manifest(version_dir)


def test_missing_file_detected(version_dir: Path) -> None:
    (version_dir / "variables" / "variables.index").unlink()
    with pytest.raises(ManifestError, match=r"variables/variables.index: listed .* but missing"):
        verify_manifest(version_dir)


def test_extra_file_detected(version_dir: Path) -> None:
    (version_dir / "variables" / "stray.bin").write_bytes(b"x")
    with pytest.raises(ManifestError, match=r"stray.bin: not in MANIFEST.sha256"):
        verify_manifest(version_dir)


def test_missing_manifest_says_how_to_write_one(version_dir: Path) -> None:
    (version_dir / MANIFEST_FILE).unlink()
    with pytest.raises(
        ManifestError, match=r"no MANIFEST.sha256.*python -m model_contract.manifest"
    ):
        verify_manifest(version_dir)


@pytest.mark.parametrize(
    "line", ["not a manifest line", "abc  saved_model.pb", f"{'0' * 64} saved_model.pb"]
)
def test_malformed_line_detected(version_dir: Path, line: str) -> None:
    manifest = version_dir / MANIFEST_FILE
    manifest.write_text(manifest.read_text(encoding="utf-8") + line + "\n", encoding="utf-8")
    with pytest.raises(ManifestError, match="line 6 is not"):
        verify_manifest(version_dir)


def test_pinned_hash_refuses_a_coordinated_edit(version_dir: Path) -> None:
    pinned = manifest_sha256(version_dir)
    verify_manifest(version_dir, pinned)
    verify_manifest(version_dir, pinned.upper())  # hex case does not matter
    (version_dir / "word_index.json").write_text('{"bad": 1}', encoding="utf-8")
    write_manifest(version_dir)  # file and manifest edited together
    verify_manifest(version_dir)  # consistent with itself ...
    with pytest.raises(ManifestError, match="differs from MODEL_SHA256"):
        verify_manifest(version_dir, pinned)  # ... but not the pinned artifact


def test_cli_writes_a_manifest_per_argument(tmp_path: Path, version_dir: Path) -> None:
    other = tmp_path / "4"
    shutil.copytree(version_dir, other)
    for folder in (version_dir, other):
        (folder / MANIFEST_FILE).unlink()
    done = subprocess.run(
        [sys.executable, "-m", "model_contract.manifest", str(version_dir), str(other)],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    lines = done.stdout.splitlines()
    assert len(lines) == 2
    for folder, line in zip((version_dir, other), lines, strict=True):
        verify_manifest(folder)
        assert line == f"{folder / MANIFEST_FILE}  sha256={manifest_sha256(folder)}"


@pytest.mark.skipif(shutil.which("sha256sum") is None, reason="no sha256sum on this machine")
def test_coreutils_reads_the_same_manifest(version_dir: Path) -> None:
    done = subprocess.run(
        ["sha256sum", "--check", "--strict", MANIFEST_FILE],
        cwd=version_dir, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
