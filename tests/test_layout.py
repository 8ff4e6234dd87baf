"""The layout's promise: dependencies point down (core model <- evaluation, batch, review <- service)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from conftest import ROOT

SUBPACKAGES = ("evaluation", "batch", "review")


def imported_modules(path: Path) -> set[str]:
    """Absolute names of every module a file imports, anywhere in it (lazy imports too)."""
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
            module = ".".join([*base, node.module] if node.module else base)
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def core_modules() -> list[Path]:
    return sorted((ROOT / "model").glob("*.py"))


@pytest.mark.parametrize("path", core_modules(), ids=lambda p: p.name)
def test_core_model_never_imports_subpackages_or_flask(path):
    names = imported_modules(path)
    upward = sorted(n for n in names for sub in SUBPACKAGES
                    if n == f"model.{sub}" or n.startswith(f"model.{sub}."))
    assert not upward, f"{path.name} imports {upward}"
    assert not any(n.split(".")[0] in ("flask", "werkzeug", "service", "cli") for n in names)


@pytest.mark.parametrize("path", sorted((ROOT / "model").rglob("*.py")), ids=str)
def test_model_never_imports_service_or_cli(path):
    names = imported_modules(path)
    assert not any(n.split(".")[0] in ("flask", "werkzeug", "service", "cli") for n in names)


def test_subpackages_say_what_they_are():
    for init in (ROOT / "model").glob("*/__init__.py"):
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
        assert doc and "\n" not in doc.strip(), f"{init} needs a one-line docstring"
