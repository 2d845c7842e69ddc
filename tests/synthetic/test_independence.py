"""The generators are a tool beside pprl: they must not import the code they produce data for."""

from __future__ import annotations

import ast
from pathlib import Path

import synthetic

PPRL_PACKAGES = {"pipeline", "linkage", "pseudonym"}


def imported_packages(path: Path) -> set[str]:
    """Top-level package of every import in a module, including imports inside functions."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def test_no_module_of_synthetic_imports_pprl_code() -> None:
    modules = sorted(Path(synthetic.__file__).parent.glob("*.py"))
    assert len(modules) > 10
    offenders = {m.name: imported_packages(m) & PPRL_PACKAGES for m in modules}
    assert {name: found for name, found in offenders.items() if found} == {}


def test_the_check_finds_a_pprl_import(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("import numpy\n\ndef f():\n    from pipeline.atomic import atomic_path\n")
    assert imported_packages(module) == {"numpy", "pipeline"}
