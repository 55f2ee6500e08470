"""End to end: GraphQL over HTTP into the gateway, with identity and loyalty in processes of
their own, exactly as ``docker-compose.yml`` runs them."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.e2e

PASSWORD = "correct horse battery"


def gql(
    platform: Any, query: str, variables: dict[str, Any] | None = None, token: str | None = None
) -> dict[str, Any]:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    response = httpx.post(
        f"{platform.gateway}/graphql",
        json={"query": query, "variables": variables or {}},
        headers=headers,
        timeout=10,
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body
    return body["data"]


def login(
    platform: Any, email: str, password: str = PASSWORD, portal: str = "MEMBER"
) -> dict[str, Any]:
    result = gql(
        platform,
        "mutation($i: LoginInput!) { login(input: $i) { __typename ... on Session { accessToken subjectId } } }",
        {"i": {"email": email, "password": password, "portal": portal}},
    )["login"]
    assert result["__typename"] == "Session", result
    return result


def register(platform: Any) -> tuple[str, str]:
    email = f"e2e.{uuid.uuid4().hex[:10]}@example.org"
    result = gql(
        platform,
        "mutation($i: RegisterMemberInput!) { registerMember(input: $i) { __typename ... on MemberRegistered { member { id } } } }",
        {"i": {"email": email, "password": PASSWORD, "displayName": "Camille"}},
    )["registerMember"]
    assert result["__typename"] == "MemberRegistered", result
    return result["member"]["id"], email


def test_a_member_registers_signs_in_links_a_card_sets_preferences_and_reads_me(
    platform: Any,
) -> None:
    member_id, email = register(platform)
    token = login(platform, email)["accessToken"]
    card = f"CARD-{uuid.uuid4().hex[:8]}"
    linked = gql(
        platform,
        "mutation($c: String!) { linkIdentifier(input: {kind: MEMBERSHIP_CARD, value: $c}) { __typename } }",
        {"c": card},
        token,
    )
    assert linked["linkIdentifier"]["__typename"] == "IdentifierLinked"
    gql(
        platform,
        'mutation { updateContactPreferences(input: {consents: [{channel: EMAIL, granted: true}], interests: ["jazz"]}) { preferences { interests } } }',
        token=token,
    )
    me = gql(
        platform,
        "{ me { id displayName identifiers { kind value } preferences { interests consents { channel granted } } account { balance } } }",
        token=token,
    )["me"]
    assert me["id"] == member_id and me["displayName"] == "Camille"
    assert {i["kind"] for i in me["identifiers"]} == {"EMAIL", "MEMBERSHIP_CARD"}
    assert me["preferences"]["interests"] == ["jazz"]
    assert me["account"]["balance"] == 0


def test_an_admin_merges_two_members_and_the_absorbed_resolves_to_the_survivor(
    platform: Any,
) -> None:
    survivor_id, survivor_email = register(platform)
    absorbed_id, absorbed_email = register(platform)
    staff = platform.demo["staff"][0]
    staff_token = login(platform, staff["email"], staff["password"], "STAFF")["accessToken"]
    earn = """mutation($i: RecordEarnEventInput!) { recordEarnEvent(input: $i) { __typename ... on EarnRecorded { points } } }"""
    gql(
        platform,
        earn,
        {
            "i": {
                "memberId": absorbed_id,
                "externalId": uuid.uuid4().hex,
                "trigger": "PURCHASE",
                "occurredAt": datetime.now(UTC).isoformat(),
                "amount": "25",
                "currency": "EUR",
                "category": "ticket",
                "venueId": staff["venueId"],
            }
        },
        staff_token,
    )
    admin = platform.demo["admin"]
    admin_token = login(platform, admin["email"], admin["password"], "STAFF")["accessToken"]
    merged = gql(
        platform,
        'mutation($s: ID!, $a: ID!) { mergeMembers(input: {survivorId: $s, absorbedId: $a, reason: "one person"}) { __typename } }',
        {"s": survivor_id, "a": absorbed_id},
        admin_token,
    )
    assert merged["mergeMembers"]["__typename"] == "MembersMerged"
    assert login(platform, absorbed_email)["subjectId"] == survivor_id
    token = login(platform, survivor_email)["accessToken"]
    me = gql(platform, "{ me { identifiers { value } } }", token=token)["me"]
    assert {i["value"] for i in me["identifiers"]} == {survivor_email, absorbed_email}
    deadline = time.monotonic() + 10  # identity's outbox reaches loyalty at least once, soon
    while True:
        balance = gql(platform, "{ me { account { balance } } }", token=token)["me"]["account"][
            "balance"
        ]
        if balance == 50 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert balance == 50


def test_the_parts_report_health_and_metrics(platform: Any) -> None:
    assert httpx.get(f"{platform.gateway}/healthz").json() == {"status": "ok"}
    ready = httpx.get(f"{platform.gateway}/readyz").json()
    assert ready == {"status": "ready", "identity": True, "loyalty": True, "revocations": True}
    response = httpx.post(
        f"{platform.gateway}/graphql",
        json={"query": "{ rewardRules { version } }"},
        headers={"x-request-id": "4f1c3a2b-0c6d-4e37-9f0a-1b2c3d4e5f60"},
    )
    assert response.headers["x-request-id"] == "4f1c3a2b-0c6d-4e37-9f0a-1b2c3d4e5f60"
    assert "loyalty_http_requests_total" in httpx.get(f"{platform.gateway}/metrics").text
