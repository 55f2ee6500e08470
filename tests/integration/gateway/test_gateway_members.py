"""Members through the public GraphQL API: registration, sessions, identifiers, preferences,
authorization, bad input and merges."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from services.identity import tokens as identity_tokens
from services.identity.sessions import sealing
from services.identity.sessions import signing_keys as identity_signing_keys

ME = """
{ me { id displayName locale
       identifiers { kind value }
       preferences { consents { channel granted source } invitationCapPer30Days
                     quietHours { start end timezone } interests } } }
"""
LINK = """
mutation Link($input: LinkIdentifierInput!) {
  linkIdentifier(input: $input) {
    __typename
    ... on IdentifierLinked { identifier { kind value } }
    ... on UserError { code message }
  }
}
"""
PREFERENCES = """
mutation Prefs($input: UpdateContactPreferencesInput!) {
  updateContactPreferences(input: $input) { preferences { interests invitationCapPer30Days consents { channel granted } } }
}
"""
REFRESH = """
mutation Refresh($input: RefreshSessionInput!) {
  refreshSession(input: $input) {
    __typename
    ... on Session { accessToken refreshToken }
    ... on UserError { code message }
  }
}
"""
MERGE = """
mutation Merge($input: MergeMembersInput!) {
  mergeMembers(input: $input) {
    __typename
    ... on MembersMerged { survivorId absorbedId identifiersMoved }
    ... on UserError { code message }
  }
}
"""


async def test_a_member_registers_signs_in_links_a_card_sets_preferences_and_reads_me(
    gateway: Any,
) -> None:
    member_id, email = await gateway.register()
    token = await gateway.token(email)
    linked = (
        await gateway.data(
            LINK, {"input": {"kind": "MEMBERSHIP_CARD", "value": " card-0042 "}}, token=token
        )
    )["linkIdentifier"]
    assert linked["__typename"] == "IdentifierLinked", linked
    prefs = await gateway.data(
        PREFERENCES,
        {
            "input": {
                "consents": [{"channel": "EMAIL", "granted": True}],
                "invitationCapPer30Days": 2,
                "interests": ["opera", "dance"],
            }
        },
        token=token,
    )
    assert prefs["updateContactPreferences"]["preferences"]["invitationCapPer30Days"] == 2
    me = (await gateway.data(ME, token=token))["me"]
    assert me["id"] == member_id
    kinds = {i["kind"] for i in me["identifiers"]}
    assert kinds == {"EMAIL", "MEMBERSHIP_CARD"}
    assert sorted(me["preferences"]["interests"]) == ["dance", "opera"]
    assert me["preferences"]["consents"][0]["channel"] == "EMAIL"


async def test_twenty_concurrent_registrations_of_one_email_make_one_member(gateway: Any) -> None:
    local = f"race.{uuid.uuid4().hex[:10]}"
    spellings = [
        f"{local}@Example.org",
        f" {local.upper()}@EXAMPLE.ORG",
        f"{local}@example.org ",
    ] * 7
    before = await gateway.count("identity.members")
    results = await asyncio.gather(
        *(
            gateway.data(
                """mutation($i: RegisterMemberInput!) { registerMember(input: $i) { __typename ... on MemberRegistered { created member { id } } } }""",
                {"i": {"email": e, "password": gateway.PASSWORD}},
            )
            for e in spellings[:20]
        )
    )
    # every answer looks like a registration (none says the email is taken), one member exists
    answers = [r["registerMember"] for r in results]
    assert {(a["__typename"], a["created"]) for a in answers} == {("MemberRegistered", True)}
    assert len({a["member"]["id"] for a in answers}) == 20
    assert await gateway.count("identity.members") == before + 1


async def test_linking_someone_elses_identifier_is_a_typed_conflict(gateway: Any) -> None:
    _, first = await gateway.register()
    _, second = await gateway.register()
    card = f"card-{uuid.uuid4().hex[:8]}"
    await gateway.data(
        LINK,
        {"input": {"kind": "MEMBERSHIP_CARD", "value": card}},
        token=await gateway.token(first),
    )
    taken = (
        await gateway.data(
            LINK,
            {"input": {"kind": "MEMBERSHIP_CARD", "value": card}},
            token=await gateway.token(second),
        )
    )["linkIdentifier"]
    assert (taken["__typename"], taken["code"]) == ("IdentifierConflict", "IDENTIFIER_TAKEN")


def _tamper(token: str) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = str(uuid.uuid4())
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


async def test_expired_tampered_and_wrongly_signed_tokens_are_refused(gateway: Any) -> None:
    member_id, email = await gateway.register()
    good = await gateway.token(email)
    kek = sealing.derive_kek(os.environ["LOYALTY_KEY_ENCRYPTION_SECRET"])
    key = await identity_signing_keys.signing_key(gateway.engine, kek)
    expired = identity_tokens.issue_access_token(
        key,
        issuer="loyalty-identity",
        audience="loyalty-gateway",
        subject=uuid.UUID(member_id),
        kind="member",
        ttl_seconds=60,
        now=datetime.now(UTC) - timedelta(hours=1),
    )
    stranger = identity_tokens.SigningKey.generate()
    wrongly_signed = identity_tokens.issue_access_token(
        identity_tokens.SigningKey(key.kid, stranger.private_key, stranger.public_jwk),
        issuer="loyalty-identity",
        audience="loyalty-gateway",
        subject=uuid.UUID(member_id),
        kind="member",
        ttl_seconds=600,
        now=datetime.now(UTC),
    )
    wrong_audience = identity_tokens.issue_access_token(
        key,
        issuer="loyalty-identity",
        audience="someone-else",
        subject=uuid.UUID(member_id),
        kind="member",
        ttl_seconds=600,
        now=datetime.now(UTC),
    )
    assert (await gateway.data("{ me { id } }", token=good))["me"]["id"] == member_id
    for bad in (expired, _tamper(good), wrongly_signed, wrong_audience, "not-a-token"):
        body = await gateway.gql("{ me { id } }", token=bad)
        assert body["data"] is None
        assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED", body


async def test_a_member_only_ever_reads_themselves(gateway: Any) -> None:
    alice_id, alice = await gateway.register()
    bob_id, bob = await gateway.register_verified()
    as_alice = (
        await gateway.data(
            "{ me { id identifiers { value } account { balance } } }",
            token=await gateway.token(alice),
        )
    )["me"]
    as_bob = (
        await gateway.data("{ me { id identifiers { value } } }", token=await gateway.token(bob))
    )["me"]
    assert as_alice["id"] == alice_id and as_bob["id"] == bob_id
    assert {i["value"] for i in as_alice["identifiers"]} == {alice}
    anonymous = await gateway.gql("{ me { id } }")
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    # there is no way to name another member: `me` takes no id, the token's subject is used
    for attempt in (
        f'{{ me(id: "{bob_id}") {{ id }} }}',
        f'{{ me {{ id }} other: me(memberId: "{bob_id}") {{ id }} }}',
    ):
        refused = await gateway.gql(attempt, token=await gateway.token(alice))
        assert refused["data"] is None
        assert refused["errors"][0]["extensions"]["code"] == "INVALID_INPUT"
    many = await gateway.data(
        "{ a: me { id } b: me { identifiers { value } } }", token=await gateway.token(alice)
    )
    assert many["a"]["id"] == alice_id
    assert bob not in {i["value"] for i in many["b"]["identifiers"]}
    # a member's token cannot reach another member's data through the other operations either
    linked = await gateway.data(
        LINK,
        {"input": {"kind": "EMAIL", "value": bob}},
        token=await gateway.token(alice),
    )
    assert linked["linkIdentifier"]["__typename"] == "IdentifierConflict"


async def test_a_registrations_answer_shows_a_signed_in_caller_nothing_of_the_new_members_own(
    gateway: Any,
) -> None:
    """``registerMember`` answers with the new member (a ``Me``), whose account, invitations
    and referrals only that member reads, never the member who happened to be signed in."""
    _, alice = await gateway.register()
    email = f"m.{uuid.uuid4().hex[:12]}@example.org"
    nested = {
        "account": "account { balance history { nodes { id } } }",
        "invitations": "invitations { id }",
        "referralCode": "referralCode",
        "referralLink": "referralLink",
        "referrals": "referrals { id }",
    }
    for field, selection in nested.items():
        body = await gateway.gql(
            "mutation($i: RegisterMemberInput!) { registerMember(input: $i) {"
            f" ... on MemberRegistered {{ member {{ id {selection} }} }} }} }}",
            {"i": {"email": email, "password": gateway.PASSWORD}},
            token=await gateway.token(alice),
        )
        assert body["data"] is None, body
        assert [(e["path"], e["extensions"]["code"]) for e in body["errors"]] == [
            (["registerMember", "member", field], "FORBIDDEN")
        ]
    own = await gateway.data(
        "{ me { referralCode account { balance } } }", token=await gateway.token(email)
    )
    assert own["me"]["account"]["balance"] == 0 and own["me"]["referralCode"]


async def test_a_reused_refresh_token_is_refused_and_revokes_its_family(gateway: Any) -> None:
    _, email = await gateway.register()
    first = await gateway.login(email)
    second = (await gateway.data(REFRESH, {"input": {"refreshToken": first["refreshToken"]}}))[
        "refreshSession"
    ]
    assert second["__typename"] == "Session"
    reused = (await gateway.data(REFRESH, {"input": {"refreshToken": first["refreshToken"]}}))[
        "refreshSession"
    ]
    assert (reused["__typename"], reused["code"]) == ("RefreshRejected", "REFRESH_TOKEN_REUSED")
    family_gone = (
        await gateway.data(REFRESH, {"input": {"refreshToken": second["refreshToken"]}})
    )["refreshSession"]
    assert family_gone["__typename"] == "RefreshRejected"


IDENTITY_TABLES = (
    "members",
    "identifiers",
    "consents",
    "preferences",
    "idempotency",
    "outbox",
    "audit_log",
)


async def _rows(gateway: Any) -> dict[str, int]:
    return {t: await gateway.count(f"identity.{t}") for t in IDENTITY_TABLES}


async def test_malformed_registrations_get_invalid_input_and_write_nothing(gateway: Any) -> None:
    before = await _rows(gateway)
    register = "mutation($i: RegisterMemberInput!) { registerMember(input: $i) { __typename } }"

    def fresh() -> str:
        return f"ok.{uuid.uuid4().hex[:6]}@example.org"

    cases = [
        {"email": "not-an-email", "password": gateway.PASSWORD},  # refused by identity
        {"email": "x" * 300 + "@example.org", "password": gateway.PASSWORD},
        {"email": fresh(), "password": "short"},
        {"email": fresh(), "password": "p" * 129},
        {"email": fresh(), "password": gateway.PASSWORD, "displayName": "n" * 500},
        {"email": fresh(), "password": gateway.PASSWORD, "phone": "not a phone"},
        {"email": fresh(), "password": gateway.PASSWORD, "birthDate": "2999-01-01"},
        {"email": fresh(), "password": gateway.PASSWORD, "locale": "KLINGON"},
        {"email": 42, "password": gateway.PASSWORD},
        {"email": fresh(), "password": ["a", "list"]},
        {"email": fresh()},
    ]
    for variables in cases:
        body = await gateway.gql(register, {"i": variables})
        assert body["data"] is None, (variables, body)
        [error] = body["errors"]
        assert error["extensions"]["code"] == "INVALID_INPUT", (variables, body)
        assert error["message"]
    assert await _rows(gateway) == before


async def test_malformed_changes_to_a_member_get_invalid_input_and_change_nothing(
    gateway: Any,
) -> None:
    _, email = await gateway.register()
    token = await gateway.token(email)
    me_before = (await gateway.data(ME, token=token))["me"]
    before = await _rows(gateway)
    cases = [
        (LINK, {"kind": "PHONE", "value": "not a phone"}),
        (LINK, {"kind": "EMAIL", "value": "still-not-an-email"}),
        (LINK, {"kind": "MEMBERSHIP_CARD", "value": "c" * 101}),
        (LINK, {"kind": "MEMBERSHIP_CARD", "value": "   "}),
        (LINK, {"kind": "FAX", "value": "0102030405"}),
        (PREFERENCES, {"invitationCapPer30Days": 99}),
        (PREFERENCES, {"invitationCapPer30Days": "four"}),
        (PREFERENCES, {"interests": ["i" * 41]}),
        (PREFERENCES, {"interests": [f"topic {i}" for i in range(31)]}),
        (PREFERENCES, {"consents": [{"channel": "CARRIER_PIGEON", "granted": True}]}),
        (PREFERENCES, {"quietHours": {"start": "22:00:00", "end": "22:00:00"}}),
        (
            PREFERENCES,
            {"quietHours": {"start": "22:00:00", "end": "07:00:00", "timezone": "Mars/Olympus"}},
        ),
        (PREFERENCES, {"quietHours": {"start": "25:00:00", "end": "07:00:00"}}),
        (
            PREFERENCES,
            {"quietHours": {"start": "22:00:00", "end": "07:00:00"}, "clearQuietHours": True},
        ),
    ]
    for mutation, variables in cases:
        body = await gateway.gql(mutation, {"input": variables}, token=token)
        assert body["data"] is None, (variables, body)
        [error] = body["errors"]
        assert error["extensions"]["code"] == "INVALID_INPUT", (variables, body)
    assert await _rows(gateway) == before
    assert (await gateway.data(ME, token=token))["me"] == me_before


async def test_admin_operations_are_refused_to_members_and_strangers(gateway: Any) -> None:
    _, email = await gateway.register()
    member = await gateway.token(email)
    create = 'mutation { createVenue(input: {name: "Pirate venue"}) { created } }'
    assert (await gateway.gql(create, token=member))["errors"][0]["extensions"][
        "code"
    ] == "FORBIDDEN"
    assert (await gateway.gql(create))["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    admin = await gateway.admin_token()
    venue = await gateway.data(
        create.replace("Pirate venue", f"Venue {uuid.uuid4().hex[:6]}"), token=admin
    )
    assert venue["createVenue"]["created"] is True


async def test_an_admin_merge_makes_the_absorbed_identifiers_resolve_to_the_survivor(
    gateway: Any,
) -> None:
    survivor_id, survivor_email = await gateway.register()
    absorbed_id, absorbed_email = await gateway.register()
    admin = await gateway.admin_token()
    merged = (
        await gateway.data(
            MERGE,
            {
                "input": {
                    "survivorId": survivor_id,
                    "absorbedId": absorbed_id,
                    "reason": "same person, two sign-ups",
                }
            },
            token=admin,
        )
    )["mergeMembers"]
    assert merged["__typename"] == "MembersMerged", merged
    me = (
        await gateway.data(
            "{ me { id identifiers { value } } }", token=await gateway.token(survivor_email)
        )
    )["me"]
    assert {i["value"] for i in me["identifiers"]} == {survivor_email, absorbed_email}
    # the absorbed member's credentials now open the survivor's session
    assert (await gateway.login(absorbed_email))["subjectId"] == survivor_id
    again = (
        await gateway.data(
            MERGE,
            {"input": {"survivorId": survivor_id, "absorbedId": absorbed_id, "reason": "again"}},
            token=admin,
        )
    )["mergeMembers"]
    assert again["__typename"] == "MergeRejected"


async def test_query_limits_refuse_deep_wide_and_long_documents(gateway: Any) -> None:
    aliases = "{ " + " ".join(f"a{i}: rewardRules {{ version }}" for i in range(40)) + " }"
    body = await gateway.gql(aliases)
    assert body["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX", body
    long = "{ rewardRules { " + " ".join(["version"] * 3000) + " } }"
    body = await gateway.gql(long)
    assert body["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX", body
    deep = "{ me { account { progress { current { name } next { name } } history { nodes { lines { reason } } } } } }"
    assert "errors" not in (await gateway.gql("{ rewardRules { version } }"))
    assert (await gateway.gql(deep))["errors"][0]["extensions"]["code"] in (
        "UNAUTHENTICATED",
        "QUERY_TOO_COMPLEX",
    )


async def test_introspection_is_off_outside_development(gateway: Any) -> None:
    body = await gateway.gql("{ __schema { types { name } } }")
    assert body["errors"][0]["extensions"]["code"] == "INVALID_INPUT"
