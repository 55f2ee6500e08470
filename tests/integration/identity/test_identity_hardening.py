"""Identity's internal API against hostile input: a control character in any string of a body
is refused with a 422 ``CONTROL_CHARACTER`` before anything is written, and a crash answers a
JSON 500 that names no SQL, parameter or password hash."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter
from typing import Any

import pytest
import sqlalchemy as sa

from services.common.problems import Problem
from services.identity.organisations.use_cases import create_admin
from tests.integration.identity.conftest import unique_email


@pytest.mark.parametrize("field", ["email", "password", "display_name", "idempotency_key"])
async def test_a_nul_in_any_field_of_a_registration_is_refused_and_writes_nothing(
    identity: Any, field: str
) -> None:
    email = unique_email("nul")
    body = {"email": email, "password": "a long passphrase", field: "a\u0000b"}
    before = await identity.count("members")
    response = await identity.post("/internal/members", content=json.dumps(body))  # "\u0000"
    assert response.status_code == 422
    assert response.json() == {
        "code": "CONTROL_CHARACTER",
        "message": f"{field} contains a control character, which is not allowed",
        "details": {"field": field},
    }
    assert await identity.count("members") == before


@pytest.mark.parametrize(
    ("password", "code"),
    [
        ("aaaaaaaa", "PASSWORD_TOO_SIMPLE"),
        ("password", "PASSWORD_TOO_COMMON"),
        ("the-root-password", "PASSWORD_CONTAINS_IDENTIFIER"),
    ],
)
async def test_create_admin_refuses_a_common_simple_or_own_password(
    identity: Any, password: str, code: str
) -> None:
    email = f"root.{uuid.uuid4().hex[:6]}@example.org"
    with pytest.raises(Problem) as refused:
        await create_admin(identity.engine, email, password)
    assert (refused.value.code, refused.value.status) == (code, 422)
    assert await identity.count("accounts", "email = :e", e=email) == 0
    admin = await create_admin(identity.engine, email, "a long passphrase for the programme")
    assert admin.role.value == "admin"


# ---- sign-in throttling ------------------------------------------------------------------------


async def attempt(identity: Any, email: str, password: str, address: str | None = None) -> Any:
    body = {"email": email, "password": password, "portal": "member"}
    if address is not None:
        body["client_address"] = address
    return await identity.post("/internal/login", body)


def outcome(response: Any) -> tuple[int, str]:
    return response.status_code, response.json().get("code", "SESSION")


def a_test_address() -> str:
    return f"198.51.100.{uuid.uuid4().int % 250 + 1}:{uuid.uuid4().hex[:6]}"


async def test_the_sixth_attempt_on_an_account_waits_out_the_window_even_with_the_right_password(
    identity: Any,
) -> None:
    email = unique_email("throttled")
    await identity.register(email)
    wrong = [outcome(await attempt(identity, email, "not my password")) for _ in range(5)]
    assert wrong == [(401, "INVALID_CREDENTIALS")] * 5
    refused = await attempt(identity, email, identity.PASSWORD)
    assert refused.status_code == 429
    body = refused.json()
    assert body["code"] == "TOO_MANY_ATTEMPTS"
    wait = body["details"]["retry_after_seconds"]
    assert 890 <= wait <= 900
    assert body["message"] == f"too many sign-in attempts: try again in {wait} seconds"


async def test_an_unknown_email_is_throttled_exactly_like_a_known_one(identity: Any) -> None:
    known = unique_email("known")
    await identity.register(known)
    unknown = unique_email("nobody")
    answers = {}
    for email in (known, unknown):
        answers[email] = [
            outcome(await attempt(identity, email, "not my password")) for _ in range(6)
        ]
    assert (
        answers[known]
        == answers[unknown]
        == [(401, "INVALID_CREDENTIALS")] * 5 + [(429, "TOO_MANY_ATTEMPTS")]
    )


async def test_a_success_clears_the_accounts_count(identity: Any) -> None:
    email = unique_email("forgiven")
    await identity.register(email)
    for _ in range(4):
        await attempt(identity, email, "not my password")
    assert outcome(await attempt(identity, email, identity.PASSWORD)) == (200, "SESSION")
    again = [outcome(await attempt(identity, email, "not my password")) for _ in range(6)]
    assert again == [(401, "INVALID_CREDENTIALS")] * 5 + [(429, "TOO_MANY_ATTEMPTS")]


async def test_once_the_window_has_passed_the_account_may_try_again(identity: Any) -> None:
    email = unique_email("patient")
    await identity.register(email)
    for _ in range(5):
        await attempt(identity, email, "not my password")
    assert outcome(await attempt(identity, email, identity.PASSWORD))[0] == 429
    async with identity.engine.begin() as conn:  # fifteen minutes pass
        await conn.execute(
            sa.text(
                "UPDATE identity.login_throttle SET since = since - interval '15 minutes' "
                "WHERE key = :k"
            ),
            {"k": f"account:{email}"},
        )
    assert outcome(await attempt(identity, email, identity.PASSWORD)) == (200, "SESSION")


async def test_an_address_may_fail_thirty_times_across_accounts_then_waits(identity: Any) -> None:
    address, elsewhere = a_test_address(), a_test_address()
    email = unique_email("victim")
    await identity.register(email)
    failures = [
        outcome(await attempt(identity, unique_email("spray"), "not my password", address))
        for _ in range(30)
    ]
    assert failures == [(401, "INVALID_CREDENTIALS")] * 30
    assert outcome(await attempt(identity, email, identity.PASSWORD, address)) == (
        429,
        "TOO_MANY_ATTEMPTS",
    )
    assert outcome(await attempt(identity, email, identity.PASSWORD, elsewhere)) == (200, "SESSION")


async def test_of_fifty_concurrent_guesses_exactly_five_reach_a_password_check(
    identity: Any,
) -> None:
    email = unique_email("raced")
    await identity.register(email)
    answers = await asyncio.gather(
        *(attempt(identity, email, f"guess number {i}") for i in range(50))
    )
    counted = Counter(outcome(a) for a in answers)
    assert counted == {(401, "INVALID_CREDENTIALS"): 5, (429, "TOO_MANY_ATTEMPTS"): 45}
