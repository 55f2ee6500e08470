"""A partner acts within the scope of its API key, checked here as well as in the gateway: the
triggers it may record, at which venues, and whether it may register referrals. The scope comes
with the caller (identity's answer for the key, forwarded by the gateway); a partner's call
without one may do nothing. Other callers are not partners and are not limited here."""

from __future__ import annotations

from uuid import UUID

from services.common.actor import NOTHING, Actor, ActorKind
from services.common.problems import Forbidden
from services.loyalty.contract import ProblemCode


def check_earn(actor: Actor, trigger: str, venue_id: UUID | None) -> None:
    """A partner records only its scope's triggers, at its scope's venues."""
    if actor.kind is not ActorKind.PARTNER:
        return
    scope = actor.scope or NOTHING
    if not scope.allows_trigger(trigger):
        raise Forbidden(
            ProblemCode.TRIGGER_NOT_ALLOWED, f"this API key may not record {trigger} events"
        )
    if not scope.allows_venue(None if venue_id is None else str(venue_id)):
        raise Forbidden(
            ProblemCode.VENUE_NOT_ALLOWED, "this API key may not record events at that venue"
        )


def check_referrals(actor: Actor) -> None:
    """A partner registers referrals only if its scope says it may."""
    if actor.kind is ActorKind.PARTNER and not (actor.scope or NOTHING).register_referrals:
        raise Forbidden(
            ProblemCode.REFERRALS_NOT_ALLOWED, "this API key may not register referrals"
        )
