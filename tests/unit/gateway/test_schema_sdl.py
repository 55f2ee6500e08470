"""The public schema is the one recorded in ``graphql_schema/schema.graphql``: a change to the API
(a type, a field, a description, the order of the operations) shows as a diff of that file.

If a change is intended, regenerate the file with ``uv run python scripts/export_schema.py``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import strawberry

from graphql_schema import schema
from services.common.settings import Environment, Settings

ROOT = Path(__file__).resolve().parents[3]
RECORDED = ROOT / "graphql_schema" / "schema.graphql"


@pytest.mark.parametrize("environment", list(Environment))
def test_the_public_schema_is_the_one_recorded_in_schema_graphql(
    environment: Environment,
) -> None:
    printed = str(schema.build_schema(Settings(environment=environment))) + "\n"
    assert printed == RECORDED.read_text(encoding="utf-8"), (
        "the public schema changed; if that is intended, run "
        "`uv run python scripts/export_schema.py` and commit graphql_schema/schema.graphql"
    )


def _defines_operations(path: Path) -> bool:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return any(
        isinstance(node, ast.ClassDef) and node.name in ("Query", "Mutation") for node in tree.body
    )


def test_every_module_that_brings_operations_is_composed_into_the_schema() -> None:
    package = ROOT / "graphql_schema"
    bringing = {
        ".".join(path.relative_to(package).with_suffix("").parts)
        for path in package.rglob("*.py")
        if path.stem != "schema" and _defines_operations(path)
    }
    composed = {area.__name__.removeprefix("graphql_schema.") for area in schema.AREAS}
    assert composed == bringing
    assert composed == {
        "members.me",
        "members.registration",
        "members.contact",
        "members.merging",
        "members.privacy",
        "sessions",
        "organisations",
        "accounts",
        "rules",
        "rewards.catalogue",
        "rewards.redemption",
        "rewards.management",
        "earning",
        "experiences.management",
        "experiences.issuance",
        "invitations",
        "door",
        "referrals",
        "partner_webhooks",
        "verification",
    }
    assert len(schema.AREAS) == len(composed)  # each area composed once


class _ANewArea:
    @strawberry.type
    class Query:
        @strawberry.field
        def an_early_name(self) -> int:
            return 1

    @strawberry.type
    class Mutation:
        @strawberry.mutation
        def a_first_action(self) -> int:
            return 1


def test_a_new_areas_operations_come_after_the_published_ones_in_the_order_of_the_areas(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(schema, "AREAS", (_ANewArea, *schema.AREAS))
    for root in ("Query", "Mutation"):
        names = [f.name for f in schema._root(root).__strawberry_definition__.fields]  # type: ignore[attr-defined]
        published = list(schema.PUBLISHED_ORDER[root])
        new = "an_early_name" if root == "Query" else "a_first_action"
        assert names == [*published, new]
