"""Hypothesis strategies for the values the fuzzed documents carry: most look right, so that
they get past the first validation and reach the services (emails, amounts, currencies,
date-times with offsets, ids that exist), the rest are what an attacker sends (control
characters, NUL, huge numbers, long strings, dates out of range, text where numbers go)."""

from __future__ import annotations

import datetime as dt
from typing import Any, TypeVar

import graphql
from hypothesis import strategies as st
from hypothesis_graphql import nodes

T = TypeVar("T")

#: Plain text without control characters or lone surrogates.
PRINTABLE = st.characters(codec="utf-8", exclude_categories=("Cc", "Cs"))

CURRENCIES = ["EUR", "USD", "GBP", "JPY", "eur", "XXX", "EURO", ""]
WORDS = ["en", "fr", "TICKET_PURCHASE", "cafe", "theatre", "coffee", "MEMBER", "STAFF", "demo"]


def long_strings() -> st.SearchStrategy[str]:
    return st.tuples(st.sampled_from(["x", "é", "0", "🎭"]), st.integers(200, 20_000)).map(
        lambda pair: pair[0] * pair[1]
    )


def amounts() -> st.SearchStrategy[str]:
    return st.one_of(
        st.decimals(min_value=-1000, max_value=100_000, places=2, allow_nan=False).map(str),
        st.integers(0, 10**6).map(str),
        st.sampled_from(
            [
                "0",
                "0.00",
                "-1",
                "12.5",
                "1_000",
                "1E+2",
                "1e3",
                "NaN",
                "Infinity",
                "-0",
                " 12 ",
                "12,50",
                "9" * 40,
                "1" + "0" * 400,
                "0.0000000001",
                "١٢",
            ]
        ),
    )


def instants() -> st.SearchStrategy[str]:
    offsets = st.sampled_from(["Z", "+00:00", "+01:00", "-05:30", "+14:00"])
    recent = st.datetimes(
        min_value=dt.datetime(2024, 1, 1), max_value=dt.datetime(2027, 12, 31)
    ).map(lambda d: d.replace(microsecond=0).isoformat())
    return st.one_of(
        st.tuples(recent, offsets).map("".join),
        st.datetimes().map(lambda d: d.isoformat() + "+00:00"),
        recent,  # no offset
        st.sampled_from(
            [
                "9999-12-31T23:59:59+00:00",
                "0001-01-01T00:00:00Z",
                "2026-02-30T10:00:00Z",
                "2026-12-01",
                "tomorrow",
                "",
                "2026-12-01T19:30:00+25:00",
            ]
        ),
    )


def dates() -> st.SearchStrategy[str]:
    return st.one_of(
        st.dates().map(dt.date.isoformat),
        st.sampled_from(["2026-02-30", "1-1-1", "", "9999-99-99"]),
    )


def times() -> st.SearchStrategy[str]:
    return st.one_of(
        st.times().map(lambda t: t.isoformat(timespec="minutes")),
        st.sampled_from(["24:00", "22:00", "07:30", "7h", ""]),
    )


def texts() -> st.SearchStrategy[str]:
    return st.one_of(
        st.text(PRINTABLE, max_size=30),
        st.text(max_size=12),  # any character: control characters and NUL among them
        st.text(PRINTABLE, max_size=8).map(lambda s: s + "\x00"),
        long_strings(),
    )


def strings(ids: list[str], emails: list[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(emails),
        st.emails(),
        st.sampled_from(ids),
        st.uuids().map(str),
        st.sampled_from(CURRENCIES),
        st.sampled_from(WORDS),
        amounts(),
        instants(),
        texts(),
    )


def identifiers(ids: list[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(ids), st.uuids().map(str), st.text(PRINTABLE, max_size=12), texts()
    )


def ints() -> st.SearchStrategy[graphql.ValueNode]:
    return st.one_of(
        st.integers(-3, 120),
        st.sampled_from([0, -1, 2**31 - 1, -(2**31), 2**63, 10**400]),
        st.integers(),
    ).map(nodes.Int)


def decimals() -> st.SearchStrategy[graphql.ValueNode]:
    return st.one_of(
        amounts().map(nodes.String),
        st.integers(-(10**6), 10**30).map(nodes.Int),
        st.floats().map(nodes.Float),
    )


def value_node(value: Any) -> graphql.ValueNode:
    """A JSON value as a GraphQL literal."""
    if value is None:
        return nodes.Null
    if isinstance(value, bool):
        return nodes.Boolean(value)
    if isinstance(value, int):
        return nodes.Int(value)
    if isinstance(value, float):
        return nodes.Float(value)
    if isinstance(value, str):
        return nodes.String(value)
    if isinstance(value, list):
        return nodes.List([value_node(v) for v in value])
    return nodes.Object(
        [
            graphql.ObjectFieldNode(name=graphql.NameNode(value=k), value=value_node(v))
            for k, v in value.items()
        ]
    )


def json_documents() -> st.SearchStrategy[graphql.ValueNode]:
    keys = st.sampled_from(["version", "rules", "trigger", "points", "per", "currency", "name"])
    scalars = st.one_of(
        st.none(), st.booleans(), st.integers(-10, 10**6), st.text(PRINTABLE, max_size=10)
    )
    documents = st.recursive(
        scalars,
        lambda children: st.one_of(
            st.lists(children, max_size=3), st.dictionaries(keys, children, max_size=4)
        ),
        max_leaves=12,
    )
    return documents.map(value_node)


def one_in(n: int) -> st.SearchStrategy[bool]:
    """True once in ``n`` draws (``sampled_from`` draws evenly, whereas ``integers`` draws its
    lower bound far more often than the others; the simplest draw, which Hypothesis also favours,
    is False)."""
    return st.sampled_from(range(n)).map(lambda k: k == n - 1)


def mostly(valid: st.SearchStrategy[T], odd: st.SearchStrategy[T]) -> st.SearchStrategy[T]:
    """``valid`` four times in five, else ``odd``: the branch is drawn with ``one_in(5)``, an even
    ``st.sampled_from`` of five, so that ``odd`` comes about 20% of the time (an ``st.integers``
    range would favour its low end and draw ``odd`` far more often)."""
    return one_in(5).flatmap(lambda odd_one: odd if odd_one else valid)


def targeted(ids: list[str], emails: list[str]) -> dict[str, st.SearchStrategy[str]]:
    """Values for the input fields and arguments whose names say what they hold, so that most
    documents get past the first validation and reach the services."""
    email = mostly(st.one_of(st.sampled_from(emails), st.emails()), texts())
    known = mostly(st.sampled_from(ids), identifiers(ids))
    instant = mostly(
        st.tuples(
            st.datetimes(min_value=dt.datetime(2025, 1, 1), max_value=dt.datetime(2027, 6, 30)).map(
                lambda d: d.replace(microsecond=0).isoformat()
            ),
            st.sampled_from(["Z", "+01:00", "-04:00"]),
        ).map("".join),
        instants(),
    )
    key = mostly(
        st.text(st.characters(codec="ascii", categories=("L", "N")), min_size=1, max_size=24),
        texts(),
    )
    return {
        "email": email,
        "identifier": email,
        "value": mostly(
            st.one_of(st.emails(), st.sampled_from(["+33612345678", "06 12 34 56 78"])), texts()
        ),
        "phone": mostly(st.sampled_from(["+33612345678", "+442071838750", "0612345678"]), texts()),
        "password": mostly(
            st.sampled_from(["correct horse battery staple", "Tr0ub4dor&3-longer"]), texts()
        ),
        "amount": mostly(st.decimals(min_value=0, max_value=500, places=2).map(str), amounts()),
        "currency": mostly(st.just("EUR"), st.sampled_from(CURRENCIES)),
        "idempotencyKey": key,
        "externalId": key,
        "scanId": key,
        "deviceId": key,
        **{
            name: known
            for name in (
                "memberId",
                "venueId",
                "rewardId",
                "partnerId",
                "id",
                "survivorId",
                "absorbedId",
                "keyId",
                "experienceId",
                "invitationId",
            )
        },
        **{
            name: instant
            for name in ("occurredAt", "startsAt", "endsAt", "scannedAt", "doorOpensAt")
        },
    }


def retarget(
    document: graphql.DocumentNode, draw: Any, targets: dict[str, st.SearchStrategy[str]]
) -> str:
    """``document`` printed, with the strings of the fields named in ``targets`` drawn again
    from their strategies (``draw`` is Hypothesis' ``data.draw``)."""

    class Retarget(graphql.Visitor):
        def enter_object_field(self, node: graphql.ObjectFieldNode, *_: Any) -> Any:
            strategy = targets.get(node.name.value)
            if strategy is None or not isinstance(node.value, graphql.StringValueNode):
                return None
            return graphql.ObjectFieldNode(name=node.name, value=nodes.String(draw(strategy)))

        def enter_argument(self, node: graphql.ArgumentNode, *_: Any) -> Any:
            strategy = targets.get(node.name.value)
            if strategy is None or not isinstance(node.value, graphql.StringValueNode):
                return None
            return graphql.ArgumentNode(name=node.name, value=nodes.String(draw(strategy)))

    return graphql.print_ast(graphql.visit(document, Retarget()))


def custom_scalars(ids: list[str], emails: list[str]) -> dict[str, st.SearchStrategy[Any]]:
    """Strategies for every scalar of the schema, keyed by its name."""
    return {
        "String": strings(ids, emails).map(nodes.String),
        "ID": identifiers(ids).map(nodes.String),
        "Int": ints(),
        "DateTime": instants().map(nodes.String),
        "Date": dates().map(nodes.String),
        "Time": times().map(nodes.String),
        "Decimal": decimals(),
        "JSON": json_documents(),
    }
