# strawberry's field decorators with arguments are typed as returning Any:
# mypy: disable-error-code="untyped-decorator"
"""At the door: staff check members in with the short code or the QR token of their invitation
(``redeemInvitation``), and settle the scans a door device made offline (``redeemInvitations``).

Every outcome is a member of ``RedeemInvitationResult``: checked in (with the member's name from
identity, their tier and the guests expected), already checked in (when, by whom), wrong venue,
outside the door's window, cancelled, not accepted, not found, unreadable, throttled. Only venue
staff redeem, for the venues they work for (admins do not stand at the door); whether the
invitation is for that venue the loyalty service decides, from the invitation. Each scan is
exactly one call to the service, which counts failed guesses per staff account: fifty aliased
``redeemInvitation`` in one request are fifty attempts.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

import strawberry

from graphql_schema.clients.base import ServiceProblem
from graphql_schema.common import build, graphql_id, locale_code, parse_uuid, unexpected
from graphql_schema.context import Info
from graphql_schema.errors import UserError, invalid_input
from graphql_schema.types import InvitationState, Locale, NotFound
from services.common.actor import ActorKind
from services.loyalty.experiences import contract as ec

# ---- outcomes --------------------------------------------------------------------------------


@strawberry.type(description="Checked in: let the member and their guests in.")
class CheckedIn:
    message: str
    invitation_id: strawberry.ID
    experience_id: strawberry.ID
    member_id: strawberry.ID
    tier: str | None = strawberry.field(description="The member's tier, by its key.")
    tier_name: str | None
    guests_expected: int
    checked_in_at: dt.datetime
    points: int | None = strawberry.field(description="Awarded for coming, once recorded.")

    @strawberry.field(description="The member's name, as they gave it.")
    async def member_name(self, info: Info) -> str | None:
        return await _display_name(info, self.member_id)


@strawberry.type(description="This invitation was checked in already: when, and by whom.")
class AlreadyCheckedIn(UserError):
    invitation_id: strawberry.ID
    member_id: strawberry.ID
    checked_in_at: dt.datetime
    checked_in_by: str = strawberry.field(description="The staff account, as staff:<id>.")
    checked_in_by_you: bool = strawberry.field(description="By the caller's own account.")
    guests_expected: int

    @strawberry.field(description="The member's name, as they gave it.")
    async def member_name(self, info: Info) -> str | None:
        return await _display_name(info, self.member_id)


@strawberry.type(description="The invitation is for another venue's experience.")
class WrongVenue(UserError):
    pass


@strawberry.type(description="The door is not open for this experience now.")
class OutsideWindow(UserError):
    door_opens_at: dt.datetime
    door_closes_at: dt.datetime


@strawberry.type(description="The invitation, or its experience, was cancelled.")
class InvitationCancelled(UserError):
    invitation_id: strawberry.ID


@strawberry.type(description="The invitation holds no seat (offered, waitlisted, declined...).")
class InvitationNotAccepted(UserError):
    invitation_id: strawberry.ID
    state: InvitationState


@strawberry.type(
    description="Typed input that cannot be a code (its check symbol caught a typing mistake), "
    "or a QR token whose signature or claims fail; `problem` says which."
)
class UnreadableCode(UserError):
    problem: str


@strawberry.type(description="Too many failed guesses from this staff account: wait a moment.")
class Throttled(UserError):
    retry_after_seconds: int


RedeemInvitationResult = Annotated[
    CheckedIn
    | AlreadyCheckedIn
    | WrongVenue
    | OutsideWindow
    | InvitationCancelled
    | InvitationNotAccepted
    | NotFound
    | UnreadableCode
    | Throttled,
    strawberry.union("RedeemInvitationResult"),
]


async def _display_name(info: Info, member_id: strawberry.ID) -> str | None:
    try:
        return await info.context.loaders.display_name.load(uuid.UUID(str(member_id)))
    except ServiceProblem:
        return None


def _outcome(o: Any, caller: str) -> RedeemInvitationResult:
    """A door outcome from the service, as the schema's union member."""
    if isinstance(o, ec.CheckedIn):
        return CheckedIn(
            message=o.message,
            invitation_id=graphql_id(o.invitation_id),
            experience_id=graphql_id(o.experience_id),
            member_id=graphql_id(o.member_id),
            tier=o.tier,
            tier_name=o.tier_name,
            guests_expected=o.guests_expected,
            checked_in_at=o.checked_in_at,
            points=o.points,
        )
    if isinstance(o, ec.AlreadyCheckedIn):
        return AlreadyCheckedIn(
            message=o.message,
            code="ALREADY_CHECKED_IN",
            invitation_id=graphql_id(o.invitation_id),
            member_id=graphql_id(o.member_id),
            checked_in_at=o.checked_in_at,
            checked_in_by=o.checked_in_by,
            checked_in_by_you=o.checked_in_by == caller,
            guests_expected=o.guests_expected,
        )
    if isinstance(o, ec.WrongVenue):
        return WrongVenue(message=o.message, code="WRONG_VENUE")
    if isinstance(o, ec.OutsideWindow):
        return OutsideWindow(
            message=o.message,
            code="OUTSIDE_WINDOW",
            door_opens_at=o.door_opens_at,
            door_closes_at=o.door_closes_at,
        )
    if isinstance(o, ec.Cancelled):
        return InvitationCancelled(
            message=o.message,
            code="INVITATION_CANCELLED",
            invitation_id=graphql_id(o.invitation_id),
        )
    if isinstance(o, ec.NotAccepted):
        return InvitationNotAccepted(
            message=o.message,
            code="INVITATION_NOT_ACCEPTED",
            invitation_id=graphql_id(o.invitation_id),
            state=o.state,
        )
    if isinstance(o, ec.NotFound):
        return NotFound(message=o.message, code="INVITATION_NOT_FOUND")
    if isinstance(o, ec.Unreadable):
        return UnreadableCode(message=o.message, code=o.problem, problem=o.problem)
    assert isinstance(o, ec.Throttled)
    return Throttled(message=o.message, code="THROTTLED", retry_after_seconds=o.retry_after_seconds)


@strawberry.type(description="One offline scan, settled.")
class ScanSettled:
    scan_id: str
    replayed: bool = strawberry.field(
        description="Settled by an earlier upload: its first outcome, nothing changed now."
    )
    outcome: RedeemInvitationResult


@strawberry.type(description="The offline scans, settled in the order they were sent.")
class InvitationsRedeemed:
    results: list[ScanSettled]


# ---- inputs ----------------------------------------------------------------------------------


@strawberry.input(
    description="One scan at the door: a typed `code` or a scanned QR `token` (exactly one)."
)
class RedeemInvitationInput:
    code: str | None = None
    token: str | None = None
    venue_id: strawberry.ID | None = strawberry.field(
        default=None, description="Where you stand; left out when your account has one venue."
    )
    device_id: str | None = None


@strawberry.input(description="A scan made without network.")
class OfflineScanInput:
    scan_id: str = strawberry.field(description="The device's own id: settles the scan once.")
    code: str | None = None
    token: str | None = None
    scanned_at: dt.datetime


@strawberry.input
class RedeemInvitationsInput:
    device_id: str
    venue_id: strawberry.ID | None = None
    scans: list[OfflineScanInput]


def _scan(input: RedeemInvitationInput, venue: uuid.UUID | None) -> ec.RedeemInvitation:
    if (input.code is None) == (input.token is None):
        raise invalid_input("send either a code or a token")
    return build(
        ec.RedeemInvitation,
        code=input.code,
        token=input.token,
        venue_id=venue,
        device_id=input.device_id,
    )


# ---- resolvers -------------------------------------------------------------------------------


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Staff of the venue: check a member in with the door code or the QR token. "
        "Exactly once; failed guesses are throttled per staff account and per attempt."
    )
    async def redeem_invitation(
        self, info: Info, input: RedeemInvitationInput, locale: Locale | None = None
    ) -> RedeemInvitationResult:
        principal = await info.context.require(ActorKind.STAFF)
        venue = parse_uuid(input.venue_id, "venueId") if input.venue_id is not None else None
        body = _scan(input, venue)
        try:
            redemption = await info.context.loyalty.redeem_invitation(
                principal.actor, body, locale_code(locale)
            )
        except ServiceProblem as problem:
            raise unexpected(problem) from None
        return _outcome(redemption.outcome, principal.actor.label())

    @strawberry.mutation(
        description="Staff of the venue: settle the scans a door device made offline; a scan "
        "sent again answers its first outcome and changes nothing."
    )
    async def redeem_invitations(
        self, info: Info, input: RedeemInvitationsInput, locale: Locale | None = None
    ) -> InvitationsRedeemed:
        principal = await info.context.require(ActorKind.STAFF)
        venue = parse_uuid(input.venue_id, "venueId") if input.venue_id is not None else None
        for scan in input.scans:
            if (scan.code is None) == (scan.token is None):
                raise invalid_input(f"scan {scan.scan_id}: send either a code or a token")
        body = build(
            ec.RedeemBatch,
            device_id=input.device_id,
            venue_id=venue,
            scans=[
                {
                    "scan_id": s.scan_id,
                    "code": s.code,
                    "token": s.token,
                    "scanned_at": s.scanned_at,
                }
                for s in input.scans
            ],
        )
        try:
            batch = await info.context.loyalty.redeem_batch(
                principal.actor, body, locale_code(locale)
            )
        except ServiceProblem as problem:
            raise unexpected(problem) from None
        caller = principal.actor.label()
        return InvitationsRedeemed(
            results=[
                ScanSettled(
                    scan_id=r.scan_id, replayed=r.replayed, outcome=_outcome(r.outcome, caller)
                )
                for r in batch.results
            ]
        )
