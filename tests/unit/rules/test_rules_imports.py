"""The pure domain's modules import one another in one direction only: no circles, not even
through imports made for type checking alone."""

from __future__ import annotations

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
PURE = [
    *sorted((ROOT / "services/loyalty/rules").glob("*.py")),
    ROOT / "services/loyalty/ledger.py",
    ROOT / "services/loyalty/tiers.py",
]


def module_of(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


def imported(path: Path, known: set[str]) -> set[str]:
    """Every module of ``known`` that ``path`` imports, wherever the import statement is."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            candidates = {node.module, *(f"{node.module}.{a.name}" for a in node.names)}
        elif isinstance(node, ast.Import):
            candidates = {a.name for a in node.names}
        else:
            continue
        found |= candidates & known
    return found


def test_the_pure_modules_import_one_another_without_a_circle() -> None:
    modules = {module_of(p): p for p in PURE if p.name != "__init__.py"}
    graph = {name: imported(path, set(modules)) - {name} for name, path in modules.items()}
    assert graph["services.loyalty.rules.evaluate"] == {
        "services.loyalty.rules.model",
        "services.loyalty.rules.words",
    }
    try:
        order = list(TopologicalSorter(graph).static_order())
    except CycleError as circle:
        raise AssertionError(f"import circle: {' -> '.join(circle.args[1])}") from None
    assert order.index("services.loyalty.rules.words") < order.index(
        "services.loyalty.rules.evaluate"
    )
