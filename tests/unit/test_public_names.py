"""Packages meet through their public names: an import from another package of stenograph names
the package (whose __all__ lists what it offers), never one of its modules.

import-linter checks which floor may import which (pyproject.toml); this checks the door."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = {  # package -> its folder in the repository
    "capture": ROOT / "capture", "transcribe": ROOT / "transcribe", "aggregate": ROOT / "aggregate",
    "api": ROOT / "api", "schemas": ROOT / "schemas", "compose": ROOT / "compose",
    "runtime": ROOT / "stenograph" / "runtime", "readmodel": ROOT / "stenograph" / "readmodel",
    "commands": ROOT / "stenograph" / "commands", "webhooks": ROOT / "stenograph" / "webhooks",
    "cli": ROOT / "stenograph" / "cli",
}


def _imports(package: str) -> list[tuple[Path, int, str]]:
    found = []
    for path in PACKAGES[package].rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("stenograph."):
                found.append((path, node.lineno, node.module))
    return found


# parsed at collection: CPython 3.11.7's parser can fail with "AST constructor recursion depth
# mismatch" when called after other tests have run in the same process
IMPORTS = {package: _imports(package) for package in PACKAGES}


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_other_packages_are_imported_by_their_public_names(package: str) -> None:
    wrong = []
    for path, line, module in IMPORTS[package]:
        parts = module.split(".")
        if parts[1] != package and len(parts) > 2 and parts[1] in PACKAGES:
            wrong.append(f"{path.relative_to(ROOT)}:{line}: from {module} import ...")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("package", sorted(set(PACKAGES) - {"cli"}))
def test_every_public_name_exists(package: str) -> None:
    module = importlib.import_module(f"stenograph.{package}")
    for name in module.__all__:
        assert getattr(module, name) is not None, (package, name)
