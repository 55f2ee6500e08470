"""Partners' webhooks: where they are sent, their secret and its rotation, the outbox of
deliveries and the task that sends them.

A delivery is written in the same transaction as what it tells (a referral registered, converted
or voided); a background task sends due deliveries, signed in the Standard Webhooks scheme,
claims them with ``FOR UPDATE SKIP LOCKED`` (replicas never send one together) and retries them
with exponential backoff and full jitter for a bounded time. Registering a referral only writes
a row: a slow or failing endpoint never slows it.
"""

from __future__ import annotations

import asyncio
import ipaddress
import secrets
import time
import weakref
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit
from uuid import UUID

import httpx
import structlog
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.common.actor import Actor, ActorKind
from services.common.problems import Forbidden, InvalidInput, NotFound
from services.common.uow import UnitOfWork
from services.loyalty.referrals import webhook_queries as queries
from services.loyalty.referrals.backoff import GiveUp, RetryPolicy, after_failure
from services.loyalty.referrals.codes import ReferralCode
from services.loyalty.referrals.contract import (
    Attempt,
    Delivery,
    DeliveryStatus,
    ReferralProblem,
    RotateSecret,
    SetWebhook,
    WebhookSettings,
)
from services.loyalty.referrals.model import Referral
from services.loyalty.referrals.payloads import WebhookEvent, message
from services.loyalty.referrals.signing import new_secret, sign

__all__ = ["WebhookEvent"]

log = structlog.get_logger(__name__)

ROTATION_OVERLAP = timedelta(hours=24)  # the previous secret still signs for this long
LEASE = timedelta(minutes=2)  # a claimed delivery is left alone for this long
BATCH = 50
_LOOPBACK_NAMES = frozenset({"localhost"})

_WAKE: weakref.WeakKeyDictionary[AsyncEngine, asyncio.Event] = weakref.WeakKeyDictionary()


def wake(engine: AsyncEngine) -> None:
    """Deliver at once on this engine's task (after a commit that queued deliveries)."""
    event = _WAKE.get(engine)
    if event is not None:
        event.set()


def wake_signal(engine: AsyncEngine) -> asyncio.Event:
    """The signal ``wake`` sets, for the task that delivers on ``engine``."""
    return _WAKE.setdefault(engine, asyncio.Event())


def forget_signal(engine: AsyncEngine, signal: asyncio.Event) -> None:
    if _WAKE.get(engine) is signal:
        del _WAKE[engine]


# ---- settings --------------------------------------------------------------------------------


def _is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def url_problem(url: str, *, loopback_http_allowed: bool) -> str | None:
    """What is wrong with a webhook address, or ``None``: HTTPS to a public host; plain HTTP
    only to a loopback address, and only where an admin allowed it (for testing)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme not in ("https", "http") or not host:
        return "a webhook address is an https:// URL with a host"
    if parts.username or parts.password:
        return "a webhook address carries no user name or password"
    if _is_loopback(host):
        if not loopback_http_allowed:
            return "a loopback address is allowed only when an admin allows it, for testing"
        return None
    if parts.scheme != "https":
        return "a webhook address must use https"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    if not address.is_global:
        return "a webhook address must be reachable on the internet"
    return None


def _partner_of(actor: Actor, named: UUID | None) -> UUID:
    partner = actor.uuid()
    if actor.kind is ActorKind.PARTNER and partner is not None:
        if named is not None and named != partner:
            raise Forbidden(ReferralProblem.PARTNER_ONLY, "a partner manages its own webhook")
        return partner
    if actor.kind in (ActorKind.ADMIN, ActorKind.SYSTEM) and named is not None:
        return named
    if actor.kind in (ActorKind.ADMIN, ActorKind.SYSTEM):
        raise InvalidInput("an admin names the partner (partner_id)")
    raise Forbidden(ReferralProblem.PARTNER_ONLY, "partners and admins only")


def _settings(row: queries.WebhookRow, secret: str | None) -> WebhookSettings:
    return WebhookSettings(
        partner_id=row.partner_id,
        url=row.url,
        secret=secret,
        previous_secret_valid_until=row.previous_valid_until,
        loopback_http_allowed=row.loopback_http_allowed,
        updated_at=row.updated_at,
    )


async def set_webhook(
    engine: AsyncEngine, actor: Actor, body: SetWebhook, *, now: datetime | None = None
) -> WebhookSettings:
    """Set where the partner's webhooks go. The first time, a secret is made and shown once;
    later changes keep it. Only admins may allow plain HTTP to a loopback address."""
    now = now or datetime.now(UTC)
    partner = _partner_of(actor, body.partner_id)
    if body.allow_loopback_http is not None and actor.kind is ActorKind.PARTNER:
        raise Forbidden(ReferralProblem.PARTNER_ONLY, "only an admin allows loopback addresses")
    async with UnitOfWork(engine) as uow:
        current = await queries.webhook_of(uow.conn, partner, lock=True)
        allowed = (
            body.allow_loopback_http
            if body.allow_loopback_http is not None
            else bool(current and current.loopback_http_allowed)
        )
        problem = url_problem(body.url, loopback_http_allowed=allowed)
        if problem is not None:
            raise InvalidInput(problem, code=ReferralProblem.WEBHOOK_URL_REFUSED)
        secret = None if current is not None else new_secret(secrets.token_bytes(32))
        values = {
            "partner_id": partner,
            "url": body.url,
            "loopback_http_allowed": allowed,
            "updated_at": now,
            "updated_by": actor.label(),
        }
        if secret is not None:
            values["secret"] = secret
        row = await queries.save_webhook(uow.conn, **values)
        await uow.commit()
    return _settings(row, secret)


async def rotate_secret(
    engine: AsyncEngine, actor: Actor, body: RotateSecret, *, now: datetime | None = None
) -> WebhookSettings:
    """A new secret, shown once; the previous one still signs for ``ROTATION_OVERLAP``."""
    now = now or datetime.now(UTC)
    partner = _partner_of(actor, body.partner_id)
    async with UnitOfWork(engine) as uow:
        current = await queries.webhook_of(uow.conn, partner, lock=True)
        if current is None:
            raise NotFound(ReferralProblem.NO_WEBHOOK, "set a webhook address first")
        secret = new_secret(secrets.token_bytes(32))
        row = await queries.save_webhook(
            uow.conn,
            partner_id=partner,
            url=current.url,
            secret=secret,
            previous_secret=current.secret,
            previous_valid_until=now + ROTATION_OVERLAP,
            updated_at=now,
            updated_by=actor.label(),
        )
        await uow.commit()
    return _settings(row, secret)


async def deliveries(
    engine: AsyncEngine, actor: Actor, partner_id: UUID | None, first: int
) -> list[Delivery]:
    """The partner's delivery log, newest first: each attempt with its answer."""
    partner = _partner_of(actor, partner_id)
    async with UnitOfWork(engine) as uow:
        rows, attempts = await queries.deliveries_of(uow.conn, partner, min(max(first, 1), 100))
    by_delivery: dict[UUID, list[Attempt]] = {}
    for a in attempts:
        by_delivery.setdefault(a.delivery_id, []).append(
            Attempt(
                attempted_at=a.attempted_at,
                url=a.url,
                status_code=a.status_code,
                error=a.error,
                duration_ms=a.duration_ms,
            )
        )
    return [
        Delivery(
            id=r.id,
            message_id=r.message_id,
            event_type=r.event_type,
            referral_id=r.referral_id,
            status=DeliveryStatus(r.status),
            attempts=by_delivery.get(r.id, []),
            created_at=r.created_at,
            next_attempt_at=r.next_attempt_at if r.status == "pending" else None,
            delivered_at=r.delivered_at,
            gave_up_at=r.gave_up_at,
            give_up_reason=r.give_up_reason,
        )
        for r in rows
    ]


# ---- the outbox ------------------------------------------------------------------------------


async def enqueue(
    conn: AsyncConnection,
    referral: Referral,
    code: str,
    event: WebhookEvent,
    at: datetime,
    *,
    void_reason: str | None = None,
) -> None:
    """Queue ``event`` for the partner who registered the referral, if it has a webhook."""
    partner_id = getattr(referral.source, "partner_id", None)
    if partner_id is None or await queries.webhook_of(conn, partner_id) is None:
        return
    msg = message(event, referral, ReferralCode(code), at, void_reason=void_reason)
    await queries.insert_delivery(
        conn,
        partner_id=partner_id,
        message_id=msg.id,
        event_type=msg.type.value,
        referral_id=referral.id,
        body=msg.body().decode(),
        now=datetime.now(UTC),
    )


# ---- sending ---------------------------------------------------------------------------------

Random = Callable[[], float]


async def _send(
    client: httpx.AsyncClient, due: queries.DueDelivery, now: datetime
) -> tuple[int | None, str | None, int]:
    """POST one delivery: the status code (or the error) and how long it took, in ms."""
    body = due.body.encode()
    signed = sign(due.message_id, body, due.webhook.secrets(now), now)
    started = time.perf_counter()
    try:
        response = await client.post(
            due.webhook.url, content=body, headers={**signed, "content-type": "application/json"}
        )
        status, error = response.status_code, None
    except httpx.HTTPError as exc:
        status, error = None, f"{type(exc).__name__}: {exc}"[:500]
    return status, error, int((time.perf_counter() - started) * 1000)


async def deliver_due(
    engine: AsyncEngine,
    client: httpx.AsyncClient,
    policy: RetryPolicy,
    *,
    random: Random,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> int:
    """Send the deliveries due now, concurrently; log each attempt and plan the next one (or
    give up). Returns how many were attempted."""
    async with UnitOfWork(engine) as uow:
        due = await queries.claim_due(uow.conn, now(), LEASE, BATCH)
        await uow.commit()
    if not due:
        return 0
    sent_at = now()
    results = await asyncio.gather(*(_send(client, d, sent_at) for d in due))
    async with UnitOfWork(engine) as uow:
        for d, (status, error, ms) in zip(due, results, strict=True):
            at = now()
            if status is not None and 200 <= status < 300:
                outcome: dict[str, object] = {"status": "delivered", "delivered_at": at}
            else:
                decision = after_failure(
                    policy,
                    first_attempt_at=d.first_attempt_at or sent_at,
                    failures=d.attempts + 1,
                    now=at,
                    random=random,
                )
                if isinstance(decision, GiveUp):
                    outcome = {
                        "status": "failed",
                        "gave_up_at": at,
                        "give_up_reason": decision.reason.value,
                    }
                else:
                    outcome = {"next_attempt_at": decision.at}
            error = error or (None if status and status < 300 else f"HTTP {status}")
            await queries.record_attempt(
                uow.conn,
                d.id,
                at=sent_at,
                url=d.webhook.url,
                status_code=status,
                error=error,
                duration_ms=ms,
                outcome=outcome,
            )
        await uow.commit()
    return len(due)
