"""The SQL of referrals: codes, referrals and their history, events, parties and effects.

Reading for partners, members and admins is in ``reading_queries``; webhooks in
``webhook_queries``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from services.loyalty.referrals.tables import (
    referral_codes,
    referral_effects,
    referral_events,
    referral_parties,
    referral_rejections,
    referrals,
)
from services.loyalty.tables import inbox, journal_entries, members

LIVE = ("pending", "joined", "converted")


@dataclass(frozen=True, slots=True)
class ReferralRow:
    id: UUID
    referrer_id: UUID
    code: str
    channel: str
    partner_id: UUID | None
    reference: str | None
    referee_email_hash: str | None
    referee_phone_hash: str | None
    consent_method: str
    consent_given_at: datetime
    registered_at: datetime
    holds_until: datetime
    request_hash: str
    terms: dict[str, Any]
    status: str
    current_referrer_id: UUID
    referee_id: UUID | None
    joined_at: datetime | None
    converted_at: datetime | None
    voided_at: datetime | None


REFERRAL_FIELDS = tuple(f.name for f in dataclasses.fields(ReferralRow))
_COLUMNS = [referrals.c[name] for name in REFERRAL_FIELDS]


def referral_row(r: sa.Row[Any]) -> ReferralRow:
    return ReferralRow(**{name: getattr(r, name) for name in REFERRAL_FIELDS})


# ---- codes -----------------------------------------------------------------------------------


async def code_of(conn: AsyncConnection, member_id: UUID) -> str | None:
    found: str | None = await conn.scalar(
        sa.select(referral_codes.c.code).where(referral_codes.c.member_id == member_id)
    )
    return found


async def insert_code(conn: AsyncConnection, member_id: UUID, code: str) -> None:
    """Give the member ``code`` unless they have one (or, rarely, someone has this one)."""
    await conn.execute(
        insert(referral_codes).values(member_id=member_id, code=code).on_conflict_do_nothing()
    )


async def member_of_code(conn: AsyncConnection, code: str) -> UUID | None:
    """The member holding ``code`` now: its owner, or whom its owner was merged into."""
    row = (
        await conn.execute(
            sa.select(referral_codes.c.member_id, members.c.merged_into)
            .select_from(
                referral_codes.outerjoin(members, members.c.member_id == referral_codes.c.member_id)
            )
            .where(referral_codes.c.code == code)
        )
    ).first()
    if row is None:
        return None
    merged: UUID | None = row.merged_into
    owner: UUID = row.member_id
    return merged or owner


async def survivor(conn: AsyncConnection, member_id: UUID) -> UUID:
    merged: UUID | None = await conn.scalar(
        sa.select(members.c.merged_into).where(members.c.member_id == member_id)
    )
    return merged or member_id


# ---- registering ---------------------------------------------------------------------------


def _matching(hashes: Sequence[str]) -> sa.ColumnElement[bool]:
    return sa.or_(
        referrals.c.referee_email_hash.in_(list(hashes)),
        referrals.c.referee_phone_hash.in_(list(hashes)),
    )


async def add_parties(conn: AsyncConnection, referral_id: UUID, member_ids: Iterable[UUID]) -> None:
    rows = [{"referral_id": referral_id, "member_id": m} for m in set(member_ids)]
    if rows:
        await conn.execute(insert(referral_parties).values(rows).on_conflict_do_nothing())


async def record_rejection(
    conn: AsyncConnection,
    *,
    channel: str,
    partner_id: UUID | None,
    reference: str | None,
    referrer_id: UUID | None,
    reason: str,
    at: datetime,
) -> None:
    await conn.execute(
        referral_rejections.insert().values(
            channel=channel,
            partner_id=partner_id,
            reference=reference,
            referrer_id=referrer_id,
            reason=reason,
            at=at,
        )
    )


# ---- events and the projection ---------------------------------------------------------------


async def lock_referral(conn: AsyncConnection, referral_id: UUID) -> ReferralRow:
    row = (
        await conn.execute(
            sa.select(*_COLUMNS).where(referrals.c.id == referral_id).with_for_update()
        )
    ).one()
    return referral_row(row)


async def insert_event(
    conn: AsyncConnection, referral_id: UUID, key: str, kind: str, payload: dict[str, Any]
) -> int | None:
    """The new event's sequence number, or ``None`` if this event was recorded before."""
    seq: int | None = await conn.scalar(
        insert(referral_events)
        .values(referral_id=referral_id, key=key, kind=kind, payload=payload)
        .on_conflict_do_nothing()
        .returning(referral_events.c.seq)
    )
    return seq


async def events_before(
    conn: AsyncConnection, referral_id: UUID, seq: int
) -> list[tuple[str, dict[str, Any]]]:
    rows = await conn.execute(
        sa.select(referral_events.c.kind, referral_events.c.payload)
        .where(referral_events.c.referral_id == referral_id, referral_events.c.seq < seq)
        .order_by(referral_events.c.seq)
    )
    return [(r.kind, r.payload) for r in rows]


async def update_projection(conn: AsyncConnection, referral_id: UUID, **values: Any) -> None:
    await conn.execute(referrals.update().where(referrals.c.id == referral_id).values(**values))


async def referrals_matching(
    conn: AsyncConnection, hashes: Sequence[str], statuses: Sequence[str] = LIVE
) -> list[ReferralRow]:
    """Referrals naming any of ``hashes``, oldest first."""
    if not hashes:
        return []
    rows = await conn.execute(
        sa.select(*_COLUMNS)
        .where(_matching(hashes), referrals.c.status.in_(list(statuses)))
        .order_by(referrals.c.registered_at, referrals.c.id)
    )
    return [referral_row(r) for r in rows]


async def referrals_of_parties(conn: AsyncConnection, member_ids: Sequence[UUID]) -> list[UUID]:
    rows = await conn.execute(
        sa.select(referral_parties.c.referral_id)
        .where(referral_parties.c.member_id.in_(list(member_ids)))
        .distinct()
        .order_by(referral_parties.c.referral_id)
    )
    return [r.referral_id for r in rows]


async def joined_referrals_of(conn: AsyncConnection, member_id: UUID) -> list[UUID]:
    rows = await conn.execute(
        sa.select(referrals.c.id)
        .where(referrals.c.status == "joined", referrals.c.referee_id == member_id)
        .order_by(referrals.c.id)
    )
    return [r.id for r in rows]


@dataclass(frozen=True, slots=True)
class EarnFact:
    entry_id: UUID
    trigger: str
    occurred_at: datetime


async def earliest_qualifying_earn(
    conn: AsyncConnection, member_id: UUID, triggers: Sequence[str], since: datetime
) -> EarnFact | None:
    """The member's first earn of a qualifying trigger that happened from ``since`` on."""
    trigger = journal_entries.c.event["trigger"].astext
    row = (
        await conn.execute(
            sa.select(journal_entries.c.id, trigger.label("trigger"), journal_entries.c.occurred_at)
            .where(
                journal_entries.c.member_id == member_id,
                journal_entries.c.kind == "earn",
                trigger.in_(list(triggers)),
                journal_entries.c.occurred_at >= since,
            )
            .order_by(journal_entries.c.occurred_at, journal_entries.c.id)
            .limit(1)
        )
    ).first()
    return None if row is None else EarnFact(row.id, row.trigger, row.occurred_at)


async def registered_at(conn: AsyncConnection, member_id: UUID) -> datetime | None:
    """When identity said the member registered (its event, as received)."""
    found: datetime | None = await conn.scalar(
        sa.select(sa.func.min(inbox.c.occurred_at)).where(
            inbox.c.type == "member.registered",
            inbox.c.payload["member_id"].astext == str(member_id),
        )
    )
    return found


# ---- effects ---------------------------------------------------------------------------------


async def insert_effect(
    conn: AsyncConnection, referral_id: UUID, kind: str, payload: dict[str, Any]
) -> None:
    await conn.execute(
        insert(referral_effects)
        .values(referral_id=referral_id, kind=kind, payload=payload)
        .on_conflict_do_nothing()
    )


@dataclass(frozen=True, slots=True)
class EffectRow:
    id: int
    referral_id: UUID
    kind: str
    payload: dict[str, Any]
    attempts: int


_CLAIM = sa.text(
    """
    UPDATE loyalty.referral_effects AS e SET claimed_until = :until, attempts = e.attempts + 1
     WHERE e.id = (
        SELECT f.id FROM loyalty.referral_effects AS f
         WHERE f.done_at IS NULL
           AND (f.claimed_until IS NULL OR f.claimed_until < :now)
           AND (CAST(:only AS uuid[]) IS NULL OR f.referral_id = ANY(CAST(:only AS uuid[])))
           AND NOT EXISTS (
                SELECT 1 FROM loyalty.referral_effects AS g
                 WHERE g.referral_id = f.referral_id AND g.done_at IS NULL AND g.id < f.id)
         ORDER BY f.id
         LIMIT 1
           FOR UPDATE SKIP LOCKED)
    RETURNING e.id, e.referral_id, e.kind, e.payload, e.attempts
    """
)


async def claim_effect(
    conn: AsyncConnection, now: datetime, lease: timedelta, only: Sequence[UUID] | None
) -> EffectRow | None:
    """The oldest effect due (a referral's effects one after the other), claimed for ``lease``."""
    row = (
        await conn.execute(
            _CLAIM,
            {"until": now + lease, "now": now, "only": None if only is None else list(only)},
        )
    ).first()
    return None if row is None else EffectRow(*row)


async def finish_effect(conn: AsyncConnection, effect_id: int, now: datetime) -> None:
    await conn.execute(
        referral_effects.update()
        .where(referral_effects.c.id == effect_id)
        .values(done_at=now, last_error=None)
    )


async def fail_effect(
    conn: AsyncConnection, effect_id: int, error: str, retry_at: datetime
) -> None:
    await conn.execute(
        referral_effects.update()
        .where(referral_effects.c.id == effect_id)
        .values(last_error=error[:1000], claimed_until=retry_at)
    )
