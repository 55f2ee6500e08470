"""Verifying an email or phone: the member asks for a (new) code, and gives it back.

Every guess is counted in the verification's row, locked, before the code is compared, so of
any number of concurrent guesses (aliased in one request or not) exactly ``codes.ATTEMPTS``
are compared. A verified email or phone becomes the member's: it signs in and resolves for
earns. If another member held it unverified (given at their registration, never proven), it
moves to the one who proved it; every other claim to it ends.
"""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.common.actor import Actor
from services.common.problems import Problem
from services.common.uow import UnitOfWork
from services.identity import contract, normalise
from services.identity.contract import EventType, ProblemCode
from services.identity.members import queries as members
from services.identity.members.replay import identifier_taken
from services.identity.members.use_cases import lock_survivor
from services.identity.outbox import relay
from services.identity.outbox.queries import add_event
from services.identity.referees.use_cases import identifier_hashes
from services.identity.verification import codes, queries, sending


def _now() -> datetime:
    return datetime.now(UTC)


def _nothing_to_verify(message: str) -> Problem:
    return Problem(ProblemCode.NOTHING_TO_VERIFY, message, status=404)


def _only_codes(kind: contract.IdentifierKind) -> None:
    if kind.value not in codes.CODE_KINDS:
        raise _nothing_to_verify("only an email or a phone is verified with a code")


async def request_code(
    engine: AsyncEngine, actor: Actor, member_id: UUID, body: contract.IdentifierRef
) -> contract.VerificationSent:
    """Send a new code for an email or phone the member is waiting to verify (or was given at
    registration and never verified). The previous code stops working. Throttled: one code a
    minute, five a day (``TOO_MANY_CODES`` with the seconds to wait)."""
    _only_codes(body.kind)
    value = normalise.normalise(body.kind, body.value)
    now = _now()
    async with UnitOfWork(engine) as uow:
        conn = uow.conn
        member = await lock_survivor(conn, actor, member_id)
        await sending.clear_expired(conn, now)
        row = await queries.verification_for_update(conn, member.id, body.kind, value)
        if row is None:
            found = await members.identifier(conn, body.kind, value)
            if found is None or found[0] != member.id or found[1].verified:
                raise _nothing_to_verify("no code is awaited for this identifier")
            pending = await sending.start(
                conn,
                member_id=member.id,
                kind=body.kind,
                value=value,
                locale=member.locale,
                now=now,
            )
            sends = codes.Sends(now, 1, now)
            linked_at = found[1].linked_at
        else:
            sends, wait = codes.send(row.sends, now)
            if wait is not None:
                seconds = codes.retry_after_seconds(wait)
                raise Problem(
                    ProblemCode.TOO_MANY_CODES,
                    f"a code was sent recently: ask again in {seconds} seconds",
                    status=429,
                    retry_after_seconds=seconds,
                )
            await queries.clear_codes(conn, [row.id])
            code, pending = sending.new_pending(now)
            await queries.replace_code(conn, row.id, pending, sends)
            await sending.announce(
                conn,
                verification_id=row.id,
                member_id=member.id,
                kind=body.kind,
                value=value,
                code=code,
                pending=pending,
                locale=member.locale,
                now=now,
            )
            linked_at = row.created_at
        await uow.commit()
    relay.wake(engine)
    assert sends.last_sent_at is not None
    return contract.VerificationSent(
        identifier=contract.Identifier(kind=body.kind, value=value, linked_at=linked_at),
        expires_at=pending.expires_at,
        resend_after=sends.last_sent_at + codes.RESEND_AFTER,
    )


async def verify_identifier(
    engine: AsyncEngine, actor: Actor, member_id: UUID, body: contract.VerifyIdentifier
) -> contract.Identifier:
    """Check a code. Right: the identifier is the member's, verified. Wrong: ``CODE_INVALID``
    with the attempts left; ``CODE_EXPIRED`` and ``CODE_ATTEMPTS_EXHAUSTED`` until a new code
    is asked for. Verifying a verified identifier again answers it, unchanged."""
    _only_codes(body.kind)
    value = normalise.normalise(body.kind, body.value)
    now = _now()
    async with UnitOfWork(engine) as uow:
        conn = uow.conn
        member = await lock_survivor(conn, actor, member_id)
        await sending.clear_expired(conn, now)
        row = await queries.verification_for_update(conn, member.id, body.kind, value)
        if row is None:
            found = await members.identifier(conn, body.kind, value)
            if found is not None and found[0] == member.id and found[1].verified:
                return found[1]
            raise _nothing_to_verify("no code is awaited for this identifier")
        judged = codes.check(row.pending, body.verification_code, now)
        if judged.verdict is codes.Verdict.VERIFIED:
            proven = await _prove(conn, member.id, row, now)
            await uow.commit()
            relay.wake(engine)
            if proven is None:
                raise identifier_taken(body.kind)
            return proven
        if judged.verdict is codes.Verdict.WRONG:
            await queries.count_attempt(conn, row.id, judged.attempts)
        if judged.attempts_left == 0 or judged.verdict is codes.Verdict.EXPIRED:
            await queries.clear_codes(conn, [row.id])  # it can no longer be used
        await uow.commit()
    raise _refusal(judged)


def _refusal(judged: codes.Check) -> Problem:
    if judged.verdict is codes.Verdict.EXPIRED:
        return Problem(ProblemCode.CODE_EXPIRED, "this code has expired: ask for a new one")
    if judged.verdict is codes.Verdict.EXHAUSTED:
        return Problem(
            ProblemCode.CODE_ATTEMPTS_EXHAUSTED,
            "too many wrong codes: ask for a new one",
            attempts_left=0,
        )
    left = judged.attempts_left
    return Problem(
        ProblemCode.CODE_INVALID,
        f"this is not the code sent: {left} attempt{'s' if left != 1 else ''} left",
        attempts_left=left,
    )


async def _prove(
    conn: AsyncConnection, member_id: UUID, row: queries.VerificationRow, now: datetime
) -> contract.Identifier | None:
    """The identifier becomes the member's, verified, and every claim to it ends; None (and
    this claim ended) when another member verified it first."""
    holder = await queries.holder_for_update(conn, row.kind, row.value)
    proven = await queries.prove(conn, member_id=member_id, kind=row.kind, value=row.value, now=now)
    if proven is None:
        await queries.clear_codes(
            conn,
            await queries.delete_verifications(
                conn, member_id=member_id, kind=row.kind, value=row.value
            ),
        )
        return None
    ended = await queries.delete_verifications(conn, kind=row.kind, value=row.value)
    await queries.clear_codes(conn, ended)
    if holder is None or holder.member_id != member_id:  # new to this member: loyalty is told
        hashed = await identifier_hashes(conn, {row.kind.value: row.value})
        await add_event(
            conn,
            EventType.IDENTIFIER_LINKED,
            {
                "member_id": str(member_id),
                "kind": row.kind.value,
                "identifier_hash": hashed[row.kind.value],
            },
            now,
        )
    return proven
