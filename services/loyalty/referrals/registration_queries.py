"""The SQL of registering a referral, in four round trips: who holds the code (and the latest
rule set version), the locks, what the store knows (an earlier registration under the same
reference, the referee's recent referrals, the referrer's count), and the writing (the referral,
its first party and, when the partner has a webhook, the delivery that tells it)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from services.loyalty.referrals.queries import ReferralRow, referral_row

_CODE = sa.text(
    """
    SELECT (SELECT coalesce(m.merged_into, c.member_id)
              FROM loyalty.referral_codes AS c
              LEFT JOIN loyalty.members AS m ON m.member_id = c.member_id
             WHERE c.code = :code) AS referrer,
           (SELECT coalesce(max(version), 0) FROM loyalty.rule_sets) AS latest
    """
)


async def code_and_latest(conn: AsyncConnection, code: str | None) -> tuple[UUID | None, int]:
    """Who holds ``code`` now (its owner, or whom they were merged into), and the latest rule
    set version (for the rule book's cache)."""
    row = (await conn.execute(_CODE, {"code": code})).one()
    return row.referrer, int(row.latest)


_LOCK = sa.text(
    """
    SELECT count(pg_advisory_xact_lock(hashtextextended(k, 6)))
      FROM (SELECT unnest(CAST(:keys AS text[])) AS k ORDER BY 1) AS ordered
    """
)


async def lock_keys(conn: AsyncConnection, keys: Sequence[str]) -> None:
    """Transaction-scoped advisory locks on ``keys``, always taken in one order."""
    await conn.execute(_LOCK, {"keys": sorted(set(keys))})


@dataclass(frozen=True, slots=True)
class Prior:
    id: UUID
    registered_at: datetime
    voided: bool
    partner_id: UUID | None


@dataclass(frozen=True, slots=True)
class Context:
    earlier: ReferralRow | None
    priors: list[Prior]
    recent: int


_CONTEXT = sa.text(
    """
    SELECT e.*, p.priors, c.recent
      FROM (SELECT 1) AS one
      LEFT JOIN LATERAL (
            SELECT * FROM loyalty.referrals AS r
             WHERE r.reference = :reference
               AND (r.partner_id = CAST(:partner AS uuid)
                    OR (CAST(:partner AS uuid) IS NULL AND r.channel = :channel))) AS e ON true
     CROSS JOIN LATERAL (
            SELECT coalesce(json_agg(json_build_object(
                       'id', r.id, 'registered_at', r.registered_at,
                       'voided', r.status = 'voided', 'partner_id', r.partner_id)), '[]') AS priors
              FROM loyalty.referrals AS r
             WHERE (r.referee_email_hash = ANY(CAST(:hashes AS text[]))
                    OR r.referee_phone_hash = ANY(CAST(:hashes AS text[])))
               AND r.registered_at > :window_start) AS p
     CROSS JOIN LATERAL (
            SELECT count(*) AS recent FROM loyalty.referrals AS r
             WHERE r.current_referrer_id = CAST(:referrer AS uuid)
               AND r.registered_at > :cap_start) AS c
    """
)


async def context(
    conn: AsyncConnection,
    *,
    partner_id: UUID | None,
    channel: str,
    reference: str,
    hashes: Sequence[str],
    window_start: datetime,
    referrer: UUID | None,
    cap_start: datetime,
) -> Context:
    """What the store knows when a registration is judged (read under its locks)."""
    row = (
        await conn.execute(
            _CONTEXT,
            {
                "partner": partner_id,
                "channel": channel,
                "reference": reference,
                "hashes": list(hashes),
                "window_start": window_start,
                "referrer": referrer,
                "cap_start": cap_start,
            },
        )
    ).one()
    raw = row.priors if isinstance(row.priors, list) else json.loads(row.priors)
    priors = [
        Prior(
            UUID(p["id"]),
            datetime.fromisoformat(p["registered_at"]),
            bool(p["voided"]),
            UUID(p["partner_id"]) if p["partner_id"] else None,
        )
        for p in raw
    ]
    earlier = referral_row(row) if row.id is not None else None
    return Context(earlier, priors, int(row.recent))


@dataclass(frozen=True, slots=True)
class Delivery:
    message_id: str
    event_type: str
    body: str


_INSERT = sa.text(
    """
    WITH referral AS (
        INSERT INTO loyalty.referrals
            (id, referrer_id, code, channel, partner_id, reference, referee_email_hash,
             referee_phone_hash, consent_method, consent_given_at, registered_at, holds_until,
             request_hash, actor, terms, current_referrer_id)
        VALUES (:id, :referrer_id, :code, :channel, :partner_id, :reference, :referee_email_hash,
                :referee_phone_hash, :consent_method, :consent_given_at, :registered_at,
                :holds_until, :request_hash, :actor, CAST(:terms AS jsonb), :referrer_id)
        RETURNING *
    ), party AS (
        INSERT INTO loyalty.referral_parties (member_id, referral_id)
        SELECT referrer_id, id FROM referral
    ), delivery AS (
        INSERT INTO loyalty.webhook_deliveries
            (id, partner_id, message_id, event_type, referral_id, body, created_at,
             next_attempt_at)
        SELECT CAST(:delivery_id AS uuid), referral.partner_id, CAST(:message_id AS text),
               CAST(:event_type AS text), referral.id, CAST(:body AS text),
               referral.registered_at, referral.registered_at
          FROM referral
         WHERE CAST(:message_id AS text) IS NOT NULL
           AND EXISTS (SELECT 1 FROM loyalty.partner_webhooks AS w
                        WHERE w.partner_id = referral.partner_id)
        ON CONFLICT (message_id) DO NOTHING
        RETURNING 1
    )
    SELECT referral.*, EXISTS (SELECT 1 FROM delivery) AS queued FROM referral
    """
)


async def insert_registered(
    conn: AsyncConnection, values: dict[str, Any], delivery: Delivery | None
) -> tuple[ReferralRow, bool]:
    """Write the referral, the referrer as its first party, and the partner's webhook delivery
    (only if the partner has a webhook), in one statement: the referral, and whether a
    delivery was queued."""
    params = {
        **values,
        "terms": json.dumps(values["terms"]),
        "delivery_id": uuid.uuid4(),
        "message_id": delivery.message_id if delivery else None,
        "event_type": delivery.event_type if delivery else None,
        "body": delivery.body if delivery else None,
    }
    row = (await conn.execute(_INSERT, params)).one()
    return referral_row(row), bool(row.queued)
