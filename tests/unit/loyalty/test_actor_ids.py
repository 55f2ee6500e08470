"""The actor's headers are the gateway's word, but one that names a partner or a venue by
something other than a UUID is refused as acting for nobody (403), not read as a UUID inside a
use case (which ended in INTERNAL_ERROR)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from services.common.actor import Actor, ActorKind
from services.common.problems import Forbidden
from services.loyalty.contract import Locale
from services.loyalty.experiences.door import door_of
from services.loyalty.experiences.views import venues_of
from services.loyalty.referrals.contract import RegisterReferral
from services.loyalty.referrals.reading import partner_referrals
from services.loyalty.referrals.use_cases import register_referral
from services.loyalty.referrals.webhooks import _partner_of
from services.loyalty.rulebook.book import RuleBook

VENUE = uuid.UUID(int=7)
PARTNER = uuid.UUID(int=9)


def refused(call: Any) -> tuple[str, str]:
    with pytest.raises(Forbidden) as refusal:
        call()
    return refusal.value.code, refusal.value.message


def test_an_actor_id_or_venue_that_is_not_a_uuid_names_nobody() -> None:
    actor = Actor.from_headers(
        {"x-actor-kind": "staff", "x-actor-id": "0", "x-actor-venues": f"0,{VENUE},x"}
    )
    assert actor.uuid() is None
    assert actor.venue_uuids() == frozenset({VENUE})
    assert Actor(ActorKind.PARTNER, str(PARTNER)).uuid() == PARTNER
    assert Actor(ActorKind.ANONYMOUS).uuid() is None


def test_staff_whose_venue_is_not_a_uuid_read_no_experience_and_open_no_door() -> None:
    staff = Actor(ActorKind.STAFF, "s-1", frozenset({"0"}))
    assert venues_of(staff) == set()
    assert refused(lambda: door_of(None, RuleBook(), staff, None, Locale.EN)) == (  # type: ignore[arg-type]
        "WRONG_VENUE",
        "you do not work for that venue",
    )
    assert venues_of(Actor(ActorKind.STAFF, "s-1", frozenset({"0", str(VENUE)}))) == {VENUE}


async def test_a_partner_whose_id_is_not_a_uuid_is_no_partner() -> None:
    odd = Actor(ActorKind.PARTNER, "p-1")
    body = RegisterReferral.model_validate(
        {"code": "K7QM-4XRF", "reference": "r-1", "referee": {"email_hash": "a" * 64}}
    )
    with pytest.raises(Forbidden) as registering:
        await register_referral(None, RuleBook(), odd, body)  # type: ignore[arg-type]
    assert (registering.value.code, registering.value.message) == (
        "PARTNER_ONLY",
        "partners register referrals",
    )
    with pytest.raises(Forbidden) as reading:
        await partner_referrals(None, odd, first=10, after=None)  # type: ignore[arg-type]
    assert (reading.value.code, reading.value.message) == (
        "PARTNER_ONLY",
        "partners read their own referrals",
    )
    assert refused(lambda: _partner_of(odd, None)) == (
        "PARTNER_ONLY",
        "partners and admins only",
    )
    assert _partner_of(Actor(ActorKind.PARTNER, str(PARTNER)), PARTNER) == PARTNER
