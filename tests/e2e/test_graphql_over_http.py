"""The gateway's ``/graphql`` follows the GraphQL over HTTP specification: media types by the
client's ``Accept`` header, 400 without ``data`` for requests that fail before execution when the
client accepts ``application/graphql-response+json``, 200 for legacy ``application/json``
clients as before, 400 for bodies that are not GraphQL-over-HTTP requests, 405, 406 and 415."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.e2e

GRAPHQL_RESPONSE = "application/graphql-response+json; charset=utf-8"
JSON = "application/json; charset=utf-8"
NEW = "application/graphql-response+json"
LEGACY = "application/json"


def post(
    platform: Any,
    body: Any,
    *,
    accept: str | None = NEW,
    content_type: str | None = "application/json",
) -> httpx.Response:
    headers = {}
    if accept is not None:
        headers["accept"] = accept
    if content_type is not None:
        headers["content-type"] = content_type
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.post(f"{platform.gateway}/graphql", content=content, headers=headers, timeout=10)


TYPENAME = {"query": "{ __typename }"}


@pytest.mark.parametrize(
    ("accept", "content_type"),
    [
        (NEW, GRAPHQL_RESPONSE),
        (f"{NEW}, {LEGACY};q=0.9", GRAPHQL_RESPONSE),
        (f"{NEW}, {LEGACY}", GRAPHQL_RESPONSE),
        (f"{LEGACY}, {NEW}", JSON),
        (f"{LEGACY};q=0.5, {NEW};q=0.6", GRAPHQL_RESPONSE),
        (f"{NEW};q=0, */*", JSON),
        (LEGACY, JSON),
        ("*/*", JSON),
        ("application/*", JSON),
        (None, JSON),
    ],
)
def test_the_answer_comes_in_the_media_type_the_client_prefers(
    platform: Any, accept: str | None, content_type: str
) -> None:
    response = post(platform, TYPENAME, accept=accept)
    assert response.status_code == 200
    assert response.headers["content-type"] == content_type
    assert response.json() == {"data": {"__typename": "Query"}}


@pytest.mark.parametrize("accept", ["text/html", "application/xml, text/plain;q=0.5", f"{NEW};q=0"])
def test_an_accept_header_that_allows_neither_json_media_type_is_answered_406(
    platform: Any, accept: str
) -> None:
    response = post(platform, TYPENAME, accept=accept)
    assert response.status_code == 406
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text == f"Not Acceptable: answers are {NEW} or {LEGACY}"


@pytest.mark.parametrize(
    "content_type",
    [None, "text/plain", "application/graphql", "application/json; charset=iso-8859-1"],
)
def test_a_post_body_that_is_not_json_in_utf8_is_answered_415(
    platform: Any, content_type: str | None
) -> None:
    response = post(platform, TYPENAME, content_type=content_type)
    assert response.status_code == 415
    assert response.headers["content-type"] == JSON
    assert response.headers["accept-post"] == "application/json"
    assert response.json() == {
        "errors": [
            {
                "message": "the request body must be application/json (UTF-8)",
                "extensions": {"code": "UNSUPPORTED_MEDIA_TYPE"},
            }
        ]
    }


@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8", "Application/JSON"])
def test_json_with_its_charset_said_or_in_other_case_is_accepted(
    platform: Any, content_type: str
) -> None:
    response = post(platform, TYPENAME, content_type=content_type)
    assert (response.status_code, response.json()) == (200, {"data": {"__typename": "Query"}})


REQUEST_ERRORS = [
    pytest.param({"query": "{"}, "Syntax Error: Expected Name, found <EOF>.", id="parse"),
    pytest.param(
        {"query": "{ nothingHere }"},
        "Cannot query field 'nothingHere' on type 'Query'.",
        id="validation",
    ),
    pytest.param(
        {"query": "query Q($l: Locale!) { tiers(locale: $l) { key } }", "variables": {"l": "DE"}},
        "Variable '$l' has invalid value: Value 'DE' does not exist in 'Locale' enum.",
        id="variable-coercion",
    ),
    pytest.param(
        {"query": "query Q($l: Locale!) { tiers(locale: $l) { key } }"},
        "Variable '$l' has invalid value: Expected a value of non-null type 'Locale!' to be provided.",
        id="variable-missing",
    ),
    pytest.param(
        {"query": "query A { __typename } query B { __typename }", "operationName": "C"},
        'Unknown operation named "C".',
        id="unknown-operation",
    ),
]


@pytest.mark.parametrize(("body", "message"), REQUEST_ERRORS)
def test_a_request_that_fails_before_execution_is_400_without_data_for_a_new_client(
    platform: Any, body: dict[str, Any], message: str
) -> None:
    response = post(platform, body, accept=NEW)
    assert response.status_code == 400
    assert response.headers["content-type"] == GRAPHQL_RESPONSE
    answer = response.json()
    assert set(answer) == {"errors"}
    assert [(e["message"], e["extensions"]["code"]) for e in answer["errors"]] == [
        (message, "INVALID_INPUT")
    ]


@pytest.mark.parametrize(("body", "message"), REQUEST_ERRORS)
def test_a_request_that_fails_before_execution_is_200_with_null_data_for_a_legacy_client(
    platform: Any, body: dict[str, Any], message: str
) -> None:
    response = post(platform, body, accept=LEGACY)
    assert response.status_code == 200
    assert response.headers["content-type"] == JSON
    answer = response.json()
    assert answer["data"] is None
    assert [(e["message"], e["extensions"]["code"]) for e in answer["errors"]] == [
        (message, "INVALID_INPUT")
    ]


@pytest.mark.parametrize("accept", [NEW, LEGACY])
def test_an_executed_request_is_200_with_its_data_entry_even_with_field_errors(
    platform: Any, accept: str
) -> None:
    response = post(platform, {"query": "{ me { id } }"}, accept=accept)
    assert response.status_code == 200
    answer = response.json()
    assert answer["data"] is None  # `me` is non-null: its error nulls the whole answer
    assert [(e["path"], e["extensions"]["code"]) for e in answer["errors"]] == [
        (["me"], "UNAUTHENTICATED")
    ]


@pytest.mark.parametrize("accept", [NEW, LEGACY])
@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"query": "{ __typename }"', "Unable to parse request body as JSON"),
        ({"qeury": "{ __typename }"}, "No GraphQL query found in the request"),
        (
            {"query": 7},
            "The GraphQL operation's `query` must be a string or null, if provided.",
        ),
        (
            {"query": "{ __typename }", "variables": [7]},
            "The GraphQL operation's `variables` must be an object or null, if provided.",
        ),
        (
            {"query": "{ __typename }", "extensions": "x"},
            "The GraphQL operation's `extensions` must be an object or null, if provided.",
        ),
        (
            {"query": "{ __typename }", "operationName": 0},
            "The operation's `operationName` must be a string.",
        ),
    ],
    ids=["json", "no-query", "query", "variables", "extensions", "operation-name"],
)
def test_a_body_that_is_not_a_graphql_over_http_request_is_400_for_every_client(
    platform: Any, accept: str, body: Any, message: str
) -> None:
    response = post(platform, body, accept=accept)
    assert response.status_code == 400
    assert response.headers["content-type"] == JSON
    assert response.json() == {
        "errors": [{"message": message, "extensions": {"code": "INVALID_INPUT"}}]
    }


@pytest.mark.parametrize("name", ["variables", "operationName", "extensions"])
def test_null_optional_parameters_are_the_same_as_none(platform: Any, name: str) -> None:
    response = post(platform, {"query": "{ __typename }", name: None})
    assert (response.status_code, response.json()) == (200, {"data": {"__typename": "Query"}})


@pytest.mark.parametrize(
    "query", ["{ __typename }", "mutation { eraseMe { erasedAt } }"], ids=["query", "mutation"]
)
def test_outside_development_a_get_request_is_405_and_says_post_is_allowed(
    platform: Any, query: str
) -> None:
    response = httpx.get(
        f"{platform.gateway}/graphql", params={"query": query}, headers={"accept": NEW}
    )
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.headers["content-type"] == JSON
    [error] = response.json()["errors"]
    assert error["extensions"] == {"code": "METHOD_NOT_ALLOWED"}


def test_another_method_is_405_and_says_which_are_allowed(platform: Any) -> None:
    response = httpx.put(f"{platform.gateway}/graphql", json=TYPENAME)
    assert response.status_code == 405
    assert set(response.headers["allow"].split(", ")) == {"GET", "POST"}


def test_in_development_a_get_query_runs_in_the_negotiated_media_type(newcomer: Any) -> None:
    response = httpx.get(
        f"{newcomer.url}/graphql",
        params={"query": "{ __typename }", "operationName": "", "variables": ""},
        headers={"accept": NEW},
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == GRAPHQL_RESPONSE
    assert response.json() == {"data": {"__typename": "Query"}}


def test_in_development_a_mutation_over_get_is_405_and_never_runs(newcomer: Any) -> None:
    response = httpx.get(
        f"{newcomer.url}/graphql",
        params={"query": "mutation { eraseMe { erasedAt } }"},
        headers={"accept": NEW},
    )
    assert (response.status_code, response.headers["allow"]) == (405, "POST")
    assert response.json() == {
        "errors": [
            {
                "message": "mutations are not allowed when using GET",
                "extensions": {"code": "METHOD_NOT_ALLOWED"},
            }
        ]
    }
