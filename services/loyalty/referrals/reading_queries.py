"""The SQL of reading referrals: a partner's own, a member's, and the ambassadors' outcomes."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from services.loyalty.referrals.queries import REFERRAL_FIELDS, ReferralRow, referral_row
from services.loyalty.referrals.tables import referral_rejections, referrals
from services.loyalty.tables import journal_entries

_COLUMNS = [referrals.c[name] for name in REFERRAL_FIELDS]


async def partner_page(
    conn: AsyncConnection,
    partner_id: UUID,
    first: int,
    after: tuple[datetime, UUID] | None,
) -> list[ReferralRow]:
    """The partner's referrals, newest first, ``first + 1`` of them (to tell a next page)."""
    stmt = sa.select(*_COLUMNS).where(referrals.c.partner_id == partner_id)
    if after is not None:
        stmt = stmt.where(sa.tuple_(referrals.c.registered_at, referrals.c.id) < sa.tuple_(*after))
    rows = await conn.execute(
        stmt.order_by(referrals.c.registered_at.desc(), referrals.c.id.desc()).limit(first + 1)
    )
    return [referral_row(r) for r in rows]


_FIGURES = sa.text(
    """
    SELECT count(*) AS registered,
           count(*) FILTER (WHERE status = 'pending' AND holds_until > :now) AS pending,
           count(*) FILTER (WHERE status = 'joined') AS joined,
           count(*) FILTER (WHERE status = 'converted') AS converted,
           count(*) FILTER (WHERE status = 'voided') AS voided,
           count(*) FILTER (WHERE status = 'expired'
                              OR (status = 'pending' AND holds_until <= :now)) AS expired
      FROM loyalty.referrals WHERE partner_id = :partner
    """
)


async def partner_figures(conn: AsyncConnection, partner_id: UUID, now: datetime) -> dict[str, int]:
    row = (await conn.execute(_FIGURES, {"partner": partner_id, "now": now})).one()
    return dict(row._mapping)


async def referrals_by(conn: AsyncConnection, member_id: UUID, limit: int) -> list[ReferralRow]:
    """The referrals a member brought (following merges), newest first."""
    rows = await conn.execute(
        sa.select(*_COLUMNS)
        .where(referrals.c.current_referrer_id == member_id)
        .order_by(referrals.c.registered_at.desc(), referrals.c.id.desc())
        .limit(limit)
    )
    return [referral_row(r) for r in rows]


async def referrer_points(conn: AsyncConnection, referral_ids: list[UUID]) -> dict[UUID, int]:
    """What each referral gave its referrer, net of a reversal."""
    if not referral_ids:
        return {}
    keys = {f"referral:{r}:referrer": r for r in referral_ids}
    keys.update({f"reversal:referral:{r}:referrer": r for r in referral_ids})
    rows = await conn.execute(
        sa.select(journal_entries.c.external_id, journal_entries.c.points).where(
            journal_entries.c.source == "system",
            journal_entries.c.external_id.in_(list(keys)),
        )
    )
    points = dict.fromkeys(referral_ids, 0)
    for r in rows:
        points[keys[r.external_id]] += r.points
    return points


@dataclasses.dataclass(frozen=True, slots=True)
class OutcomeRow:
    referrer_id: UUID
    converted_at: datetime
    still_member: bool
    erased: bool
    attendances: int
    qualifying_days: list[date]


_OUTCOMES = sa.text(
    """
    SELECT r.current_referrer_id AS referrer_id, r.converted_at,
           (m.merged_into IS NULL) AS still_member,
           EXISTS (SELECT 1 FROM loyalty.inbox AS i
                    WHERE i.type = 'member.erased'
                      AND i.payload ->> 'member_id' = CAST(r.referee_id AS text)) AS erased,
           (SELECT count(*) FROM loyalty.journal_entries AS j
             WHERE j.member_id = r.referee_id AND j.kind = 'earn'
               AND j.event ->> 'trigger' = 'attendance') AS attendances,
           ARRAY(SELECT DISTINCT CAST(timezone(:tz, j.occurred_at) AS date)
                   FROM loyalty.journal_entries AS j
                  WHERE j.member_id = r.referee_id AND j.kind = 'earn'
                    AND j.event ->> 'trigger' IN (
                        SELECT jsonb_array_elements_text(r.terms -> 'qualifying_triggers'))
                  ORDER BY 1) AS qualifying_days
      FROM loyalty.referrals AS r
      LEFT JOIN loyalty.members AS m ON m.member_id = r.referee_id
     WHERE r.status = 'converted' AND r.converted_at > :since AND r.converted_at <= :as_of
    """
)


async def outcomes(
    conn: AsyncConnection, since: datetime, as_of: datetime, timezone: str
) -> list[OutcomeRow]:
    rows = await conn.execute(_OUTCOMES, {"since": since, "as_of": as_of, "tz": timezone})
    return [
        OutcomeRow(
            r.referrer_id,
            r.converted_at,
            r.still_member,
            r.erased,
            int(r.attendances),
            list(r.qualifying_days),
        )
        for r in rows
    ]


async def rejection_counts(conn: AsyncConnection, since: datetime) -> list[tuple[str, int]]:
    rows = await conn.execute(
        sa.select(referral_rejections.c.reason, sa.func.count())
        .where(referral_rejections.c.at > since)
        .group_by(referral_rejections.c.reason)
        .order_by(sa.func.count().desc(), referral_rejections.c.reason)
    )
    return [(r[0], int(r[1])) for r in rows]
