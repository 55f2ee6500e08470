"""Sending a code: what linking an email or phone, and registering, do in their own transaction.

An email or phone a member links is not an identifier of theirs until its code comes back: it
waits here, shown to the member as unverified, and neither signs in nor resolves for earns. The
code goes out through the outbox (``identifier.verification_requested``), the only place it is
written in clear, and is cleared from there once used, replaced or expired.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection

from services.common.problems import Problem
from services.identity import contract
from services.identity.contract import EventType, ProblemCode
from services.identity.members import queries as members
from services.identity.members.replay import identifier_taken
from services.identity.outbox.queries import add_event
from services.identity.outcome import Outcome
from services.identity.verification import codes, queries


def new_pending(now: datetime) -> tuple[str, codes.Pending]:
    """A fresh code and what is kept of it."""
    code, salt = codes.new_code(), codes.new_salt()
    return code, codes.Pending(salt, codes.digest(salt, code), now + codes.LIFETIME, 0)


async def announce(
    conn: AsyncConnection,
    *,
    verification_id: UUID,
    member_id: UUID,
    kind: contract.IdentifierKind,
    value: str,
    code: str,
    pending: codes.Pending,
    locale: contract.Locale,
    now: datetime,
) -> None:
    await add_event(
        conn,
        EventType.IDENTIFIER_VERIFICATION_REQUESTED,
        {
            "member_id": str(member_id),
            "verification_id": str(verification_id),
            "kind": kind.value,
            "value": value,
            "verification_code": code,
            "expires_at": pending.expires_at.isoformat(),
            "locale": locale.value,
        },
        now,
    )


async def start(
    conn: AsyncConnection,
    *,
    member_id: UUID,
    kind: contract.IdentifierKind,
    value: str,
    locale: contract.Locale,
    now: datetime,
) -> codes.Pending:
    """Send a first code for an identifier the member is not yet waiting to verify."""
    code, pending = new_pending(now)
    sends, wait = codes.send(codes.Sends(), now)
    assert wait is None
    verification_id = await queries.insert_verification(
        conn, member_id=member_id, kind=kind, value=value, pending=pending, sends=sends, now=now
    )
    await announce(
        conn,
        verification_id=verification_id,
        member_id=member_id,
        kind=kind,
        value=value,
        code=code,
        pending=pending,
        locale=locale,
        now=now,
    )
    return pending


async def claim(
    conn: AsyncConnection,
    member: members.MemberRow,
    kind: contract.IdentifierKind,
    value: str,
    now: datetime,
) -> Outcome[contract.Identifier]:
    """A member links an email or phone: it waits for its code. Linking it again while waiting
    sends nothing (asking for a new code is ``request_code``); one verified by another member
    is a conflict."""
    await clear_expired(conn, now)
    found = await members.identifier(conn, kind, value)
    if found is not None:
        owner, identifier = found
        if owner == member.id:
            return Outcome(identifier, created=False)
        if identifier.verified:
            raise identifier_taken(kind)
    waiting = await queries.verification_for_update(conn, member.id, kind, value)
    if waiting is not None:
        unverified = contract.Identifier(kind=kind, value=value, linked_at=waiting.created_at)
        return Outcome(unverified, created=False)
    if len(await queries.pending_of(conn, member.id)) >= codes.PENDING_PER_MEMBER:
        raise Problem(
            ProblemCode.TOO_MANY_PENDING,
            f"at most {codes.PENDING_PER_MEMBER} identifiers may wait for their code at once",
            status=429,
        )
    await start(conn, member_id=member.id, kind=kind, value=value, locale=member.locale, now=now)
    return Outcome(contract.Identifier(kind=kind, value=value, linked_at=now), created=True)


async def forget_member(conn: AsyncConnection, member_id: UUID) -> None:
    """Nothing waits any more for this member (merged away, erased): codes cleared."""
    await queries.clear_codes(conn, await queries.delete_verifications(conn, member_id=member_id))


async def clear_expired(conn: AsyncConnection, now: datetime) -> None:
    """Clear a few expired codes from the outbox (each command that sends or checks one does)."""
    await queries.clear_codes(conn, await queries.expired_in_outbox(conn, now))
