"""Partners' webhooks against PostgreSQL and a real HTTP endpoint: where they may be sent, every
message verified by the Standard Webhooks library's own verifier, retries with backoff until
the bound, giving up, a rotated secret, and replicas that never send one delivery twice.

The sending is driven by hand here (the app's job is off), with the clock and the random
source given, so that each retry's time is known exactly."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from services.common.db import create_engine
from services.loyalty.referrals import webhooks
from services.loyalty.referrals.backoff import RetryPolicy
from tests.integration.loyalty.referrals_support import (
    ADMIN,
    Person,
    Programme,
    partner,
    referrals,
    referrals_database_url,
)
from tests.integration.webhook_receiver import Receiver, receiving

__all__ = ["referrals", "referrals_database_url"]

POLICY = RetryPolicy(
    first_delay=timedelta(seconds=2),
    max_delay=timedelta(seconds=8),
    give_up_after=timedelta(hours=1),
    max_attempts=3,
)


async def _set(referrals: Programme, actor: Any, url: str, **body: Any) -> httpx.Response:
    return await referrals.call(
        "PUT", "/internal/partner/webhook", actor=actor, json={"url": url, **body}
    )


async def _hooked_partner(referrals: Programme, receiver: Receiver) -> Any:
    """A partner whose webhook an admin pointed at the receiver (loopback allowed)."""
    actor = partner()
    response = await _set(
        referrals, ADMIN, receiver.url, partner_id=actor.id, allow_loopback_http=True
    )
    assert response.status_code == 200, response.text
    receiver.secrets.append(response.json()["secret"])
    return actor


async def _refer(referrals: Programme, actor: Any, reference: str = "ref-1") -> dict[str, Any]:
    referrer = Person.new()
    await referrals.joins(referrer)
    code = await referrals.code(referrer.id)
    response = await referrals.register(actor, code, Person.new().referee(), reference=reference)
    assert response.status_code == 201, response.text
    found: dict[str, Any] = response.json()["referral"]
    return found


class Clock:
    def __init__(self) -> None:
        self.at = datetime.now(UTC) + timedelta(seconds=1)

    def __call__(self) -> datetime:
        return self.at


async def _deliver(referrals: Programme, clock: Clock, engine: Any = None) -> int:
    async with httpx.AsyncClient(timeout=5) as client:
        return await webhooks.deliver_due(
            engine or referrals.engine, client, POLICY, random=lambda: 0.5, now=clock
        )


async def _log(referrals: Programme, actor: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = await referrals.ok(
        "GET", "/internal/partner/webhook/deliveries", actor=actor
    )
    return found


async def test_a_webhook_goes_to_https_only_and_to_loopback_only_where_an_admin_allows_it(
    referrals: Programme,
) -> None:
    actor = partner()
    refusals = {
        "http://127.0.0.1:8080/hooks": "a loopback address is allowed only when an admin "
        "allows it, for testing",
        "http://partner.example.org/hooks": "a webhook address must use https",
        "https://10.1.2.3/hooks": "a webhook address must be reachable on the internet",
        "https://user:pw@partner.example.org/hooks": "a webhook address carries no user name "
        "or password",
        "ftp://partner.example.org/hooks": "a webhook address is an https:// URL with a host",
    }
    for url, message in refusals.items():
        refused = await _set(referrals, actor, url)
        assert refused.status_code == 422
        assert refused.json() == {"code": "WEBHOOK_URL_REFUSED", "message": message, "details": {}}
    first = await _set(referrals, actor, "https://partner.example.org/hooks")
    assert first.status_code == 200
    assert first.json()["secret"].startswith("whsec_")
    again = await _set(referrals, actor, "https://partner.example.org/other")
    assert again.json()["secret"] is None and again.json()["url"].endswith("/other")
    self_allowed = await _set(referrals, actor, "http://127.0.0.1/x", allow_loopback_http=True)
    assert (self_allowed.status_code, self_allowed.json()["code"]) == (403, "PARTNER_ONLY")
    allowed = await _set(
        referrals, ADMIN, "http://127.0.0.1:9/x", partner_id=actor.id, allow_loopback_http=True
    )
    assert allowed.json()["loopback_http_allowed"] is True
    kept = await _set(referrals, actor, "http://localhost:9/y")
    assert kept.status_code == 200 and kept.json()["loopback_http_allowed"] is True


async def test_a_registration_is_delivered_signed_and_verified_by_an_independent_verifier(
    referrals: Programme,
) -> None:
    async with receiving() as receiver:
        actor = await _hooked_partner(referrals, receiver)
        referral = await _refer(referrals, actor, reference="order-9")
        [pending] = await _log(referrals, actor)
        assert (pending["status"], pending["attempts"]) == ("pending", [])  # nothing sent yet
        assert await _deliver(referrals, Clock()) >= 1
        [message] = receiver.received
        assert message.payload == {
            "type": "referral.registered",
            "timestamp": message.payload["timestamp"],
            "data": {
                "referral_id": referral["id"],
                "partner_reference": "order-9",
                "referral_code": referral["code"],
                "status": "pending",
                "registered_at": message.payload["data"]["registered_at"],
            },
        }
        assert message.message_id == f"msg_{uuid.UUID(referral['id']).hex}_registered"
        tampered = message.body.replace(b"order-9", b"order-8")
        try:
            Webhook(receiver.secrets[0]).verify(tampered, message.headers)
        except WebhookVerificationError:
            pass
        else:
            raise AssertionError("a changed body verified")
        [delivered] = await _log(referrals, actor)
        assert delivered["status"] == "delivered" and delivered["next_attempt_at"] is None
        assert [(a["status_code"], a["error"]) for a in delivered["attempts"]] == [(204, None)]


async def test_a_failing_endpoint_is_retried_with_backoff_then_given_up_after_the_bound(
    referrals: Programme,
) -> None:
    async with receiving() as receiver:
        receiver.statuses.extend([500, 503, 500])
        actor = await _hooked_partner(referrals, receiver)
        await _refer(referrals, actor)
        clock = Clock()
        start = clock.at
        assert await _deliver(referrals, clock) == 1
        [log] = await _log(referrals, actor)
        assert datetime.fromisoformat(log["next_attempt_at"]) == start + timedelta(seconds=1)
        clock.at = start + timedelta(milliseconds=999)
        assert await _deliver(referrals, clock) == 0  # not due yet
        clock.at = start + timedelta(seconds=1)
        assert await _deliver(referrals, clock) == 1
        [log] = await _log(referrals, actor)
        assert datetime.fromisoformat(log["next_attempt_at"]) == clock.at + timedelta(seconds=2)
        clock.at += timedelta(seconds=2)
        assert await _deliver(referrals, clock) == 1
        clock.at += timedelta(hours=2)
        assert await _deliver(referrals, clock) == 0  # given up: never sent again
        [log] = await _log(referrals, actor)
        assert log["status"] == "failed"
        assert log["give_up_reason"] == "ATTEMPTS_EXHAUSTED"
        assert [(a["status_code"], a["error"]) for a in log["attempts"]] == [
            (500, "HTTP 500"),
            (503, "HTTP 503"),
            (500, "HTTP 500"),
        ]
        assert len(receiver.received) == 3
        assert len({r.message_id for r in receiver.received}) == 1  # one id on every retry


async def test_an_unreachable_endpoint_is_logged_with_its_error_and_given_up_at_the_deadline(
    referrals: Programme,
) -> None:
    actor = partner()
    response = await _set(
        referrals,
        ADMIN,
        "http://127.0.0.1:9/nothing-listens",
        partner_id=actor.id,
        allow_loopback_http=True,
    )
    assert response.status_code == 200
    await _refer(referrals, actor)
    clock = Clock()
    assert await _deliver(referrals, clock) == 1
    clock.at += POLICY.give_up_after
    assert await _deliver(referrals, clock) == 1
    [log] = await _log(referrals, actor)
    assert log["status"] == "failed" and log["give_up_reason"] == "DEADLINE_PASSED"
    assert [a["status_code"] for a in log["attempts"]] == [None, None]
    assert all(a["error"].startswith("ConnectError") for a in log["attempts"])


async def test_after_a_rotation_messages_verify_with_the_old_secret_and_the_new_one(
    referrals: Programme,
) -> None:
    async with receiving() as receiver:
        actor = await _hooked_partner(referrals, receiver)
        old = receiver.secrets[0]
        rotated = await referrals.ok(
            "POST", "/internal/partner/webhook/rotate", actor=actor, json={}
        )
        new = rotated["secret"]
        assert new != old and new.startswith("whsec_")
        assert rotated["previous_secret_valid_until"] is not None
        await _refer(referrals, actor)
        await _deliver(referrals, Clock())
        [message] = receiver.received
        assert message.signatures == 2
        for secret in (old, new):
            Webhook(secret).verify(message.body, message.headers)
    missing = await referrals.call(
        "POST", "/internal/partner/webhook/rotate", actor=partner(), json={}
    )
    assert (missing.status_code, missing.json()["code"]) == (404, "NO_WEBHOOK")


async def test_two_replicas_sending_at_once_send_each_delivery_once(
    referrals: Programme, referrals_database_url: str
) -> None:
    other = create_engine(referrals_database_url, pool_size=2, application_name="replica")
    try:
        async with receiving() as receiver:
            actor = await _hooked_partner(referrals, receiver)
            for n in range(6):
                await _refer(referrals, actor, reference=f"r-{n}")
            clock = Clock()
            sent = await asyncio.gather(
                _deliver(referrals, clock), _deliver(referrals, clock, other)
            )
            assert sum(sent) == 6
            assert sorted(r.message_id for r in receiver.received) == sorted(
                {r.message_id for r in receiver.received}
            )
            assert len(receiver.received) == 6
    finally:
        await other.dispose()


async def test_a_partner_reads_only_its_own_delivery_log(referrals: Programme) -> None:
    async with receiving() as receiver:
        actor = await _hooked_partner(referrals, receiver)
        await _refer(referrals, actor)
        stranger = partner()
        assert await _log(referrals, stranger) == []
        naming = await referrals.call(
            "GET",
            "/internal/partner/webhook/deliveries",
            actor=stranger,
            params={"partner_id": actor.id},
        )
        assert (naming.status_code, naming.json()["code"]) == (403, "PARTNER_ONLY")
        by_admin = await referrals.ok(
            "GET",
            "/internal/partner/webhook/deliveries",
            actor=ADMIN,
            params={"partner_id": actor.id},
        )
        assert len(by_admin) == 1
        await _deliver(referrals, Clock())  # leave nothing due for the other tests
