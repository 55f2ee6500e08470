"""The boundaries of the design, checked by walking the imports of every module."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
IO_PACKAGES = ("sqlalchemy", "asyncpg", "starlette", "httpx", "uvicorn", "strawberry", "alembic")
PURE_MODULES = [
    "services/loyalty/rules",
    "services/loyalty/ledger.py",
    "services/loyalty/tiers.py",
    "services/loyalty/experiences/model.py",
    "services/loyalty/experiences/quiet_hours.py",
    "services/loyalty/experiences/guardrails.py",
    "services/loyalty/experiences/selection.py",
    "services/loyalty/experiences/issuance.py",
    "services/loyalty/experiences/eligibility.py",
    "services/loyalty/experiences/lifecycle.py",
    "services/loyalty/experiences/ratings.py",
    "services/loyalty/experiences/door_codes.py",
    "services/loyalty/experiences/door_pass.py",
    "services/loyalty/experiences/figures.py",
    "services/loyalty/experiences/door_words.py",
    "services/loyalty/experiences/contacts.py",
    "services/loyalty/referrals/ambassadors.py",
    "services/loyalty/referrals/attribution.py",
    "services/loyalty/referrals/backoff.py",
    "services/loyalty/referrals/codes.py",
    "services/loyalty/referrals/conversion.py",
    "services/loyalty/referrals/model.py",
    "services/loyalty/referrals/payloads.py",
    "services/loyalty/referrals/signing.py",
    "services/loyalty/referrals/words.py",
    "services/identity/referees/hashing.py",
    "services/identity/normalise.py",
    "services/identity/verification/codes.py",
]


def _modules(relative: str) -> list[Path]:
    path = ROOT / relative
    if path.is_dir():
        return sorted(path.rglob("*.py"))
    return [path] if path.exists() else []


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


@pytest.mark.parametrize("relative", PURE_MODULES)
def test_the_functional_core_imports_no_database_http_or_framework(relative: str) -> None:
    for module in _modules(relative):
        bad = {name for name in _imports(module) if name.split(".")[0] in IO_PACKAGES}
        assert not bad, f"{module.relative_to(ROOT)} imports {sorted(bad)}"


@pytest.mark.parametrize(("service", "other"), [("identity", "loyalty"), ("loyalty", "identity")])
def test_a_service_never_imports_the_other_service(service: str, other: str) -> None:
    for module in _modules(f"services/{service}"):
        bad = {n for n in _imports(module) if n.startswith(f"services.{other}")}
        assert not bad, f"{module.relative_to(ROOT)} imports {sorted(bad)}"


def test_the_gateway_reaches_the_services_only_through_their_contracts() -> None:
    for module in _modules("graphql_schema"):
        for name in _imports(module):
            if name.startswith(("services.identity", "services.loyalty")):
                assert name.endswith(".contract"), f"{module.relative_to(ROOT)} imports {name}"
