# strawberry's field decorators with arguments are typed as returning Any:
# mypy: disable-error-code="untyped-decorator"
"""What members and admins send: joining, identifiers, contact preferences, merges."""

from __future__ import annotations

import datetime as dt

import strawberry

from graphql_schema.types import Channel, IdentifierKind, Locale


@strawberry.input
class RegisterMemberInput:
    email: str
    password: str = strawberry.field(description="8 to 128 characters.")
    display_name: str | None = None
    locale: Locale | None = None
    phone: str | None = None
    birth_date: dt.date | None = None
    idempotency_key: str | None = strawberry.field(
        default=None, description="A retry with the same key returns the same member."
    )
    referral_code: str | None = strawberry.field(
        default=None, description="A member's code (or share link): they brought you."
    )


@strawberry.input
class LinkIdentifierInput:
    kind: IdentifierKind
    value: str


@strawberry.input
class ConsentInput:
    channel: Channel
    granted: bool


@strawberry.input
class QuietHoursInput:
    start: dt.time
    end: dt.time
    timezone: str = "Europe/Paris"


@strawberry.input(description="Only what is given changes.")
class UpdateContactPreferencesInput:
    consents: list[ConsentInput] | None = None
    invitation_cap_per_30_days: int | None = None
    quiet_hours: QuietHoursInput | None = None
    clear_quiet_hours: bool | None = None
    interests: list[str] | None = None


@strawberry.input
class MergeMembersInput:
    survivor_id: strawberry.ID
    absorbed_id: strawberry.ID
    reason: str
