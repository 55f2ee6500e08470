# strawberry's field decorators with arguments are typed as returning Any:
# mypy: disable-error-code="untyped-decorator"
"""The member's identifiers and contact preferences, as the member reads them."""

from __future__ import annotations

import datetime as dt

import strawberry

from graphql_schema.types import Channel, IdentifierKind
from services.identity import contract as ic


@strawberry.type
class Identifier:
    kind: IdentifierKind
    value: str
    linked_at: dt.datetime
    verified: bool

    @classmethod
    def of(cls, i: ic.Identifier) -> Identifier:
        return cls(kind=i.kind, value=i.value, linked_at=i.linked_at, verified=i.verified)


@strawberry.type
class Consent:
    channel: Channel
    granted: bool
    at: dt.datetime
    source: str


@strawberry.type
class QuietHours:
    start: dt.time
    end: dt.time
    timezone: str


@strawberry.type
class ContactPreferences:
    consents: list[Consent]
    invitation_cap_per_30_days: int
    quiet_hours: QuietHours | None
    interests: list[str]

    @classmethod
    def of(cls, p: ic.Preferences) -> ContactPreferences:
        quiet = p.quiet_hours
        return cls(
            consents=[
                Consent(channel=c.channel, granted=c.granted, at=c.at, source=c.source)
                for c in p.consents
            ],
            invitation_cap_per_30_days=p.invitation_cap_per_30_days,
            quiet_hours=QuietHours(start=quiet.start, end=quiet.end, timezone=quiet.timezone)
            if quiet
            else None,
            interests=list(p.interests),
        )
