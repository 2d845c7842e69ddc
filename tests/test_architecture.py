"""The house rules, checked on the source: layers, thin commands, no import cycles.

Every ``import`` statement counts, including those inside functions: a cycle hidden in a
function body is still a cycle a reader has to untangle.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("pipeline", "linkage", "pseudonym", "synthetic")

# What each package may import from the others (pipeline sits on top; synthetic is a leaf tool).
ALLOWED = {
    "pipeline": {"pipeline", "linkage", "pseudonym", "synthetic"},
    "linkage": {"linkage"},
    "pseudonym": {"pseudonym"},
    "synthetic": {"synthetic"},
}


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            parts = list(path.relative_to(REPO).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


MODULES = _modules()


def _imports(module: str, path: Path) -> Iterator[str]:
    """Project modules imported by ``module`` (``from x import name`` resolves to x.name when
    that is a module, else to x)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                yield candidate if candidate in MODULES else base


def _graph() -> dict[str, set[str]]:
    return {
        module: {name for name in _imports(module, path) if name in MODULES and name != module}
        for module, path in MODULES.items()
    }


GRAPH = _graph()


def test_the_graph_sees_the_packages() -> None:
    assert len(MODULES) > 100
    assert "linkage.kinds" in GRAPH["pipeline.config"]


@pytest.mark.parametrize("package", PACKAGES)
def test_layers(package: str) -> None:
    wrong = sorted(
        f"{module} -> {target}"
        for module, targets in GRAPH.items()
        if module.split(".")[0] == package
        for target in targets
        if target.split(".")[0] not in ALLOWED[package]
    )
    assert not wrong, "imports across layers:\n" + "\n".join(wrong)


def test_only_the_cli_imports_commands() -> None:
    wrong = sorted(
        f"{module} -> {target}"
        for module, targets in GRAPH.items()
        if not module.startswith("pipeline.commands") and module != "pipeline.cli"
        for target in targets
        if target.startswith("pipeline.commands")
    )
    assert not wrong, "library code importing commands:\n" + "\n".join(wrong)


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), excluding the edges
    from a package's ``__init__`` to its own submodules (re-exports are not cycles of logic)."""
    edges = {
        m: {t for t in ts if not (MODULES[m].name == "__init__.py" and t.startswith(m + "."))}
        for m, ts in graph.items()
    }
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycles() -> None:
    cycles = _cycles(GRAPH)
    assert not cycles, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in cycles)


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = {name: set() for name in MODULES}
    graph["pipeline.io"] = {"pipeline.errors"}
    graph["pipeline.errors"] = {"pipeline.io"}
    assert ["pipeline.errors", "pipeline.io"] in _cycles(graph)
