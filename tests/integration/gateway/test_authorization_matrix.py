"""The authorization matrix: every operation of the public schema, tried by every point of view,
by the root field, under an alias and in a named fragment, and along the nested paths that
reach a member's or a partner's data; zero unexpected allows and zero unexpected denies.

How to read the table (``authorization_reads``, ``authorization_accounts`` and
``authorization_programme``): each ``Row`` names a root field of ``Query`` or ``Mutation`` (or
that field and the nested path it reaches, e.g. ``registerMember.member.account``), gives the
document (``@`` marks the root field: the matrix runs it as is, as ``probe: field``, and with
its selection in a named fragment on the root type), what each point of view sends (prepared
afresh for each cell that changes state: a new earn, a new invitation, a new key ...), and the
expected outcome per point of view:

================  ==========================================================================
anonymous         no credentials
member            member A: holds points, a card, invitations, a redemption, a referral
other_member      member B, trying A's data wherever an operation takes an id or a key
erased            a member who erased themselves, with the access token they had
staff             staff of venue 1, where A's experiences and earns are
other_staff       staff of venue 2
partner           the partner's key: purchases at any venue, referrals
other_partner     another partner's key, same scope, trying the partner's data
out_of_scope      the partner's second key: attendance at venue 2 only, no referrals
admin             a programme admin
================  ==========================================================================

``Ok`` is data with no error (and the union member named, and a ``check`` of whose data it is),
``Denied(code, at)`` is exactly one error with that code at the root field or at the nested
path ``at``, ``Typed(typename, code)`` an expected outcome of the result union. ``row(default,
...)`` gives ``default`` to every view but anonymous and erased (``UNAUTHENTICATED``) and those
named; ``members``, ``admins``, ``venue_staff``, ``partners`` and ``everyone`` say who is let in.

The rows are checked against the schema: every root field has a row, and every type that holds
someone's data (``SENSITIVE``) reachable from a root field is selected by one of its rows.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from graphql import (
    GraphQLSchema,
    TypeInfo,
    TypeInfoVisitor,
    Visitor,
    build_schema,
    get_named_type,
    parse,
    visit,
)
from graphql.type import GraphQLObjectType, GraphQLUnionType

from tests.integration.gateway.authorization_accounts import ACCOUNTS
from tests.integration.gateway.authorization_programme import PROGRAMME
from tests.integration.gateway.authorization_reads import READS
from tests.integration.gateway.authorization_table import (
    Cell,
    Denied,
    Expected,
    Ok,
    Prepared,
    Row,
    Typed,
)
from tests.integration.gateway.authorization_world import VIEWS, World, build, serving

ROWS: list[Row] = [*READS, *ACCOUNTS, *PROGRAMME]
SCHEMA_FILE = Path(__file__).parents[3] / "graphql_schema" / "schema.graphql"
ALIAS = "probe"

# Types that hold one member's, venue's or partner's data: each one reachable from a root field
# must be selected by a row of that root field.
SENSITIVE = {
    "Me",
    "Account",
    "LedgerEntry",
    "Identifier",
    "ContactPreferences",
    "Invitation",
    "DoorPass",
    "MyReferral",
    "IssuanceReport",
    "ExperienceStats",
    "AmbassadorBoard",
    "PartnerReferral",
    "WebhookDelivery",
    "PartnerWebhook",
    "ApiKey",
    "StaffAccount",
    "Session",
    "DataExport",
}


def _schema() -> GraphQLSchema:
    return build_schema(SCHEMA_FILE.read_text(encoding="utf-8"))


def _operations(schema: GraphQLSchema) -> set[str]:
    roots = [schema.query_type, schema.mutation_type]
    return {name for root in roots if root is not None for name in root.fields}


def _reachable(schema: GraphQLSchema, field: str) -> set[str]:
    """The sensitive types a root field's answer can hold, at any depth."""
    root = schema.mutation_type if field in schema.mutation_type.fields else schema.query_type
    found: set[str] = set()
    pending = [get_named_type(root.fields[field].type)]
    seen: set[str] = set()
    while pending:
        kind = pending.pop()
        if kind.name in seen:
            continue
        seen.add(kind.name)
        if isinstance(kind, GraphQLUnionType):
            pending.extend(kind.types)
        elif isinstance(kind, GraphQLObjectType):
            if kind.name in SENSITIVE:
                found.add(kind.name)
            pending.extend(get_named_type(f.type) for f in kind.fields.values())
    return found


def _selected(schema: GraphQLSchema, document: str) -> set[str]:
    """The sensitive types a document selects fields of."""
    info = TypeInfo(schema)
    found: set[str] = set()

    class Collect(Visitor):
        def enter_field(self, *_: Any) -> None:
            parent = info.get_parent_type()
            if parent is not None and parent.name in SENSITIVE:
                found.add(parent.name)

    visit(parse(document.replace("@", "")), TypeInfoVisitor(info, Collect()))
    return found


def test_every_operation_of_the_schema_has_a_row_and_no_row_names_another() -> None:
    operations = _operations(_schema())
    fields = {r.field for r in ROWS}
    assert operations - fields == set(), "operations without a row"
    assert fields - operations == set(), "rows of operations the schema does not have"
    assert len({r.name for r in ROWS}) == len(ROWS), "two rows of one name"


def test_every_row_expects_an_outcome_for_every_point_of_view() -> None:
    for r in ROWS:
        assert set(r.expect) == set(VIEWS), r.name
        assert r.document.count("@") == 1 and f"@{r.field}" in r.document, r.name


def test_every_kind_of_someones_data_an_operation_reaches_is_tried_by_its_rows() -> None:
    schema = _schema()
    untried = {}
    for operation in sorted(_operations(schema)):
        rows = [r for r in ROWS if r.field == operation]
        tried = set().union(*(_selected(schema, r.document) for r in rows))
        if _reachable(schema, operation) - tried:
            untried[operation] = _reachable(schema, operation) - tried
    assert untried == {}


# ---- running the cells -------------------------------------------------------------------


@pytest.fixture(scope="module")
def matrix_database_url(make_database: Callable[[], str]) -> str:
    return make_database()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def world(matrix_database_url: str) -> AsyncIterator[World]:
    async with serving(matrix_database_url) as gateway:
        yield await build(gateway)


def _path(error: dict[str, Any]) -> str:
    return ".".join(str(p) for p in (error.get("path") or [])[1:])


def _outcome(body: dict[str, Any], key: str) -> str:
    """What happened, in the table's words, for a report."""
    errors = body.get("errors") or []
    if errors:
        return "; ".join(
            f"{(e.get('extensions') or {}).get('code')} at {_path(e) or key}" for e in errors
        )
    value = (body.get("data") or {}).get(key)
    if isinstance(value, dict) and "code" in value:
        return f"{value.get('__typename')}/{value['code']}"
    typename = value.get("__typename") if isinstance(value, dict) else None
    return f"ok {typename or ''}".strip()


def _meets(cell: Cell, expected: Expected, body: dict[str, Any], key: str) -> bool:
    errors = body.get("errors") or []
    value = (body.get("data") or {}).get(key)
    if isinstance(expected, Denied):
        seen = [((e.get("extensions") or {}).get("code"), _path(e)) for e in errors]
        return seen == [(expected.code, expected.at)]
    if errors or value is None:
        return False
    if isinstance(expected, Typed):
        if (value.get("__typename"), value.get("code")) != (expected.typename, expected.code):
            return False
        expected.check(cell, value)
        return True
    assert isinstance(expected, Ok)
    if expected.typename is not None and value.get("__typename") != expected.typename:
        return False
    if isinstance(value, dict) and "code" in value:
        return False
    expected.check(cell, value)
    return True


def _in_a_fragment(document: str) -> str:
    """The document with its selection moved into a named fragment on the root type, aliased."""
    head, _, body = document.replace("@", f"{ALIAS}: ").partition("{")
    root = "Mutation" if head.lstrip().startswith("mutation") else "Query"
    return f"{head}{{ ...Probe }}\nfragment Probe on {root} {{{body}"


VARIANTS: dict[str, Callable[[str], str]] = {
    "": lambda document: document.replace("@", ""),
    " (aliased)": lambda document: document.replace("@", f"{ALIAS}: "),
    " (in a fragment)": _in_a_fragment,
}


async def _run(world: World, r: Row, view: str, variant: str) -> str | None:
    """Run one cell; a description of the surprise, or ``None`` if it went as expected."""
    prepared: Prepared = await r.prepare(world, view)
    document = VARIANTS[variant](r.document)
    key = ALIAS if variant else r.field
    credentials = prepared.credentials or world.credentials(view)
    body = await world.gateway.gql(document, prepared.variables, **credentials)
    expected = r.expect[view]
    cell = Cell(world, view, prepared)
    try:
        if _meets(cell, expected, body, key):
            return None
    except AssertionError as failed:
        return f"expected {expected}, got {_outcome(body, key)} but not the data: {failed!r} {body}"
    return f"expected {expected}, got {_outcome(body, key)}: {body}"


@pytest.mark.parametrize("r", ROWS, ids=[r.name for r in ROWS])
async def test_each_point_of_view_gets_exactly_what_the_table_says(world: World, r: Row) -> None:
    surprises = []
    for view in VIEWS:
        for variant in VARIANTS:
            found = await _run(world, r, view, variant)
            if found is not None:
                surprises.append(f"{r.name} as {view}{variant}: {found}")
    assert surprises == [], "\n".join(surprises)
