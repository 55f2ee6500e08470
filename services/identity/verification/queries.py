"""Verifications' SQL: the codes waiting, their guesses and sends, and clearing a code from its
outbox event."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncConnection

from services.identity import contract
from services.identity.tables import identifier_verifications as verifications
from services.identity.tables import identifiers, outbox
from services.identity.verification import codes

EVENT = contract.EventType.IDENTIFIER_VERIFICATION_REQUESTED.value


@dataclass(frozen=True, slots=True)
class VerificationRow:
    id: UUID
    member_id: UUID
    kind: contract.IdentifierKind
    value: str
    pending: codes.Pending
    sends: codes.Sends
    created_at: datetime


def _row(r: sa.Row[Any]) -> VerificationRow:
    return VerificationRow(
        id=r.id,
        member_id=r.member_id,
        kind=contract.IdentifierKind(r.kind),
        value=r.value,
        pending=codes.Pending(r.salt, r.code_hash, r.expires_at, r.attempts),
        sends=codes.Sends(r.last_sent_at, r.sends, r.sends_since),
        created_at=r.created_at,
    )


async def verification_for_update(
    conn: AsyncConnection, member_id: UUID, kind: contract.IdentifierKind, value: str
) -> VerificationRow | None:
    row = (
        await conn.execute(
            sa.select(verifications)
            .where(
                verifications.c.member_id == member_id,
                verifications.c.kind == kind.value,
                verifications.c.value == value,
            )
            .with_for_update()
        )
    ).first()
    return None if row is None else _row(row)


async def pending_of(conn: AsyncConnection, member_id: UUID) -> list[VerificationRow]:
    rows = await conn.execute(
        sa.select(verifications)
        .where(verifications.c.member_id == member_id)
        .order_by(verifications.c.created_at, verifications.c.kind, verifications.c.value)
    )
    return [_row(r) for r in rows]


async def insert_verification(
    conn: AsyncConnection,
    *,
    member_id: UUID,
    kind: contract.IdentifierKind,
    value: str,
    pending: codes.Pending,
    sends: codes.Sends,
    now: datetime,
) -> UUID:
    verification_id = uuid.uuid4()
    await conn.execute(
        verifications.insert().values(
            id=verification_id,
            member_id=member_id,
            kind=kind.value,
            value=value,
            salt=pending.salt,
            code_hash=pending.code_hash,
            expires_at=pending.expires_at,
            attempts=pending.attempts,
            last_sent_at=sends.last_sent_at,
            sends=sends.count,
            sends_since=sends.since,
            created_at=now,
        )
    )
    return verification_id


async def replace_code(
    conn: AsyncConnection, verification_id: UUID, pending: codes.Pending, sends: codes.Sends
) -> None:
    await conn.execute(
        verifications.update()
        .where(verifications.c.id == verification_id)
        .values(
            salt=pending.salt,
            code_hash=pending.code_hash,
            expires_at=pending.expires_at,
            attempts=pending.attempts,
            last_sent_at=sends.last_sent_at,
            sends=sends.count,
            sends_since=sends.since,
            code_in_outbox=True,
        )
    )


async def count_attempt(conn: AsyncConnection, verification_id: UUID, attempts: int) -> None:
    await conn.execute(
        verifications.update()
        .where(verifications.c.id == verification_id)
        .values(attempts=attempts)
    )


async def delete_verifications(
    conn: AsyncConnection,
    *,
    member_id: UUID | None = None,
    kind: contract.IdentifierKind | None = None,
    value: str | None = None,
) -> list[UUID]:
    """Delete the verifications of a member, or of an identifier (every member's claim to it);
    return their ids."""
    stmt = verifications.delete().returning(verifications.c.id)
    if member_id is not None:
        stmt = stmt.where(verifications.c.member_id == member_id)
    if kind is not None and value is not None:
        stmt = stmt.where(verifications.c.kind == kind.value, verifications.c.value == value)
    return [r.id for r in await conn.execute(stmt)]


async def clear_codes(conn: AsyncConnection, verification_ids: list[UUID]) -> None:
    """Take the codes out of these verifications' outbox events (the only place they were
    written in clear)."""
    if not verification_ids:
        return
    await conn.execute(
        outbox.update()
        .where(
            outbox.c.type == EVENT,
            outbox.c.payload["verification_id"].astext.in_([str(v) for v in verification_ids]),
        )
        .values(
            payload=sa.type_coerce(
                outbox.c.payload.op("-")(sa.literal("verification_code", sa.Text)), JSONB
            )
        )
    )
    await conn.execute(
        verifications.update()
        .where(verifications.c.id.in_(verification_ids))
        .values(code_in_outbox=False)
    )


async def expired_in_outbox(conn: AsyncConnection, now: datetime, limit: int = 100) -> list[UUID]:
    """Verifications whose expired code is still written in the outbox (a few at a time,
    never waiting for a lock)."""
    rows = await conn.execute(
        sa.select(verifications.c.id)
        .where(verifications.c.code_in_outbox, verifications.c.expires_at <= now)
        .order_by(verifications.c.expires_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return [r.id for r in rows]


# ---- the identifier a code proves ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Holder:
    member_id: UUID
    verified: bool


async def holder_for_update(
    conn: AsyncConnection, kind: contract.IdentifierKind, value: str
) -> Holder | None:
    row = (
        await conn.execute(
            sa.select(identifiers.c.member_id, identifiers.c.verified)
            .where(identifiers.c.kind == kind.value, identifiers.c.value == value)
            .with_for_update()
        )
    ).first()
    return None if row is None else Holder(row.member_id, row.verified)


async def prove(
    conn: AsyncConnection,
    *,
    member_id: UUID,
    kind: contract.IdentifierKind,
    value: str,
    now: datetime,
) -> contract.Identifier | None:
    """Make the identifier this member's, verified: linked now if no one held it, or taken from
    a member who held it unverified. None when another member holds it verified."""
    row = (
        await conn.execute(
            insert(identifiers)
            .values(
                id=uuid.uuid4(),
                member_id=member_id,
                kind=kind.value,
                value=value,
                verified=True,
                linked_at=now,
            )
            .on_conflict_do_update(
                index_elements=[identifiers.c.kind, identifiers.c.value],
                set_={
                    "member_id": member_id,
                    "verified": True,
                    "linked_at": sa.case(
                        (identifiers.c.member_id == member_id, identifiers.c.linked_at),
                        else_=now,
                    ),
                },
                where=sa.or_(identifiers.c.member_id == member_id, sa.not_(identifiers.c.verified)),
            )
            .returning(identifiers)
        )
    ).first()
    if row is None:
        return None
    return contract.Identifier(
        kind=contract.IdentifierKind(row.kind),
        value=row.value,
        linked_at=row.linked_at,
        verified=row.verified,
    )


# ---- what the messaging system reads ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CodeToSend:
    member_id: UUID
    kind: contract.IdentifierKind
    value: str
    verification_code: str
    locale: str


async def codes_to_send(
    conn: AsyncConnection, *, member_id: UUID | None = None, value: str | None = None
) -> list[CodeToSend]:
    """The codes still written in the outbox (not yet used, replaced or expired), oldest first:
    what a messaging system reads to send them, here narrowed to a member or an address."""
    stmt = (
        sa.select(outbox.c.payload)
        .where(outbox.c.type == EVENT, outbox.c.payload.has_key("verification_code"))
        .order_by(outbox.c.id)
    )
    if member_id is not None:
        stmt = stmt.where(outbox.c.payload["member_id"].astext == str(member_id))
    if value is not None:
        stmt = stmt.where(outbox.c.payload["value"].astext == value)
    return [
        CodeToSend(
            member_id=UUID(p["member_id"]),
            kind=contract.IdentifierKind(p["kind"]),
            value=p["value"],
            verification_code=p["verification_code"],
            locale=p["locale"],
        )
        for (p,) in await conn.execute(stmt)
    ]
