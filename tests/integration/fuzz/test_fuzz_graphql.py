"""Fuzzing the public API: hypothesis-graphql writes valid queries and mutations from the
published schema, one root field each, with values that mostly look right (so that they reach
the services) and sometimes are what an attacker sends, for the four points of view: anonymous,
a member, venue staff and a partner's API key. Whatever the document, the gateway answers
without a 5xx, without an INTERNAL_ERROR and without a word of its implementation (tracebacks,
SQL, drivers, paths)."""

from __future__ import annotations

from pathlib import Path

import graphql
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from hypothesis_graphql import strategies as gql

from tests.integration.fuzz.platform import Platform, assert_answered_cleanly, fuzzing
from tests.integration.fuzz.values import custom_scalars, retarget, targeted

SCHEMA = graphql.build_schema(
    (Path(__file__).resolve().parents[3] / "graphql_schema" / "schema.graphql").read_text()
)
PERSONAS = ("anonymous", "member", "staff", "partner")
EXAMPLES = 250  # per point of view and kind of operation: 2,000 operations in all


#: Documents that once failed inside, kept so that they are tried on every run.
REGRESSIONS = [
    # a partner's referee email of one character passed the gateway's checks unvalidated
    # and failed inside when the gateway built identity's request: INTERNAL_ERROR
    'mutation { registerReferral(input: {reference: "r1", code: "ABC", email: "\U00051f45"}) '
    "{ __typename } }",
]


def documents(platform: Platform, kind: str) -> st.SearchStrategy[str]:
    """Documents of one root field each, the root fields drawn evenly, the values of the
    fields whose names say what they hold drawn again to look right most of the time."""
    scalars = custom_scalars(platform.ids(), platform.emails())
    root = SCHEMA.query_type if kind == "query" else SCHEMA.mutation_type
    assert root is not None
    make = gql.queries if kind == "query" else gql.mutations
    by_field = {
        name: make(SCHEMA, fields=[name], custom_scalars=scalars, print_ast=lambda d: d)
        for name in sorted(root.fields)
    }
    targets = targeted(platform.ids(), platform.emails())

    @st.composite
    def operation(draw: st.DrawFn) -> str:
        document = draw(st.sampled_from(sorted(by_field)).flatmap(by_field.__getitem__))
        return retarget(document, draw, targets)

    return operation()


@pytest.mark.parametrize("kind", ["query", "mutation"])
@pytest.mark.parametrize("persona", PERSONAS)
def test_generated_operations_never_fail_inside(
    platform: Platform, persona: str, kind: str
) -> None:
    answered: list[int] = []

    @fuzzing(EXAMPLES)
    @given(query=documents(platform, kind))
    def operation(query: str) -> None:
        response = platform.graphql(query, persona)
        answered.append(response.status_code)
        if persona == "member" and "UNAUTHENTICATED" in response.text:
            platform.personas["member"] = platform.new_member()  # it erased itself
        assert_answered_cleanly(response, query)

    for regression in REGRESSIONS:
        operation = example(query=regression)(operation)
    operation()
    assert len(answered) >= EXAMPLES
