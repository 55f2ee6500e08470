"""A partner's scope as it travels with its calls, and loyalty's own check of it: the header
read back exactly, anything unreadable read as a scope that allows nothing, and every refusal
with its code and words."""

from __future__ import annotations

import uuid

import pytest

from services.common.actor import NOTHING, Actor, ActorKind, PartnerScope
from services.common.problems import Forbidden
from services.loyalty.partner_scope import check_earn, check_referrals

VENUE, OTHER = uuid.UUID(int=1), uuid.UUID(int=2)
SCOPE = PartnerScope(frozenset({"purchase", "attendance"}), frozenset({str(VENUE)}), True)


def partner(scope: PartnerScope | None) -> Actor:
    return Actor(ActorKind.PARTNER, "p-1", scope=scope)


def test_a_scope_is_sent_as_compact_sorted_json_and_read_back_equal() -> None:
    header = SCOPE.header()
    assert header == (
        '{"triggers":["attendance","purchase"],'
        f'"venue_ids":["{VENUE}"],"register_referrals":true}}'
    )
    assert PartnerScope.from_header(header) == SCOPE
    anywhere = PartnerScope(frozenset({"purchase"}), None, False)
    assert anywhere.header() == (
        '{"triggers":["purchase"],"venue_ids":null,"register_referrals":false}'
    )
    assert PartnerScope.from_header(anywhere.header()) == anywhere


def test_the_actor_carries_its_scope_in_its_headers_and_only_when_it_has_one() -> None:
    headers = partner(SCOPE).headers()
    assert headers == {
        "x-actor-kind": "partner",
        "x-actor-id": "p-1",
        "x-actor-scope": SCOPE.header(),
    }
    assert Actor.from_headers(headers) == partner(SCOPE)
    assert "x-actor-scope" not in partner(None).headers()
    assert Actor.from_headers({"x-actor-kind": "partner", "x-actor-id": "p-1"}).scope is None


@pytest.mark.parametrize(
    "raw",
    [
        "not json",
        "[]",
        "{}",
        '{"triggers": "purchase", "venue_ids": null, "register_referrals": true}',
        '{"triggers": ["purchase"], "venue_ids": "v", "register_referrals": true}',
        '{"triggers": ["purchase"], "venue_ids": null, "register_referrals": "yes"}',
        '{"triggers": ["purchase"], "venue_ids": null}',
        '{"venue_ids": null, "register_referrals": true}',
        '{"triggers": ["purchase"], "register_referrals": true}',
    ],
)
def test_a_scope_that_cannot_be_read_allows_nothing(raw: str) -> None:
    assert PartnerScope.from_header(raw) == NOTHING
    assert PartnerScope(frozenset(), frozenset(), False) == NOTHING


def test_a_scope_allows_its_triggers_and_venues_and_none_means_any_venue() -> None:
    assert SCOPE.allows_trigger("purchase") and SCOPE.allows_trigger("attendance")
    assert not SCOPE.allows_trigger("birthday")
    assert SCOPE.allows_venue(str(VENUE))
    assert not SCOPE.allows_venue(str(OTHER)) and not SCOPE.allows_venue(None)
    anywhere = PartnerScope(frozenset({"purchase"}), None)
    assert anywhere.allows_venue(None) and anywhere.allows_venue(str(OTHER))
    assert not NOTHING.allows_venue(None) and not NOTHING.allows_trigger("purchase")


def _refusal(call: object) -> tuple[str, str, int]:
    with pytest.raises(Forbidden) as refused:
        call()  # type: ignore[operator]
    return refused.value.code, refused.value.message, refused.value.status


def test_loyalty_refuses_a_partners_earn_outside_its_scope_with_the_gateways_codes() -> None:
    assert check_earn(partner(SCOPE), "purchase", VENUE) is None
    assert _refusal(lambda: check_earn(partner(SCOPE), "birthday", VENUE)) == (
        "TRIGGER_NOT_ALLOWED",
        "this API key may not record birthday events",
        403,
    )
    assert _refusal(lambda: check_earn(partner(SCOPE), "purchase", OTHER)) == (
        "VENUE_NOT_ALLOWED",
        "this API key may not record events at that venue",
        403,
    )
    assert _refusal(lambda: check_earn(partner(SCOPE), "purchase", None))[0] == "VENUE_NOT_ALLOWED"
    assert _refusal(lambda: check_earn(partner(None), "purchase", VENUE)) == (
        "TRIGGER_NOT_ALLOWED",
        "this API key may not record purchase events",
        403,
    )
    anywhere = partner(PartnerScope(frozenset({"purchase"}), None))
    assert check_earn(anywhere, "purchase", None) is None


def test_loyalty_refuses_referrals_from_a_key_that_may_not_register_them() -> None:
    assert check_referrals(partner(SCOPE)) is None
    for scope in (None, NOTHING, PartnerScope(frozenset({"purchase"}), None, False)):
        assert _refusal(lambda s=scope: check_referrals(partner(s))) == (
            "REFERRALS_NOT_ALLOWED",
            "this API key may not register referrals",
            403,
        )


@pytest.mark.parametrize("kind", [ActorKind.STAFF, ActorKind.ADMIN, ActorKind.SYSTEM])
def test_callers_who_are_not_partners_are_not_limited_by_a_scope(kind: ActorKind) -> None:
    actor = Actor(kind, "someone")
    assert check_earn(actor, "birthday", None) is None
    assert check_referrals(actor) is None
