"""The platform against hostile input, through the public API: what used to end in
INTERNAL_ERROR (with SQL, its parameters and a password hash in the message) is refused at the
edge with a typed code, and writes nothing."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from tests.integration.gateway.conftest import LOGIN, REGISTER


@pytest.mark.parametrize("field", ["displayName", "idempotencyKey", "password", "phone"])
async def test_a_nul_in_an_anonymous_registration_is_invalid_input_and_writes_nothing(
    gateway: Any, field: str
) -> None:
    variables = {"input": {"email": "nul.case@example.org", "password": "a long passphrase"}}
    variables["input"][field] = "x\u0000y"
    members = await gateway.count("identity.members")
    response = await gateway.client.post(
        "/graphql",
        content=json.dumps({"query": REGISTER, "variables": variables}),  # "\u0000", escaped
        headers={"content-type": "application/json"},
    )
    body = response.json()
    assert body == {
        "data": None,
        "errors": [
            {
                "message": f"variables.input.{field} contains a control character, which is not allowed",
                "extensions": {"code": "INVALID_INPUT", "reason": "CONTROL_CHARACTER"},
            }
        ],
    }
    assert "SQL" not in response.text and "argon2" not in response.text
    assert await gateway.count("identity.members") == members


EARN = """mutation Earn($input: RecordEarnEventInput!) { recordEarnEvent(input: $input) {
  __typename ... on EarnRecorded { created points } ... on UserError { code message } } }"""
SIMULATE = """query Simulate($event: EarnEventInput!) { simulateEarn(event: $event) { total } }"""
HISTORY = """query History($after: String) { me { account { history(first: 5, after: $after) {
  nodes { points } pageInfo { hasNextPage } } } } }"""


def purchase(gateway: Any, **fields: Any) -> dict[str, Any]:
    return {
        "trigger": "PURCHASE",
        "occurredAt": datetime.now(UTC).isoformat(),
        "amount": "45.90",
        "currency": "EUR",
        "category": "ticket",
        "venueId": gateway.demo["staff"][0]["venueId"],
        **fields,
    }


def refused(body: dict[str, Any]) -> tuple[str, str]:
    assert body["data"] is None, body
    [error] = body["errors"]
    return error["extensions"]["code"], error["message"]


@pytest.mark.parametrize(
    "cursor", ["e9223372036854775808", "e99999999999999999999999", "e²", "e-1", "e 1", "x1"]
)
async def test_a_history_cursor_beyond_a_bigint_or_misspelt_is_invalid_input(
    gateway: Any, cursor: str
) -> None:
    _, email = await gateway.register()
    token = await gateway.token(email)
    code, message = refused(await gateway.gql(HISTORY, {"after": cursor}, token=token))
    assert (code, message) == ("INVALID_INPUT", "the cursor is not valid")
    largest = await gateway.data(HISTORY, {"after": "e9223372036854775807"}, token=token)
    assert largest["me"]["account"]["history"] == {"nodes": [], "pageInfo": {"hasNextPage": False}}


@pytest.mark.parametrize(
    ("occurred_at", "message"),
    [
        ("9999-12-31T23:59:59+00:00", "a date-time must fall between the years 1900 and 2999"),
        ("3000-01-01T00:00:00Z", "a date-time must fall between the years 1900 and 2999"),
        ("1899-12-31T23:59:59Z", "a date-time must fall between the years 1900 and 2999"),
        ("2026-11-30T19:30:00", "a date-time needs its UTC offset, such as +01:00 or Z"),
        ("tomorrow", "a date-time is written in ISO 8601, such as 2026-12-01T19:30:00+01:00"),
    ],
)
async def test_an_occurred_at_out_of_range_or_without_offset_is_invalid_input(
    gateway: Any, occurred_at: str, message: str
) -> None:
    member_id, _ = await gateway.register()
    staff = await gateway.staff_token()
    event = purchase(gateway, occurredAt=occurred_at)
    simulated = refused(await gateway.gql(SIMULATE, {"event": event}))
    recorded = refused(
        await gateway.gql(
            EARN,
            {"input": {**event, "memberId": member_id, "externalId": uuid.uuid4().hex}},
            token=staff,
        )
    )
    for (code, text), variable in ((simulated, "event"), (recorded, "input")):
        assert code == "INVALID_INPUT"
        assert text == (
            f"Variable '${variable}' has invalid value at .occurredAt: Expected value of type "
            f"'DateTime', but encountered error '{message}'; found: '{occurred_at}'."
        )
    edge = await gateway.gql(
        SIMULATE, {"event": purchase(gateway, occurredAt="2999-12-31T23:59:59Z")}
    )
    assert edge == {"data": {"simulateEarn": {"total": 91}}}


async def test_an_unknown_currency_is_refused_before_the_external_id_is_consumed(
    gateway: Any,
) -> None:
    member_id, _ = await gateway.register()
    staff = await gateway.staff_token()
    external_id = uuid.uuid4().hex
    journal = await gateway.count("loyalty.journal_entries")
    for currency in ("XYZ", "XTS", "XXX"):
        body = await gateway.gql(
            EARN,
            {
                "input": {
                    **purchase(gateway, currency=currency),
                    "memberId": member_id,
                    "externalId": external_id,
                }
            },
            token=staff,
        )
        code, message = refused(body)
        assert code == "INVALID_INPUT"
        assert message == (
            "the input is not valid (currency: Value error, "
            f"{currency} is not an ISO 4217 currency code)"
        )
    assert await gateway.count("loyalty.journal_entries") == journal
    earned = await gateway.data(
        EARN,
        {"input": {**purchase(gateway), "memberId": member_id, "externalId": external_id}},
        token=staff,
    )
    assert earned["recordEarnEvent"] == {
        "__typename": "EarnRecorded",
        "created": True,
        "points": 91,
    }


@pytest.mark.parametrize(
    "amount",
    ["1_000", "1E+2", "1e2", " 12", "12 ", "+5", "-5", "٣", "12.", ".5", "0x10", "NaN", "Infinity"],
)
async def test_an_amount_not_in_plain_decimal_notation_is_invalid_input(
    gateway: Any, amount: str
) -> None:
    member_id, _ = await gateway.register()
    staff = await gateway.staff_token()
    journal = await gateway.count("loyalty.journal_entries")
    simulated = refused(await gateway.gql(SIMULATE, {"event": purchase(gateway, amount=amount)}))
    recorded = refused(
        await gateway.gql(
            EARN,
            {
                "input": {
                    **purchase(gateway, amount=amount),
                    "memberId": member_id,
                    "externalId": uuid.uuid4().hex,
                }
            },
            token=staff,
        )
    )
    expected = ("INVALID_INPUT", 'amount must be a decimal number such as "45.90"')
    assert simulated == recorded == expected
    assert await gateway.count("loyalty.journal_entries") == journal


async def test_the_first_requests_after_the_server_dropped_every_connection_succeed(
    gateway: Any,
) -> None:
    _, email = await gateway.register()
    token = await gateway.token(email)  # identity's pool holds connections now
    await gateway.data(HISTORY, {}, token=token)  # and loyalty's
    async with gateway.engine.connect() as conn:
        dropped = await conn.scalar(
            sa.text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                "AND application_name IN ('identity', 'loyalty')"
            )
        )
    assert dropped >= 2
    assert (await gateway.login(email))["__typename"] == "Session"
    history = await gateway.data(HISTORY, {}, token=token)
    assert history["me"]["account"]["history"]["pageInfo"] == {"hasNextPage": False}


JOIN = """mutation Join($input: RegisterMemberInput!) { registerMember(input: $input) {
  __typename ... on MemberRegistered { created member { id displayName locale identifiers { kind value } } }
  ... on UserError { code message } } }"""


def shape(answer: dict[str, Any]) -> dict[str, Any]:
    """An answer without the values that differ between any two registrations."""
    member = {**answer["member"], "id": "<id>", "identifiers": "<identifiers>"}
    return {**answer, "member": member}


async def test_registering_a_taken_email_is_answered_like_a_new_registration_and_its_owner_told(
    gateway: Any,
) -> None:
    owner_id, taken = await gateway.register()
    fresh = f"fresh.{uuid.uuid4().hex[:10]}@example.org"
    members = await gateway.count("identity.members")
    new = (
        await gateway.data(
            JOIN, {"input": {"email": fresh, "password": "a long passphrase", "displayName": "Léa"}}
        )
    )["registerMember"]
    again = (
        await gateway.data(
            JOIN,
            {
                "input": {
                    "email": taken.upper(),
                    "password": "a long passphrase",
                    "displayName": "Léa",
                }
            },
        )
    )["registerMember"]
    assert (
        shape(again)
        == shape(new)
        == {
            "__typename": "MemberRegistered",
            "created": True,
            "member": {
                "id": "<id>",
                "displayName": "Léa",
                "locale": "EN",
                "identifiers": "<identifiers>",
            },
        }
    )
    assert again["member"]["identifiers"] == [{"kind": "EMAIL", "value": taken}]
    assert again["member"]["id"] != owner_id
    assert await gateway.count("identity.members") == members + 1  # only the fresh one
    notices = await gateway.count(
        f"identity.outbox WHERE type = 'registration.attempted' AND payload->>'member_id' = '{owner_id}'"
    )
    assert notices == 1
    await gateway.settle()  # loyalty takes the notice like any event it does not act on
    assert await gateway.count("identity.outbox WHERE delivered_at IS NULL") == 0
    login = await gateway.data(LOGIN, {"input": {"email": taken, "password": "a long passphrase"}})
    assert login["login"]["__typename"] == "InvalidCredentials"  # nothing was taken over


async def test_an_idempotent_replay_gets_the_same_answer_whether_the_email_was_free_or_taken(
    gateway: Any,
) -> None:
    _, taken = await gateway.register()
    answers = {}
    for label, email in (("free", f"free.{uuid.uuid4().hex[:10]}@example.org"), ("taken", taken)):
        request = {
            "input": {
                "email": email,
                "password": "a long passphrase",
                "idempotencyKey": uuid.uuid4().hex,
            }
        }
        first = (await gateway.data(JOIN, request))["registerMember"]
        replay = (await gateway.data(JOIN, request))["registerMember"]
        other_password = {"input": {**request["input"], "password": "another passphrase"}}
        reused = await gateway.gql(JOIN, other_password)
        assert (first["created"], replay["created"]) == (True, False)
        assert replay["member"]["id"] == first["member"]["id"]
        answers[label] = (shape(first), shape(replay), refused(reused))
    assert answers["free"] == answers["taken"]
    assert answers["free"][2] == (
        "IDEMPOTENCY_KEY_REUSED",
        "this idempotency key was used for a different registration",
    )


STAFF = """mutation($i: CreateStaffAccountInput!) { createStaffAccount(input: $i) {
  __typename ... on UserError { code message } } }"""
TOO_COMMON = ("PASSWORD_TOO_COMMON", "this password is among the most common ones: choose another")
TOO_SIMPLE = ("PASSWORD_TOO_SIMPLE", "this password repeats or follows a sequence: choose another")
OWN_NAME = ("PASSWORD_CONTAINS_IDENTIFIER", "a password may not contain your email or your name")
OWN_PHONE = ("PASSWORD_CONTAINS_IDENTIFIER", "a password may not contain your phone number")


def invalid_password(body: dict[str, Any]) -> tuple[str, str]:
    assert body["data"] is None, body
    [error] = body["errors"]
    assert error["extensions"]["code"] == "INVALID_INPUT"
    return error["extensions"]["reason"], error["message"]


@pytest.mark.parametrize(
    ("password", "extra", "refusal"),
    [
        ("aaaaaaaa", {}, TOO_SIMPLE),
        ("password1", {}, TOO_COMMON),
        ("Qwertyuiop", {}, TOO_COMMON),
        ("12345678", {}, TOO_COMMON),
        ("camille-rocks", {"displayName": "Camille Durand"}, OWN_NAME),
        ("durand.family", {}, OWN_NAME),  # the email's local part
        ("call me 180352", {"phone": "+33 6 46 18 03 52"}, OWN_PHONE),
    ],
)
async def test_a_member_cannot_register_with_a_common_simple_or_own_password(
    gateway: Any, password: str, extra: dict[str, str], refusal: tuple[str, str]
) -> None:
    email = f"durand.{uuid.uuid4().hex[:6]}@example.org"
    members = await gateway.count("identity.members")
    body = await gateway.gql(JOIN, {"input": {"email": email, "password": password, **extra}})
    assert invalid_password(body) == refusal
    assert await gateway.count("identity.members") == members


@pytest.mark.parametrize(
    ("password", "refusal"),
    [("aaaaaaaa", TOO_SIMPLE), ("iloveyou", TOO_COMMON), ("box-office-guichet", OWN_NAME)],
)
async def test_an_admin_cannot_give_staff_a_common_simple_or_own_password(
    gateway: Any, password: str, refusal: tuple[str, str]
) -> None:
    account = {
        "email": f"guichet.{uuid.uuid4().hex[:6]}@example.org",
        "password": password,
        "venueIds": [gateway.demo["staff"][0]["venueId"]],
    }
    body = await gateway.gql(STAFF, {"i": account}, token=await gateway.admin_token())
    assert invalid_password(body) == refusal


async def test_fifteen_aliased_logins_in_one_request_count_fifteen_attempts(gateway: Any) -> None:
    _, email = await gateway.register()
    fields = " ".join(
        f'a{i}: login(input: {{email: "{email}", password: "guess number {i}"}}) {{ __typename '
        "... on UserError { code } ... on TooManyAttempts { retryAfterSeconds } }"
        for i in range(15)
    )
    body = await gateway.data(f"mutation {{ {fields} }}")
    answers = list(body.values())
    assert [a["__typename"] for a in answers].count("InvalidCredentials") == 5
    throttled = [a for a in answers if a["__typename"] == "TooManyAttempts"]
    assert len(throttled) == 10
    assert {a["code"] for a in throttled} == {"TOO_MANY_ATTEMPTS"}
    assert all(890 <= a["retryAfterSeconds"] <= 900 for a in throttled)
    right = await gateway.data(LOGIN, {"input": {"email": email, "password": gateway.PASSWORD}})
    assert right["login"]["__typename"] == "TooManyAttempts"  # the right password waits too


_REFUSED = "Variable '$input' has invalid value"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"password": "Sesame-Open-42"},
            f"{_REFUSED}: Expected value of type 'RegisterMemberInput' to include required field "
            "'email', found: {'password': '[REDACTED]'}.",
        ),
        (
            {"email": "a@example.org", "password": "Sesame-Open-42", "pin": 1},
            f"{_REFUSED}: Expected value of type 'RegisterMemberInput' not to include unknown "
            "field 'pin', found: {'email': 'a@example.org', 'password': '[REDACTED]', 'pin': 1}.",
        ),
        (
            {"email": "a@example.org", "password": 4242424242},
            f"{_REFUSED} at .password: not a valid value (not repeated: it is a credential).",
        ),
        (  # what is not a credential is still shown, to help the caller
            {"email": 5, "password": "Sesame-Open-42"},
            f"{_REFUSED} at .email: String cannot represent a non string value: 5",
        ),
    ],
)
async def test_a_variable_error_never_repeats_a_password_back(
    gateway: Any, fields: dict[str, Any], message: str
) -> None:
    body = await gateway.gql(REGISTER, {"input": fields})
    assert body["data"] is None
    assert [(e["message"], e["extensions"]["code"]) for e in body["errors"]] == [
        (message, "INVALID_INPUT")
    ]
    assert "Sesame" not in json.dumps(body) and "4242424242" not in json.dumps(body)
