"""The SQL of partners' webhooks: their settings, the deliveries' outbox and the attempts' log."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.expression import Executable

from services.loyalty.referrals.tables import partner_webhooks, webhook_attempts, webhook_deliveries


@dataclass(frozen=True, slots=True)
class WebhookRow:
    partner_id: UUID
    url: str
    secret: str
    previous_secret: str | None
    previous_valid_until: datetime | None
    loopback_http_allowed: bool
    updated_at: datetime

    def secrets(self, at: datetime) -> list[str]:
        """The secrets to sign with at ``at``: the current one, and the previous one while it
        is still valid after a rotation."""
        previous, until = self.previous_secret, self.previous_valid_until
        if previous is not None and until is not None and at < until:
            return [self.secret, previous]
        return [self.secret]


def _webhook(r: sa.Row[Any]) -> WebhookRow:
    return WebhookRow(
        partner_id=r.partner_id,
        url=r.url,
        secret=r.secret,
        previous_secret=r.previous_secret,
        previous_valid_until=r.previous_valid_until,
        loopback_http_allowed=r.loopback_http_allowed,
        updated_at=r.updated_at,
    )


async def webhook_of(
    conn: AsyncConnection, partner_id: UUID, *, lock: bool = False
) -> WebhookRow | None:
    stmt = sa.select(partner_webhooks).where(partner_webhooks.c.partner_id == partner_id)
    if lock:
        stmt = stmt.with_for_update()
    row = (await conn.execute(stmt)).first()
    return None if row is None else _webhook(row)


async def save_webhook(conn: AsyncConnection, **values: Any) -> WebhookRow:
    """Insert or change a partner's webhook with ``values`` (``partner_id`` included); without
    a ``secret`` the webhook must exist, and keeps its secret."""
    partner_id = values["partner_id"]
    changes = {k: v for k, v in values.items() if k != "partner_id"}
    stmt: Executable
    if "secret" not in values:
        stmt = (
            partner_webhooks.update()
            .where(partner_webhooks.c.partner_id == partner_id)
            .values(**changes)
            .returning(partner_webhooks)
        )
    else:
        stmt = (
            insert(partner_webhooks)
            .values(**values)
            .on_conflict_do_update(index_elements=[partner_webhooks.c.partner_id], set_=changes)
            .returning(partner_webhooks)
        )
    return _webhook((await conn.execute(stmt)).one())


async def insert_delivery(
    conn: AsyncConnection,
    *,
    partner_id: UUID,
    message_id: str,
    event_type: str,
    referral_id: UUID,
    body: str,
    now: datetime,
) -> None:
    await conn.execute(
        insert(webhook_deliveries)
        .values(
            id=uuid.uuid4(),
            partner_id=partner_id,
            message_id=message_id,
            event_type=event_type,
            referral_id=referral_id,
            body=body,
            created_at=now,
            next_attempt_at=now,
        )
        .on_conflict_do_nothing(index_elements=[webhook_deliveries.c.message_id])
    )


@dataclass(frozen=True, slots=True)
class DueDelivery:
    id: UUID
    message_id: str
    body: str
    attempts: int
    first_attempt_at: datetime | None
    webhook: WebhookRow


_DUE = sa.text(
    """
    WITH due AS (
        SELECT d.id FROM loyalty.webhook_deliveries AS d
         WHERE d.status = 'pending' AND d.next_attempt_at <= :now
         ORDER BY d.next_attempt_at
         LIMIT :limit
           FOR UPDATE SKIP LOCKED
    ), claimed AS (
        UPDATE loyalty.webhook_deliveries AS d SET next_attempt_at = :until
          FROM due WHERE d.id = due.id
        RETURNING d.id, d.partner_id, d.message_id, d.body, d.attempts, d.first_attempt_at
    )
    SELECT c.id, c.message_id, c.body, c.attempts, c.first_attempt_at, w.*
      FROM claimed AS c JOIN loyalty.partner_webhooks AS w ON w.partner_id = c.partner_id
    """
)


async def claim_due(
    conn: AsyncConnection, now: datetime, lease: timedelta, limit: int
) -> list[DueDelivery]:
    """Deliveries due now, claimed for ``lease`` (another replica skips them meanwhile)."""
    rows = await conn.execute(_DUE, {"now": now, "until": now + lease, "limit": limit})
    return [
        DueDelivery(r.id, r.message_id, r.body, r.attempts, r.first_attempt_at, _webhook(r))
        for r in rows
    ]


async def record_attempt(
    conn: AsyncConnection,
    delivery_id: UUID,
    *,
    at: datetime,
    url: str,
    status_code: int | None,
    error: str | None,
    duration_ms: int,
    outcome: dict[str, Any],
) -> None:
    """Log one attempt and move the delivery on (``outcome``: its new columns)."""
    await conn.execute(
        webhook_attempts.insert().values(
            delivery_id=delivery_id,
            attempted_at=at,
            url=url,
            status_code=status_code,
            error=error,
            duration_ms=duration_ms,
        )
    )
    await conn.execute(
        webhook_deliveries.update()
        .where(webhook_deliveries.c.id == delivery_id)
        .values(
            attempts=webhook_deliveries.c.attempts + 1,
            first_attempt_at=sa.func.coalesce(webhook_deliveries.c.first_attempt_at, at),
            last_attempt_at=at,
            last_status_code=status_code,
            last_error=error,
            **outcome,
        )
    )


@dataclass(frozen=True, slots=True)
class DeliveryRow:
    id: UUID
    message_id: str
    event_type: str
    referral_id: UUID
    status: str
    created_at: datetime
    next_attempt_at: datetime
    delivered_at: datetime | None
    gave_up_at: datetime | None
    give_up_reason: str | None


@dataclass(frozen=True, slots=True)
class AttemptRow:
    delivery_id: UUID
    attempted_at: datetime
    url: str
    status_code: int | None
    error: str | None
    duration_ms: int


async def deliveries_of(
    conn: AsyncConnection, partner_id: UUID, first: int
) -> tuple[list[DeliveryRow], list[AttemptRow]]:
    """The partner's latest deliveries, newest first, with their attempts in order."""
    d = webhook_deliveries.c
    rows = await conn.execute(
        sa.select(
            d.id,
            d.message_id,
            d.event_type,
            d.referral_id,
            d.status,
            d.created_at,
            d.next_attempt_at,
            d.delivered_at,
            d.gave_up_at,
            d.give_up_reason,
        )
        .where(d.partner_id == partner_id)
        .order_by(d.created_at.desc(), d.message_id.desc())
        .limit(first)
    )
    deliveries = [DeliveryRow(**r._mapping) for r in rows]
    attempts = await _attempts(conn, [x.id for x in deliveries])
    return deliveries, attempts


async def _attempts(conn: AsyncConnection, ids: Sequence[UUID]) -> list[AttemptRow]:
    if not ids:
        return []
    a = webhook_attempts.c
    rows = await conn.execute(
        sa.select(a.delivery_id, a.attempted_at, a.url, a.status_code, a.error, a.duration_ms)
        .where(a.delivery_id.in_(list(ids)))
        .order_by(a.id)
    )
    return [AttemptRow(**r._mapping) for r in rows]
