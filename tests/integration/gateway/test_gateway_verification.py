"""Emails and phones proven by a one-time code through the public API: linking someone else's
email neither signs one in with it nor takes the points recorded for it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

LINK = """
mutation Link($input: LinkIdentifierInput!) {
  linkIdentifier(input: $input) {
    __typename
    ... on IdentifierLinked { identifier { kind value verified } }
    ... on UserError { code message }
  }
}
"""
REQUEST = """
mutation Request($input: RequestIdentifierVerificationInput!) {
  requestIdentifierVerification(input: $input) {
    __typename
    ... on VerificationCodeSent { kind value expiresAt resendAfter }
    ... on VerificationThrottled { code message retryAfterSeconds }
    ... on VerificationRejected { code message attemptsLeft }
  }
}
"""
GUESS = """
  verifyIdentifier(input: {kind: EMAIL, value: $email, verificationCode: $code}) {
    __typename
    ... on IdentifierVerified { kind value verified }
    ... on VerificationRejected { code message attemptsLeft }
  }
"""
VERIFY = f"mutation Verify($email: String!, $code: String!) {{ {GUESS} }}"
EARN = """
mutation Earn($input: RecordEarnEventInput!) {
  recordEarnEvent(input: $input) {
    __typename
    ... on EarnRecorded { points balance }
    ... on UserError { code message }
  }
}
"""
LOGIN = """
mutation Login($email: String!, $password: String!) {
  login(input: {email: $email, password: $password}) {
    __typename
    ... on Session { subjectId }
    ... on UserError { code message }
  }
}
"""


def _email(tag: str) -> str:
    return f"{tag}.{uuid.uuid4().hex[:12]}@example.org"


async def _login(gateway: Any, email: str, password: str | None = None) -> dict[str, Any]:
    variables = {"email": email, "password": password or gateway.PASSWORD}
    result: dict[str, Any] = (await gateway.data(LOGIN, variables))["login"]
    return result


async def _earn(gateway: Any, email: str) -> dict[str, Any]:
    variables = {
        "input": {
            "identifier": {"kind": "EMAIL", "value": email},
            "externalId": uuid.uuid4().hex,
            "trigger": "PURCHASE",
            "occurredAt": datetime.now(UTC).isoformat(),
            "amount": "40.00",
            "currency": "EUR",
            "category": "ticket",
            "venueId": gateway.demo["staff"][0]["venueId"],
        }
    }
    token = await gateway.staff_token()
    result: dict[str, Any] = (await gateway.data(EARN, variables, token=token))["recordEarnEvent"]
    return result


async def _guess(gateway: Any, token: str, email: str, code: str) -> dict[str, Any]:
    variables = {"email": email, "code": code}
    result: dict[str, Any] = (await gateway.data(VERIFY, variables, token=token))[
        "verifyIdentifier"
    ]
    return result


async def _balance(gateway: Any, token: str) -> int:
    me = await gateway.data("{ me { account { balance } } }", token=token)
    return int(me["me"]["account"]["balance"])


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


async def test_linking_someone_elses_email_neither_signs_in_with_it_nor_takes_its_points(
    gateway: Any,
) -> None:
    mallory_id, mallory = await gateway.register_verified()
    as_mallory = await gateway.token(mallory)
    victim = _email("victim")  # not a member yet

    linked = (
        await gateway.data(LINK, {"input": {"kind": "EMAIL", "value": victim}}, token=as_mallory)
    )["linkIdentifier"]

    assert linked == {
        "__typename": "IdentifierLinked",
        "identifier": {"kind": "EMAIL", "value": victim, "verified": False},
    }
    # signing in with it fails exactly as a wrong password or an unknown email does
    unknown = await _login(gateway, _email("nobody"))
    assert unknown == {
        "__typename": "InvalidCredentials",
        "code": "INVALID_CREDENTIALS",
        "message": "wrong email or password",
    }
    assert await _login(gateway, victim) == unknown
    # points recorded at the box office for that email reach no member, as for an unknown one
    nobody = await _earn(gateway, _email("nobody"))
    assert nobody == {
        "__typename": "MemberNotFound",
        "code": "MEMBER_NOT_FOUND",
        "message": "no member has this identifier",
    }
    assert await _earn(gateway, victim) == nobody
    assert await _balance(gateway, as_mallory) == 0
    # the code went to the victim's mailbox, not to Mallory: a guess is refused
    guessed = await _guess(gateway, as_mallory, victim, "000000")
    if guessed["__typename"] == "IdentifierVerified":  # one chance in a million
        return
    assert (guessed["code"], guessed["attemptsLeft"]) == ("CODE_INVALID", 4)

    # the victim joins with their own email, proves it, and it is theirs
    victim_id, _ = await gateway.register(victim)
    as_victim = await gateway.token(victim)
    assert (await gateway.data("{ me { id } }", token=as_victim))["me"]["id"] == victim_id
    await gateway.verify(as_victim, victim)
    assert (await _login(gateway, victim))["subjectId"] == victim_id
    earned = await _earn(gateway, victim)
    assert earned["__typename"] == "EarnRecorded" and earned["points"] > 0
    assert await _balance(gateway, as_victim) == earned["points"]
    assert await _balance(gateway, as_mallory) == 0
    # Mallory's claim ended with it
    late = await _guess(gateway, as_mallory, victim, "123456")
    assert (late["__typename"], late["code"]) == ("VerificationRejected", "NOTHING_TO_VERIFY")
    mine = await gateway.data("{ me { identifiers { value verified } } }", token=as_mallory)
    assert mine["me"]["identifiers"] == [{"value": mallory, "verified": True}]
    assert mallory_id != victim_id


async def test_a_verified_email_signs_in_and_receives_points(gateway: Any) -> None:
    member_id, email = await gateway.register_verified()
    token = await gateway.token(email)
    second = _email("second")
    await gateway.data(LINK, {"input": {"kind": "EMAIL", "value": second}}, token=token)

    verified = await _guess(gateway, token, second, await gateway.sent_code(second))

    assert verified == {
        "__typename": "IdentifierVerified",
        "kind": "EMAIL",
        "value": second,
        "verified": True,
    }
    assert (await _login(gateway, second))["subjectId"] == member_id
    earned = await _earn(gateway, second)
    assert earned["__typename"] == "EarnRecorded"
    assert await _balance(gateway, token) == earned["points"]
    me = await gateway.data("{ me { identifiers { kind value verified } } }", token=token)
    assert me["me"]["identifiers"] == [
        {"kind": "EMAIL", "value": email, "verified": True},
        {"kind": "EMAIL", "value": second, "verified": True},
    ]


async def test_a_registration_email_signs_in_but_earns_nothing_until_verified(
    gateway: Any,
) -> None:
    member_id, email = await gateway.register()

    assert (await _login(gateway, email))["subjectId"] == member_id
    assert (await _earn(gateway, email))["code"] == "MEMBER_NOT_FOUND"

    await gateway.verify(await gateway.token(email), email)

    assert (await _earn(gateway, email))["__typename"] == "EarnRecorded"


async def test_every_guess_counts_and_the_sixth_is_not_compared(gateway: Any) -> None:
    _, email = await gateway.register_verified()
    token = await gateway.token(email)
    second = _email("second")
    await gateway.data(LINK, {"input": {"kind": "EMAIL", "value": second}}, token=token)
    code = await gateway.sent_code(second)
    # six guesses aliased in one document: each one counts
    document = "mutation Guess($email: String!, $wrong: String!, $code: String!) {"
    for n in range(5):
        document += f" g{n}: " + GUESS.replace("$code", "$wrong")
    document += " g5: " + GUESS + " }"

    answers = await gateway.data(
        document, {"email": second, "wrong": _wrong(code), "code": code}, token=token
    )

    assert [answers[f"g{n}"] for n in range(5)] == [
        {
            "__typename": "VerificationRejected",
            "code": "CODE_INVALID",
            "message": f"this is not the code sent: {left} attempt{'s' if left != 1 else ''} left",
            "attemptsLeft": left,
        }
        for left in (4, 3, 2, 1, 0)
    ]
    assert answers["g5"] == {
        "__typename": "VerificationRejected",
        "code": "CODE_ATTEMPTS_EXHAUSTED",
        "message": "too many wrong codes: ask for a new one",
        "attemptsLeft": 0,
    }
    assert (await _login(gateway, second))["code"] == "INVALID_CREDENTIALS"


async def test_an_expired_code_is_refused_and_a_new_one_is_sent_once_a_minute(
    gateway: Any,
) -> None:
    _, email = await gateway.register_verified()
    token = await gateway.token(email)
    second = _email("second")
    await gateway.data(LINK, {"input": {"kind": "EMAIL", "value": second}}, token=token)
    code = await gateway.sent_code(second)
    ask = {"input": {"kind": "EMAIL", "value": second}}

    too_soon = (await gateway.data(REQUEST, ask, token=token))["requestIdentifierVerification"]

    assert too_soon["__typename"] == "VerificationThrottled"
    assert too_soon["code"] == "TOO_MANY_CODES"
    assert 59 <= too_soon["retryAfterSeconds"] <= 60
    # a quarter of an hour later the code has expired
    async with gateway.engine.begin() as conn:
        await conn.execute(
            sa.text(
                "UPDATE identity.identifier_verifications SET expires_at = now(),"
                " last_sent_at = now() - interval '1 minute' WHERE value = :v"
            ),
            {"v": second},
        )
    expired = await _guess(gateway, token, second, code)
    assert expired == {
        "__typename": "VerificationRejected",
        "code": "CODE_EXPIRED",
        "message": "this code has expired: ask for a new one",
        "attemptsLeft": None,
    }
    sent = (await gateway.data(REQUEST, ask, token=token))["requestIdentifierVerification"]
    assert sent["__typename"] == "VerificationCodeSent"
    expires = datetime.fromisoformat(sent["expiresAt"])
    resend = datetime.fromisoformat(sent["resendAfter"])
    assert (expires - resend).total_seconds() == 14 * 60
    fresh = await gateway.sent_code(second)
    assert (await _guess(gateway, token, second, fresh))["__typename"] == "IdentifierVerified"


async def test_only_a_member_verifies_and_only_their_own(gateway: Any) -> None:
    _, email = await gateway.register()
    anonymous = await gateway.gql(VERIFY, {"email": email, "code": "123456"})
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    staff = await gateway.gql(
        VERIFY, {"email": email, "code": "123456"}, token=await gateway.staff_token()
    )
    assert staff["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    _, other = await gateway.register()
    someone_elses = await _guess(gateway, await gateway.token(other), email, "123456")
    assert (someone_elses["__typename"], someone_elses["code"]) == (
        "VerificationRejected",
        "NOTHING_TO_VERIFY",
    )
