"""The member record's SQL: members, their identifiers, their current preferences, and merges."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from services.identity import contract
from services.identity.tables import (
    consents,
    identifier_verifications,
    identifiers,
    members,
    merges,
    preferences,
    refresh_tokens,
)


@dataclass(frozen=True, slots=True)
class MemberRow:
    id: UUID
    status: contract.MemberStatus
    display_name: str | None
    locale: contract.Locale
    birth_date: date | None
    password_hash: str | None
    merged_into: UUID | None
    created_at: datetime
    erased_at: datetime | None


def _member_row(r: sa.Row[Any]) -> MemberRow:
    return MemberRow(
        id=r.id,
        status=contract.MemberStatus(r.status),
        display_name=r.display_name,
        locale=contract.Locale(r.locale),
        birth_date=r.birth_date,
        password_hash=r.password_hash,
        merged_into=r.merged_into,
        created_at=r.created_at,
        erased_at=r.erased_at,
    )


# ---- members ---------------------------------------------------------------------------------


async def insert_member(
    conn: AsyncConnection,
    *,
    member_id: UUID,
    display_name: str | None,
    locale: contract.Locale,
    birth_date: date | None,
    password_hash: str,
    now: datetime,
) -> None:
    await conn.execute(
        members.insert().values(
            id=member_id,
            status=contract.MemberStatus.ACTIVE.value,
            display_name=display_name,
            locale=locale.value,
            birth_date=birth_date,
            password_hash=password_hash,
            created_at=now,
        )
    )
    await conn.execute(preferences.insert().values(member_id=member_id, updated_at=now))


async def member_row(
    conn: AsyncConnection, member_id: UUID, *, lock: bool = False
) -> MemberRow | None:
    stmt = sa.select(members).where(members.c.id == member_id)
    if lock:
        stmt = stmt.with_for_update()
    row = (await conn.execute(stmt)).first()
    return None if row is None else _member_row(row)


async def lock_members(conn: AsyncConnection, member_ids: Iterable[UUID]) -> dict[UUID, MemberRow]:
    """Lock the rows in id order, so two commands locking the same pair never deadlock."""
    rows = await conn.execute(
        sa.select(members)
        .where(members.c.id.in_(sorted(set(member_ids))))
        .order_by(members.c.id)
        .with_for_update()
    )
    return {r.id: _member_row(r) for r in rows}


async def survivor_id(conn: AsyncConnection, member_id: UUID) -> UUID | None:
    """The member an id stands for today: itself, or the survivor it was merged into (one hop,
    since merges repoint every earlier absorbed member to the new survivor)."""
    value: UUID | None = await conn.scalar(
        sa.select(sa.func.coalesce(members.c.merged_into, members.c.id)).where(
            members.c.id == member_id
        )
    )
    return value


async def load_member(conn: AsyncConnection, member_id: UUID) -> contract.Member | None:
    row = (await conn.execute(sa.select(members).where(members.c.id == member_id))).first()
    if row is None:
        return None
    return contract.Member(
        id=row.id,
        status=contract.MemberStatus(row.status),
        display_name=row.display_name,
        locale=contract.Locale(row.locale),
        created_at=row.created_at,
        identifiers=await identifiers_of(conn, member_id),
        preferences=await current_preferences(conn, member_id),
        merged_from=await absorbed_ids(conn, member_id),
        birth_date=row.birth_date,
    )


async def revoke_member_tokens(
    conn: AsyncConnection, member_ids: Iterable[UUID], now: datetime
) -> int:
    """End every session of these members (on a merge or an erasure)."""
    result = await conn.execute(
        refresh_tokens.update()
        .where(
            refresh_tokens.c.subject_kind == "member",
            refresh_tokens.c.subject_id.in_(list(member_ids)),
            refresh_tokens.c.revoked_at.is_(None),
        )
        .values(revoked_at=now)
    )
    return result.rowcount


# ---- identifiers -----------------------------------------------------------------------------


def _identifier(r: sa.Row[Any]) -> contract.Identifier:
    return contract.Identifier(
        kind=contract.IdentifierKind(r.kind),
        value=r.value,
        linked_at=r.linked_at,
        verified=r.verified,
    )


async def insert_identifier(
    conn: AsyncConnection,
    *,
    member_id: UUID,
    kind: contract.IdentifierKind,
    value: str,
    now: datetime,
) -> contract.Identifier | None:
    """Link an identifier; ``None`` when it already belongs to someone (possibly this member).

    A concurrent insert of the same identifier waits for the other transaction, then yields to
    it: the conflict is seen without an exception (no wrapped driver error to decode, and the
    transaction stays usable to look up the owner).
    """
    row = (
        await conn.execute(
            insert(identifiers)
            .values(
                id=uuid.uuid4(), member_id=member_id, kind=kind.value, value=value, linked_at=now
            )
            .on_conflict_do_nothing(index_elements=[identifiers.c.kind, identifiers.c.value])
            .returning(identifiers)
        )
    ).first()
    return None if row is None else _identifier(row)


async def identifier(
    conn: AsyncConnection, kind: contract.IdentifierKind, value: str
) -> tuple[UUID, contract.Identifier] | None:
    """The owner of an identifier and the identifier."""
    row = (
        await conn.execute(
            sa.select(identifiers).where(
                identifiers.c.kind == kind.value, identifiers.c.value == value
            )
        )
    ).first()
    return None if row is None else (row.member_id, _identifier(row))


async def identifiers_of(conn: AsyncConnection, member_id: UUID) -> list[contract.Identifier]:
    """The member's identifiers, and the emails and phones they linked that wait for their code
    (unverified, linked when the first code was sent)."""
    mine = sa.select(
        identifiers.c.kind, identifiers.c.value, identifiers.c.linked_at, identifiers.c.verified
    ).where(identifiers.c.member_id == member_id)
    waiting = sa.select(
        identifier_verifications.c.kind,
        identifier_verifications.c.value,
        identifier_verifications.c.created_at,
        sa.false().label("verified"),
    ).where(
        identifier_verifications.c.member_id == member_id,
        ~sa.exists().where(
            identifiers.c.member_id == member_id,
            identifiers.c.kind == identifier_verifications.c.kind,
            identifiers.c.value == identifier_verifications.c.value,
        ),
    )
    both = sa.union_all(mine, waiting).subquery()
    rows = await conn.execute(sa.select(both).order_by(both.c.linked_at, both.c.kind, both.c.value))
    return [_identifier(r) for r in rows]


# ---- current preferences (changed by privacy) ------------------------------------------------


def consent_from_row(r: sa.Row[Any]) -> contract.Consent:
    return contract.Consent(
        channel=contract.Channel(r.channel), granted=r.granted, at=r.at, source=r.source
    )


async def current_preferences(conn: AsyncConnection, member_id: UUID) -> contract.Preferences:
    ranked = (
        sa.select(
            consents,
            sa.func.row_number()
            .over(
                partition_by=consents.c.channel,
                order_by=(consents.c.at.desc(), consents.c.id.desc()),
            )
            .label("rank"),
        )
        .where(consents.c.member_id == member_id)
        .subquery()
    )
    latest = await conn.execute(
        sa.select(ranked).where(ranked.c.rank == 1).order_by(ranked.c.channel)
    )
    row = (
        await conn.execute(sa.select(preferences).where(preferences.c.member_id == member_id))
    ).one()
    quiet = (
        None
        if row.quiet_start is None
        else contract.QuietHours(
            start=row.quiet_start, end=row.quiet_end, timezone=row.quiet_timezone
        )
    )
    return contract.Preferences(
        consents=[consent_from_row(r) for r in latest],
        invitation_cap_per_30_days=row.invitation_cap_per_30_days,
        quiet_hours=quiet,
        interests=list(row.interests),
    )


# ---- merges ----------------------------------------------------------------------------------


def _merge(r: sa.Row[Any]) -> contract.MergeResult:
    return contract.MergeResult(
        merge_id=r.id,
        survivor_id=r.survivor_id,
        absorbed_id=r.absorbed_id,
        merged_at=r.at,
        identifiers_moved=r.identifiers_moved,
    )


async def move_identifiers(conn: AsyncConnection, source: UUID, target: UUID) -> int:
    result = await conn.execute(
        identifiers.update().where(identifiers.c.member_id == source).values(member_id=target)
    )
    return result.rowcount


async def move_consents(conn: AsyncConnection, source: UUID, target: UUID) -> None:
    await conn.execute(
        consents.update().where(consents.c.member_id == source).values(member_id=target)
    )


async def absorb(conn: AsyncConnection, *, survivor: UUID, absorbed: UUID) -> None:
    """Mark ``absorbed`` merged into ``survivor``, and repoint every member it had absorbed,
    so resolving any absorbed id stays one hop."""
    await conn.execute(
        members.update()
        .where(members.c.id == absorbed)
        .values(status=contract.MemberStatus.MERGED.value, merged_into=survivor)
    )
    await conn.execute(
        members.update().where(members.c.merged_into == absorbed).values(merged_into=survivor)
    )


async def insert_merge(
    conn: AsyncConnection,
    *,
    survivor: UUID,
    absorbed: UUID,
    reason: str,
    actor: str,
    identifiers_moved: int,
    now: datetime,
) -> contract.MergeResult:
    row = (
        await conn.execute(
            merges.insert()
            .values(
                id=uuid.uuid4(),
                survivor_id=survivor,
                absorbed_id=absorbed,
                reason=reason,
                actor=actor,
                at=now,
                identifiers_moved=identifiers_moved,
            )
            .returning(merges)
        )
    ).one()
    return _merge(row)


async def merges_involving(
    conn: AsyncConnection, member_ids: Iterable[UUID]
) -> list[contract.MergeResult]:
    ids = list(member_ids)
    rows = await conn.execute(
        sa.select(merges)
        .where(sa.or_(merges.c.survivor_id.in_(ids), merges.c.absorbed_id.in_(ids)))
        .order_by(merges.c.at, merges.c.id)
    )
    return [_merge(r) for r in rows]


async def absorbed_ids(conn: AsyncConnection, survivor: UUID) -> list[UUID]:
    rows = await conn.execute(
        sa.select(members.c.id).where(members.c.merged_into == survivor).order_by(members.c.id)
    )
    return [r.id for r in rows]
