"""scripts/find_python.sh: the supported versions match requires-python, and the choice it makes.

Fake interpreters (shell scripts answering the version query) on a PATH of their own.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
from packaging.specifiers import SpecifierSet

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "find_python.sh"
BASH = shutil.which("bash") or "/bin/bash"


def _supported_in_script() -> list[str]:
    match = re.search(r"^SUPPORTED=\(([^)]*)\)", SCRIPT.read_text(), re.MULTILINE)
    assert match, "SUPPORTED=(...) not found"
    return match.group(1).split()


def test_script_versions_match_requires_python() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    spec = SpecifierSet(project["requires-python"])
    allowed = [f"3.{minor}" for minor in range(30) if spec.contains(f"3.{minor}.0")]
    assert sorted(_supported_in_script(), key=lambda v: int(v.split(".")[1])) == allowed
    assert _supported_in_script() == sorted(allowed, key=lambda v: -int(v.split(".")[1]))


def _fake(bin_dir: Path, name: str, version: str | None) -> None:
    """A ``name`` command that reports ``version`` (None: exists but fails, like a pyenv shim)."""
    path = bin_dir / name
    body = f"echo {version}" if version else "echo 'pyenv: command not found' >&2; exit 127"
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)


def _run(bin_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": str(bin_dir), "HOME": str(bin_dir)}
    return subprocess.run(
        [BASH, str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=30
    )


@pytest.mark.parametrize(
    ("commands", "chosen"),
    [
        ({"python3.11": "3.11.9", "python3.12": "3.12.3", "python3.13": "3.13.1"}, "python3.13"),
        ({"python3.11": "3.11.9", "python3.12": "3.12.3", "python3.13": None}, "python3.12"),
        ({"python3": "3.12.3"}, "python3"),
        ({"python3": "3.13.0", "python3.11": "3.11.9"}, "python3"),
        ({"python3.10": "3.10.1", "python3": "3.11.2"}, "python3"),
    ],
)
def test_newest_supported_on_the_path(
    tmp_path: Path, commands: dict[str, str | None], chosen: str
) -> None:
    for name, version in commands.items():
        _fake(tmp_path, name, version)
    result = _run(tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(tmp_path / chosen)
    assert f"using Python {commands[chosen]} ({tmp_path / chosen})" in result.stderr


@pytest.mark.parametrize("python3", ["3.10.12", "3.14.0", None])
def test_none_fits_names_the_versions_needed(tmp_path: Path, python3: str | None) -> None:
    _fake(tmp_path, "python3", python3)
    _fake(tmp_path, "python3.12", None)  # a shim that does not run does not count
    result = _run(tmp_path)
    assert result.returncode == 1 and result.stdout == ""
    assert "need Python 3.11, 3.12 or 3.13" in result.stderr
    assert f"python3 here is {python3 or 'not runnable'}" in result.stderr
    assert "PYTHON=/path/to/python3.X" in result.stderr


def test_explicit_python_is_checked(tmp_path: Path) -> None:
    _fake(tmp_path, "python3.13", "3.13.1")
    _fake(tmp_path, "py310", "3.10.4")
    ok = _run(tmp_path, str(tmp_path / "python3.13"))
    assert ok.returncode == 0 and ok.stdout.strip() == str(tmp_path / "python3.13")
    old = _run(tmp_path, str(tmp_path / "py310"))
    assert old.returncode == 1
    assert "is Python 3.10.4; this project needs Python 3.11, 3.12 or 3.13" in old.stderr


def test_all_lists_every_version_and_marks_absent_ones(tmp_path: Path) -> None:
    _fake(tmp_path, "python3.12", "3.12.3")
    _fake(tmp_path, "python3", "3.11.2")
    result = _run(tmp_path, "--all")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "3.13 -",
        f"3.12 {tmp_path / 'python3.12'}",
        f"3.11 {tmp_path / 'python3'}",
    ]
