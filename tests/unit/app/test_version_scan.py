"""The version folder scan (``app.version_scan``) and the version grammar, on real folders."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from app.model_server import describe_load_error
from app.version_scan import ScanLimits, scan_versions, snapshot
from model_contract.versions import is_version_name


@pytest.mark.parametrize(
    ("name", "ok"),
    [("1", True), ("1700000000", True), ("9" * 18, True), ("1" + "0" * 18, False),
     ("0", False), ("003", False), ("²", False), ("\uff13", False), ("1\n", False), ("-1", False)],
)  # fmt: skip
def test_version_grammar(name: str, ok: bool) -> None:
    assert is_version_name(name) is ok


def test_unreadable_folder_is_a_named_problem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Root reads any folder, so the permission error is injected where the scan lists one.
    (tmp_path / "4" / "variables").mkdir(parents=True)
    (tmp_path / "4" / "MANIFEST.sha256").write_text("")
    real = os.scandir

    def scandir(path: os.PathLike[str] | str) -> object:
        if Path(path).name == "variables":
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)
    versions, _ = scan_versions(tmp_path)
    assert versions[4].problem == "folder 'variables' cannot be read (Permission denied)"


def test_permission_error_is_not_blamed_on_the_artifact(tmp_path: Path) -> None:
    exc = PermissionError(errno.EACCES, "Permission denied", str(tmp_path / "3" / "saved_model.pb"))
    message = describe_load_error(exc, tmp_path)
    assert "restore" not in message and "re-export" not in message
    assert "3/saved_model.pb: permission denied" in message and f"uid {os.getuid()}" in message


def test_scan_is_bounded(tmp_path: Path) -> None:
    folder = tmp_path / "5"
    folder.mkdir()
    for i in range(50):
        (folder / str(i)).mkdir()
    snap = snapshot(folder, ScanLimits(max_files=20))
    assert snap.problem is not None and "more than 20 entries" in snap.problem
    assert len(snap.files) <= 20
