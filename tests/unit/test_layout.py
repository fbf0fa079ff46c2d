"""The layout the folders promise, held against the code's imports (ast, nothing is run).

- ``model_contract/`` stands at the bottom: it imports neither ``app``, ``batch`` nor ``training``;
- ``batch/`` (the batch CLI) stands on ``model_contract`` alone: no ``app``, no FastAPI/Starlette;
- ``app/`` (the service) and ``training/`` never import each other, nor ``batch``, except the one
  deprecated ``python -m app.score`` shim;
- no module of the shipped packages is over 250 lines.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("app", "batch", "model_contract", "training")
MAX_LINES = 250
# package -> top-level names it must never import
FORBIDDEN = {
    "model_contract": {"app", "batch", "training", "fastapi", "starlette", "uvicorn"},
    "batch": {"app", "training", "fastapi", "starlette", "uvicorn"},
    "app": {"training", "batch"},
    "training": {"app", "batch"},
}
ALLOWED = {("app/score/__main__.py", "batch")}  # the deprecation shim forwards to the new CLI


def modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", PACKAGES)
def test_no_import_runs_against_the_layering(package: str) -> None:
    wrong = [
        (str(path.relative_to(ROOT)), name)
        for path in modules(package)
        for name in sorted(imported(path) & FORBIDDEN[package])
        if (str(path.relative_to(ROOT)), name) not in ALLOWED
    ]
    assert wrong == []


@pytest.mark.parametrize("package", PACKAGES)
def test_no_module_is_over_250_lines(package: str) -> None:
    sizes = {
        str(p.relative_to(ROOT)): len(p.read_text(encoding="utf-8").splitlines())
        for p in modules(package)
    }
    assert {name: n for name, n in sizes.items() if n > MAX_LINES} == {}


def test_the_checks_see_the_packages() -> None:
    # A typo in PACKAGES or a moved tree would make the checks above pass vacuously.
    assert all(len(modules(p)) >= 5 for p in PACKAGES)
    assert "fastapi" in imported(ROOT / "app" / "main.py")
    assert "model_contract" in imported(ROOT / "batch" / "cli.py")
