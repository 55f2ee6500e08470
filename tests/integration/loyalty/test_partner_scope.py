"""A partner's API key's scope, checked by loyalty itself: its internal API, called directly as
the gateway calls it, refuses what the key may not do with the gateway's codes, and writes
nothing. A partner's call without a scope, or with one that cannot be read, may do nothing."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from services.common.actor import Actor, ActorKind, PartnerScope
from tests.integration.loyalty.conftest import OTHER_VENUE, VENUE, ticket
from tests.integration.loyalty.referrals_support import (
    Person,
    Programme,
    referrals,
    referrals_database_url,
)

__all__ = ["referrals", "referrals_database_url"]

PURCHASES_AT_VENUE = PartnerScope(frozenset({"purchase"}), frozenset({str(VENUE)}))
NO_REFERRALS = PartnerScope(frozenset({"purchase"}), None, register_referrals=False)
REFERRALS = PartnerScope(frozenset(), frozenset(), register_referrals=True)


def _partner(scope: PartnerScope | None) -> Actor:
    return Actor(ActorKind.PARTNER, str(uuid.uuid4()), scope=scope)


def _refusal(response: httpx.Response) -> tuple[int, str, str]:
    body = response.json()
    return response.status_code, body["code"], body["message"]


async def _entries(loyalty: Any, member: uuid.UUID) -> int:
    return int(
        await loyalty.scalar(
            "SELECT count(*) FROM loyalty.journal_entries WHERE member_id = CAST(:m AS uuid)",
            m=str(member),
        )
    )


@pytest.mark.parametrize(
    ("event", "code", "message"),
    [
        (
            {"trigger": "attendance", "venue_id": str(VENUE)},
            "TRIGGER_NOT_ALLOWED",
            "this API key may not record attendance events",
        ),
        (
            {"trigger": "birthday", "venue_id": str(VENUE)},
            "TRIGGER_NOT_ALLOWED",
            "this API key may not record birthday events",
        ),
        (
            {**ticket("10", venue=OTHER_VENUE)},
            "VENUE_NOT_ALLOWED",
            "this API key may not record events at that venue",
        ),
        (
            {**ticket("10"), "venue_id": None},
            "VENUE_NOT_ALLOWED",
            "this API key may not record events at that venue",
        ),
    ],
)
async def test_loyalty_refuses_a_partners_earn_outside_its_keys_scope_and_writes_nothing(
    loyalty: Any, event: dict[str, Any], code: str, message: str
) -> None:
    member = uuid.uuid4()
    body = {**ticket("10"), **event}
    if body["trigger"] != "purchase":
        body = {k: v for k, v in body.items() if k not in ("amount", "currency", "category")}
    refused = await loyalty.earn(member, body, actor=_partner(PURCHASES_AT_VENUE))
    assert _refusal(refused) == (403, code, message)
    assert await _entries(loyalty, member) == 0


async def test_a_partners_earn_within_its_scope_is_recorded(loyalty: Any) -> None:
    member = uuid.uuid4()
    partner = _partner(PURCHASES_AT_VENUE)
    recorded = await loyalty.earn(member, ticket("10"), actor=partner)
    assert recorded.status_code == 201, recorded.text
    assert recorded.json()["entry"]["source"] == f"partner:{partner.id}"
    assert (await loyalty.account(member))["balance"] == 10


@pytest.mark.parametrize(
    "headers",
    [{}, {"x-actor-scope": "not json"}, {"x-actor-scope": '{"triggers": "purchase"}'}],
    ids=["no scope", "unreadable", "incomplete"],
)
async def test_a_partners_call_without_a_readable_scope_may_record_nothing(
    loyalty: Any, headers: dict[str, str]
) -> None:
    member = uuid.uuid4()
    partner = _partner(None)
    body = {"member_id": str(member), "external_id": uuid.uuid4().hex, "event": ticket("10")}
    refused = await loyalty.client.post(
        "/internal/earn",
        json=body,
        headers={
            "authorization": loyalty._tokens.header("loyalty"),
            **partner.headers(),
            **headers,
        },
    )
    assert _refusal(refused) == (
        403,
        "TRIGGER_NOT_ALLOWED",
        "this API key may not record purchase events",
    )
    assert await _entries(loyalty, member) == 0


async def test_loyalty_refuses_a_referral_from_a_key_that_may_not_register_them(
    referrals: Programme,
) -> None:
    referrer, friend = Person.new(), Person.new()
    await referrals.joins(referrer)
    code = await referrals.code(referrer.id)
    for scope in (NO_REFERRALS, None):
        refused = await referrals.register(_partner(scope), code, friend.referee())
        assert _refusal(refused) == (
            403,
            "REFERRALS_NOT_ALLOWED",
            "this API key may not register referrals",
        )
    assert (
        await referrals.scalar(
            "SELECT count(*) FROM loyalty.referrals WHERE referee_email_hash = :h", h=friend.email
        )
        == 0
    )
    assert (
        await referrals.scalar(
            "SELECT count(*) FROM loyalty.referral_rejections WHERE referrer_id = CAST(:r AS uuid)",
            r=str(referrer.id),
        )
        == 0
    )

    allowed = await referrals.register(_partner(REFERRALS), code, friend.referee())
    assert allowed.status_code == 201, allowed.text
    assert allowed.json()["referral"]["status"] == "pending"


@pytest.mark.parametrize(
    ("narrowed", "code", "message"),
    [
        (
            PartnerScope(frozenset({"attendance"}), None),
            "TRIGGER_NOT_ALLOWED",
            "this API key may not record purchase events",
        ),
        (
            PartnerScope(frozenset({"purchase"}), frozenset({str(OTHER_VENUE)})),
            "VENUE_NOT_ALLOWED",
            "this API key may not record events at that venue",
        ),
        (None, "TRIGGER_NOT_ALLOWED", "this API key may not record purchase events"),
    ],
    ids=["other trigger", "other venue", "no scope"],
)
async def test_a_partners_key_reverses_only_the_earns_its_scope_may_record(
    loyalty: Any, narrowed: PartnerScope | None, code: str, message: str
) -> None:
    """The partner's own earn, taken back with a key of the same partner whose scope does not
    cover it, is refused and takes nothing back; the key that may record it reverses it."""
    member = uuid.uuid4()
    partner = _partner(PURCHASES_AT_VENUE)
    external_id = uuid.uuid4().hex
    recorded = await loyalty.earn(member, ticket("10"), external_id=external_id, actor=partner)
    assert recorded.status_code == 201, recorded.text
    reversal = {"external_id": external_id, "reason": "refunded"}

    narrow = Actor(ActorKind.PARTNER, partner.id, scope=narrowed)
    refused = await loyalty.call("POST", "/internal/reversals", actor=narrow, json=reversal)
    assert _refusal(refused) == (403, code, message)
    assert (await loyalty.account(member))["balance"] == 10
    assert await _entries(loyalty, member) == 1

    allowed = await loyalty.call("POST", "/internal/reversals", actor=partner, json=reversal)
    assert allowed.status_code == 201, allowed.text
    assert allowed.json()["points_reversed"] == 10
    assert (await loyalty.account(member))["balance"] == 0
