"""What a registration's idempotency key keeps, and the same answer given again from it.

The key keeps the request's keyed hash and what came of it, never the request's personal data:
the new member's id; or, when the registration was answered as if made (one of its identifiers
was another member's), the would-be member's id, when it was answered, whose identifier it was
(so that erasing that member forgets the attempt too) and the argon2 hash of the password (so
that only the same request, password included, gets the same answer). The would-be member is
never stored: a replay rebuilds it from the request, which the hash proves to be the same.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection

from services.common.problems import Problem
from services.identity import contract, idempotency, passwords
from services.identity.contract import ProblemCode
from services.identity.members import queries
from services.identity.outcome import Outcome

REGISTER_SCOPE = "register_member"

Wanted = list[tuple[contract.IdentifierKind, str]]


def identifier_taken(kind: contract.IdentifierKind) -> Problem:
    return Problem(
        ProblemCode.IDENTIFIER_TAKEN,
        f"this {kind.value.replace('_', ' ')} belongs to another member",
        kind=kind.value,
    )


def taken_as_if_registered(
    kind: contract.IdentifierKind, would_be: contract.Member, *, created: bool
) -> Problem:
    taken = identifier_taken(kind)
    taken.details.update(member=would_be.model_dump(mode="json"), created=created)
    return taken


def with_identifiers(member: contract.Member, wanted: Wanted, at: datetime) -> contract.Member:
    """The would-be member with the identifiers asked for (which were never linked)."""
    return member.model_copy(
        update={
            "identifiers": [
                contract.Identifier(kind=kind, value=value, linked_at=at) for kind, value in wanted
            ]
        }
    )


def wanted_identifiers(fields: dict[str, Any]) -> Wanted:
    wanted = [(contract.IdentifierKind.EMAIL, str(fields["email"]))]
    if fields.get("phone") is not None:
        wanted.append((contract.IdentifierKind.PHONE, str(fields["phone"])))
    return wanted


async def record_taken(
    conn: AsyncConnection,
    key: str,
    *,
    would_be: UUID,
    kind: contract.IdentifierKind,
    owner: UUID | None,
    password_hash: str,
    at: datetime,
) -> None:
    response: dict[str, Any] = {
        "member_id": str(would_be),
        "taken": kind.value,
        "at": at.isoformat(),
        "password_hash": password_hash,
    }
    if owner is not None:
        response["owner_id"] = str(owner)
    await idempotency.record_response(conn, REGISTER_SCOPE, key, response)


async def _rebuilt(
    conn: AsyncConnection, fields: dict[str, Any], response: dict[str, Any]
) -> contract.Member:
    """The would-be member answered the first time, from the same request: written in a
    savepoint, read, and undone, exactly as the first answer was made."""
    member_id, at = UUID(response["member_id"]), datetime.fromisoformat(response["at"])
    attempt = await conn.begin_nested()
    await queries.insert_member(
        conn,
        member_id=member_id,
        display_name=fields.get("display_name"),
        locale=contract.Locale(fields["locale"]),
        birth_date=fields.get("birth_date"),
        password_hash=response["password_hash"],
        now=at,
    )
    member = await queries.load_member(conn, member_id)
    await attempt.rollback()
    assert member is not None
    return with_identifiers(member, wanted_identifiers(fields), at)


async def replay_registration(
    conn: AsyncConnection,
    password: str,
    fields: dict[str, Any],
    earlier: idempotency.IdempotencyRow,
    request_hash: str,
) -> Outcome[contract.Member]:
    reused = Problem(
        ProblemCode.IDEMPOTENCY_KEY_REUSED,
        "this idempotency key was used for a different registration",
    )
    if earlier.request_hash != request_hash or earlier.response is None:
        raise reused
    response = earlier.response
    if "taken" in response:  # answered as if registered: answer the same again
        if not await passwords.verify_password(response["password_hash"], password):
            raise reused
        would_be = await _rebuilt(conn, fields, response)
        raise taken_as_if_registered(
            contract.IdentifierKind(response["taken"]), would_be, created=False
        )
    member_id = UUID(response["member_id"])
    original = await queries.member_row(conn, member_id)
    # the password is part of the request, but only its argon2 hash is kept: verify against it
    if original is None or not await passwords.verify_password(original.password_hash, password):
        raise reused
    survivor = await queries.survivor_id(conn, member_id)
    member = await queries.load_member(conn, survivor or member_id)
    assert member is not None
    return Outcome(member, created=False)
