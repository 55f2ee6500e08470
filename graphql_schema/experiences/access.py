"""Who manages experiences: staff for their own venues, admins for all."""

from __future__ import annotations

import uuid

from graphql_schema.auth import Principal
from graphql_schema.errors import forbidden
from services.common.actor import ActorKind

STAFF_AND_ADMINS = (ActorKind.STAFF, ActorKind.ADMIN)


def of_venue(principal: Principal, venue_id: uuid.UUID | None) -> None:
    """Staff act only for their own venues (admins for all)."""
    if (
        venue_id is not None
        and principal.kind is ActorKind.STAFF
        and str(venue_id) not in principal.venues
    ):
        raise forbidden("staff act only for their own venues")
