"""What several areas of the schema share: the contracts' enums, the ledger's entries, tiers, texts
in both languages, and the generic ``NotFound`` outcome.

An area module imports from here (and from ``common``, ``errors``, ``context``), never from
another area, with one exception that follows the shape of the graph: ``members`` gathers the
signed-in member's view (``me``) from the areas that add a field to it.
"""

from __future__ import annotations

import datetime as dt

import strawberry

from graphql_schema.errors import UserError
from services.identity import contract as ic
from services.loyalty import contract as lc
from services.loyalty.experiences import contract as ec

# The contract's enums are the schema's: GraphQL names are the members' names (MEMBERSHIP_CARD),
# resolvers receive and return the contract's values, and the two can never drift apart.
strawberry.enum(ic.IdentifierKind, description="A touchpoint that identifies a member.")
strawberry.enum(ic.Channel, description="A way to contact a member.")
strawberry.enum(ic.Locale, description="A member's language.")
strawberry.enum(ic.Portal, description="MEMBER for members; STAFF for staff and admins.")
strawberry.enum(ic.AccountRole)
strawberry.enum(ic.MemberStatus)
strawberry.enum(lc.Trigger, description="What happened, for the rules that award points.")
strawberry.enum(lc.EntryKind, description="The kind of a ledger entry.")
strawberry.enum(ec.InvitationState, description="Where an invitation to an experience stands.")
IdentifierKind = ic.IdentifierKind
Channel = ic.Channel
Locale = ic.Locale
Portal = ic.Portal
AccountRole = ic.AccountRole
MemberStatus = ic.MemberStatus
Trigger = lc.Trigger
EntryKind = lc.EntryKind
InvitationState = ec.InvitationState


@strawberry.type(description="A text in English and in French.")
class LocalizedText:
    en: str
    fr: str


@strawberry.input(description="A text in English and in French.")
class LocalizedTextInput:
    en: str
    fr: str


@strawberry.type(description="What the input refers to does not exist (VENUE_NOT_FOUND, ...).")
class NotFound(UserError):
    pass


@strawberry.type(
    description="Outside what this partner's API key may do, as set by admins: "
    "TRIGGER_NOT_ALLOWED, VENUE_NOT_ALLOWED, REFERRALS_NOT_ALLOWED."
)
class OutOfScope(UserError):
    pass


@strawberry.type
class AwardLine:
    rule_key: str
    rule_version: int
    points: int
    reason: str
    pending_until: dt.datetime | None
    counts_for_status: bool

    @classmethod
    def of(cls, line: lc.AwardLine) -> AwardLine:
        return cls(**line.model_dump())


@strawberry.type(description="One movement of points, with who or what caused it and why.")
class LedgerEntry:
    id: strawberry.ID
    kind: EntryKind
    points: int
    occurred_at: dt.datetime
    recorded_at: dt.datetime
    source: str
    external_id: str
    actor: str
    rule_version: int | None
    reverses_entry_id: strawberry.ID | None
    summary: str
    lines: list[AwardLine]

    @classmethod
    def of(cls, e: lc.Entry) -> LedgerEntry:
        return cls(
            id=strawberry.ID(str(e.id)),
            kind=e.kind,
            points=e.points,
            occurred_at=e.occurred_at,
            recorded_at=e.recorded_at,
            source=e.source,
            external_id=e.external_id,
            actor=e.actor,
            rule_version=e.rule_version,
            reverses_entry_id=strawberry.ID(str(e.reverses_entry_id))
            if e.reverses_entry_id
            else None,
            summary=e.summary,
            lines=[AwardLine.of(line) for line in e.lines],
        )


@strawberry.type
class Tier:
    key: str
    name: str
    threshold: int
    benefits: list[str]
    description: str

    @classmethod
    def of(cls, t: lc.Tier | None) -> Tier | None:
        return None if t is None else cls(**t.model_dump())
