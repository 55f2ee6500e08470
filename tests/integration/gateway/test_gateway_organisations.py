"""Admins through the public GraphQL API: venues, partners, staff accounts and partner API
keys, each idempotent where it creates; sessions per portal; the member's own data export and
erasure."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

VENUE = """mutation($i: CreateVenueInput!) { createVenue(input: $i) { created venue { id name externalId } } }"""
PARTNER = """mutation($i: CreatePartnerInput!) { createPartner(input: $i) { created partner { id name externalId } } }"""
STAFF = """mutation($i: CreateStaffAccountInput!) { createStaffAccount(input: $i) {
  __typename ... on StaffAccountCreated { created account { id email role venueIds } }
  ... on UserError { code message } } }"""
ISSUE = """mutation($i: IssuePartnerApiKeyInput!) { issuePartnerApiKey(input: $i) {
  __typename ... on ApiKeyIssued { secret key { id prefix label revokedAt } } ... on UserError { code } } }"""
REVOKE = """mutation($i: RevokePartnerApiKeyInput!) { revokePartnerApiKey(input: $i) {
  __typename ... on ApiKeyRevoked { key { id revokedAt } } ... on UserError { code } } }"""
REGISTER = """mutation($i: RegisterMemberInput!) { registerMember(input: $i) {
  __typename ... on MemberRegistered { created member { id displayName } } ... on UserError { code } } }"""

ADMIN_ONLY = [
    (VENUE, {"name": "A venue"}),
    (PARTNER, {"name": "A partner"}),
    (STAFF, {"email": "someone@example.org", "password": "long enough password"}),
    (ISSUE, {"partnerId": str(uuid.uuid4())}),
    (REVOKE, {"keyId": str(uuid.uuid4())}),
    (
        "mutation($i: MergeMembersInput!) { mergeMembers(input: $i) { __typename } }",
        {"survivorId": str(uuid.uuid4()), "absorbedId": str(uuid.uuid4()), "reason": "x"},
    ),
]


def _name() -> str:
    return f"Org {uuid.uuid4().hex[:8]}"


@pytest.mark.parametrize(("mutation", "variables"), ADMIN_ONLY)
async def test_admin_operations_are_refused_to_everyone_but_admins(
    gateway: Any, mutation: str, variables: dict[str, Any]
) -> None:
    _, email = await gateway.register()
    callers: list[tuple[dict[str, Any], str]] = [
        ({}, "UNAUTHENTICATED"),
        ({"token": await gateway.token(email)}, "FORBIDDEN"),
        ({"token": await gateway.staff_token()}, "FORBIDDEN"),
        ({"headers": {"x-api-key": gateway.demo["partners"][0]["apiKey"]}}, "FORBIDDEN"),
    ]
    before = await gateway.count("identity.audit_log")
    for credentials, code in callers:
        body = await gateway.gql(mutation, {"i": variables}, **credentials)
        assert body["data"] is None
        assert body["errors"][0]["extensions"]["code"] == code, (credentials, body)
    assert await gateway.count("identity.audit_log") == before


async def test_venues_and_partners_are_idempotent_by_external_id(gateway: Any) -> None:
    admin = await gateway.admin_token()
    for mutation, field in ((VENUE, "venue"), (PARTNER, "partner")):
        variables = {"i": {"name": _name(), "externalId": f"ext-{uuid.uuid4().hex}"}}
        first = await gateway.data(mutation, variables, token=admin)
        again = await gateway.data(mutation, variables, token=admin)
        [first_result] = first.values()
        [again_result] = again.values()
        assert (first_result["created"], again_result["created"]) == (True, False)
        assert first_result[field] == again_result[field]


async def test_staff_accounts_sign_in_on_the_staff_portal_only(gateway: Any) -> None:
    admin = await gateway.admin_token()
    venue = (await gateway.data(VENUE, {"i": {"name": _name()}}, token=admin))["createVenue"]
    email = f"staff.{uuid.uuid4().hex[:8]}@example.org"
    account = {
        "email": email,
        "password": gateway.PASSWORD,
        "venueIds": [venue["venue"]["id"]],
    }
    created = (await gateway.data(STAFF, {"i": account}, token=admin))["createStaffAccount"]
    assert created["__typename"] == "StaffAccountCreated", created
    assert created["account"]["venueIds"] == [venue["venue"]["id"]]
    assert created["account"]["role"] == "STAFF"
    repeated = (await gateway.data(STAFF, {"i": account}, token=admin))["createStaffAccount"]
    assert repeated == {**created, "created": False}  # the identical request, repeated
    other = {**account, "email": email.upper(), "displayName": "Someone else"}
    taken = (await gateway.data(STAFF, {"i": other}, token=admin))["createStaffAccount"]
    assert (taken["__typename"], taken["code"]) == ("EmailTaken", "EMAIL_TAKEN")
    nowhere = {**account, "email": f"x.{email}", "venueIds": [str(uuid.uuid4())]}
    missing = (await gateway.data(STAFF, {"i": nowhere}, token=admin))["createStaffAccount"]
    assert (missing["__typename"], missing["code"]) == ("NotFound", "VENUE_NOT_FOUND")

    session = await gateway.login(email, portal="STAFF")
    assert session["subjectKind"] == "staff"
    wrong_portal = (
        await gateway.data(
            """mutation($i: LoginInput!) { login(input: $i) { __typename ... on UserError { code } } }""",
            {"i": {"email": email, "password": gateway.PASSWORD, "portal": "MEMBER"}},
        )
    )["login"]
    assert wrong_portal == {"__typename": "InvalidCredentials", "code": "INVALID_CREDENTIALS"}
    # a staff token is not a member's: it has no `me`
    me = await gateway.gql("{ me { id } }", token=session["accessToken"])
    assert me["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_partner_api_keys_are_issued_once_idempotently_and_revoked(gateway: Any) -> None:
    admin = await gateway.admin_token()
    partner = (await gateway.data(PARTNER, {"i": {"name": _name()}}, token=admin))["createPartner"][
        "partner"
    ]
    request = {"i": {"partnerId": partner["id"], "label": "box office", "idempotencyKey": "k-1"}}
    issued = (await gateway.data(ISSUE, request, token=admin))["issuePartnerApiKey"]
    assert issued["__typename"] == "ApiKeyIssued" and issued["secret"]
    retried = (await gateway.data(ISSUE, request, token=admin))["issuePartnerApiKey"]
    assert retried["key"]["id"] == issued["key"]["id"]
    assert retried["secret"] is None  # the secret is shown once
    assert issued["secret"] not in str(await gateway.gql("{ rewardRules { version } }"))

    public = "{ rewardRules { version } }"  # a partner key authenticates the caller
    assert "errors" not in await gateway.gql(public, headers={"x-api-key": issued["secret"]})
    revoked = (await gateway.data(REVOKE, {"i": {"keyId": issued["key"]["id"]}}, token=admin))[
        "revokePartnerApiKey"
    ]
    assert revoked["__typename"] == "ApiKeyRevoked" and revoked["key"]["revokedAt"]
    refused = await gateway.gql(public, headers={"x-api-key": issued["secret"]})
    assert refused["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"

    unknown = {"i": {"partnerId": str(uuid.uuid4())}}
    assert (await gateway.data(ISSUE, unknown, token=admin))["issuePartnerApiKey"] == {
        "__typename": "NotFound",
        "code": "PARTNER_NOT_FOUND",
    }
    gone = await gateway.data(REVOKE, {"i": {"keyId": str(uuid.uuid4())}}, token=admin)
    assert gone["revokePartnerApiKey"] == {"__typename": "NotFound", "code": "API_KEY_NOT_FOUND"}
    bad_id = await gateway.gql(REVOKE, {"i": {"keyId": "not-a-uuid"}}, token=admin)
    assert bad_id["errors"][0]["extensions"]["code"] == "INVALID_INPUT"


async def test_registering_twice_with_one_idempotency_key_gives_one_member(gateway: Any) -> None:
    email = f"idem.{uuid.uuid4().hex[:8]}@example.org"
    request = {
        "i": {
            "email": email,
            "password": gateway.PASSWORD,
            "displayName": "Lou",
            "idempotencyKey": uuid.uuid4().hex,
        }
    }
    before = await gateway.count("identity.members")
    first = (await gateway.data(REGISTER, request))["registerMember"]
    again = (await gateway.data(REGISTER, request))["registerMember"]
    assert (first["created"], again["created"]) == (True, False)
    assert first["member"] == again["member"] == {"id": first["member"]["id"], "displayName": "Lou"}
    assert await gateway.count("identity.members") == before + 1


async def test_a_member_exports_their_data_and_erases_themselves(gateway: Any) -> None:
    member_id, email = await gateway.register()
    token = await gateway.token(email)
    exported = (
        await gateway.data("mutation { exportMyData { identity loyalty exportedAt } }", token=token)
    )["exportMyData"]
    assert exported["identity"]["member"]["id"] == member_id
    assert email in str(exported["identity"])
    assert isinstance(exported["loyalty"], dict)

    erased = (await gateway.data("mutation { eraseMe { memberId erasedAt } }", token=token))[
        "eraseMe"
    ]
    assert erased["memberId"] == member_id and erased["erasedAt"]
    refused = await gateway.gql("{ me { status identifiers { value } } }", token=token)
    assert refused["errors"][0]["extensions"] == {
        "code": "UNAUTHENTICATED",
        "reason": "TOKEN_REVOKED",
    }
    login = (
        await gateway.data(
            """mutation($i: LoginInput!) { login(input: $i) { __typename } }""",
            {"i": {"email": email, "password": gateway.PASSWORD}},
        )
    )["login"]
    assert login["__typename"] == "InvalidCredentials"
