"""No import circles among the project's modules, found by walking the imports of every module.

Every import statement counts, wherever it sits (inside a function, under ``TYPE_CHECKING``):
a circle that is only broken by importing late is still a circle in the design.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("services", "graphql_schema")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules(packages: Iterable[str]) -> dict[str, Path]:
    """Every module under the given top-level folders, by its dotted name."""
    return {
        _module_name(path): path
        for package in packages
        for path in sorted((ROOT / package).rglob("*.py"))
    }


def _absolute(module: str | None, level: int, importer: str, is_package: bool) -> str:
    """The absolute name an import statement refers to (relative imports resolved)."""
    if level == 0:
        return module or ""
    base = importer.split(".")
    base = base[: len(base) - level + (1 if is_package else 0)]
    return ".".join([*base, module] if module else base)


def imports_of(name: str, path: Path, known: Mapping[str, Path]) -> set[str]:
    """The project modules that ``name`` imports: ``from a.b import c`` names the module
    ``a.b.c`` when there is one, and the package ``a.b`` otherwise."""
    found: set[str] = set()
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            source = _absolute(node.module, node.level, name, is_package)
            targets = [
                f"{source}.{alias.name}" if f"{source}.{alias.name}" in known else source
                for alias in node.names
            ]
        else:
            continue
        found.update(t for t in targets if t in known and t != name)
    return found


def circles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan's algorithm): each
    is a set of modules that import one another, directly or not."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for target in sorted(graph.get(module, ())):
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in on_stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            component: list[str] = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return sorted(found)


def import_graph(packages: Iterable[str]) -> dict[str, set[str]]:
    known = project_modules(packages)
    return {name: imports_of(name, path, known) for name, path in known.items()}


@pytest.mark.parametrize("package", PACKAGES)
def test_no_module_imports_itself_back_through_others(package: str) -> None:
    graph = import_graph(PACKAGES)
    found = [c for c in circles(graph) if any(m.split(".")[0] == package for m in c)]
    assert found == [], "import circles:\n" + "\n".join(" <-> ".join(c) for c in found)


def test_a_circle_is_found_through_late_imports_and_relative_imports() -> None:
    graph = {
        "app.a": {"app.b"},
        "app.b": {"app.c"},
        "app.c": {"app.a"},  # a three-module circle
        "app.d": {"app.a"},  # imports into the circle, but nothing imports it back
        "app.e": {"app.f"},
        "app.f": {"app.e"},  # two modules importing each other
    }
    assert circles(graph) == [["app.a", "app.b", "app.c"], ["app.e", "app.f"]]
    assert circles({"app.a": {"app.b"}, "app.b": set()}) == []


def test_imports_are_read_wherever_they_sit_and_resolved_to_project_modules(
    tmp_path: Path,
) -> None:
    source = (
        "from __future__ import annotations\n"
        "import os\n"
        "from typing import TYPE_CHECKING\n"
        "from graphql_schema import errors\n"
        "from graphql_schema.context import Info\n"
        "from . import limits\n"
        "if TYPE_CHECKING:\n"
        "    from .loaders import AccountPage\n"
        "def late() -> None:\n"
        "    import graphql_schema.auth\n"
    )
    module = tmp_path / "area.py"
    module.write_text(source, encoding="utf-8")
    known = project_modules(["graphql_schema"])
    assert imports_of("graphql_schema.area", module, known) == {
        "graphql_schema.errors",
        "graphql_schema.context",
        "graphql_schema.limits",
        "graphql_schema.loaders",
        "graphql_schema.auth",
    }
