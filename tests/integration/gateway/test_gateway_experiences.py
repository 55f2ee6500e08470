"""Exclusive experiences through the public GraphQL API: every operation tried by a member, staff
of the venue, staff of another venue, a partner, an anonymous caller and an admin; the typed
outcomes of managing experiences, answering invitations and checking in at the door; and failed
guesses at the door throttled per attempt, however many are aliased into one request."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import jwt
import pytest
import pytest_asyncio
import sqlalchemy as sa

from services.cli import single_process_app
from services.common.settings import Settings
from services.loyalty.experiences import door_codes
from tests.conftest import service_urls

Gateway = Any  # the fixture of conftest.py: the whole platform in one process

FORBIDDEN = "FORBIDDEN"
UNAUTHENTICATED = "UNAUTHENTICATED"

EXPERIENCE_FIELDS = """
  id key venueId venueName title description titles { en fr } descriptions { en fr }
  startsAt endsAt seats seatsTaken waitlisted guestAllowance productionId productionTitle
  eligibility {
    __typename
    ... on TierAtLeastCondition { tier }
    ... on BookedProductionCondition { productionId }
    ... on AttendedProductionCondition { productionId }
    ... on AttendedAtLeastCondition { count period }
  }
  eligibilityText invitationsOpenAt invitationsCloseAt purpose interests doorOpensAt doorClosesAt
  cancelledAt cancelReason createdBy
"""
CREATE = f"""
mutation Create($i: CreateExperienceInput!, $locale: Locale) {{
  createExperience(input: $i, locale: $locale) {{
    __typename
    ... on ExperienceCreated {{ created experience {{ {EXPERIENCE_FIELDS} }} }}
    ... on ExperienceKeyTaken {{ experienceId }}
    ... on InvalidEligibility {{ errors }}
    ... on UserError {{ code message }}
  }}
}}
"""
UPDATE = f"""
mutation Update($i: UpdateExperienceInput!) {{
  updateExperience(input: $i) {{
    __typename
    ... on ExperienceUpdated {{ experience {{ {EXPERIENCE_FIELDS} }} }}
    ... on SeatsBelowTaken {{ seatsTaken }}
    ... on UserError {{ code message }}
  }}
}}
"""
CANCEL = """
mutation Cancel($i: CancelExperienceInput!) {
  cancelExperience(input: $i) {
    __typename
    ... on ExperienceCancelled { experience { id cancelledAt cancelReason } }
    ... on UserError { code message }
  }
}
"""
ONE = f"query One($id: ID!) {{ experience(id: $id) {{ {EXPERIENCE_FIELDS} }} }}"
LIST = "query List($venue: ID) { experiences(venueId: $venue) { id venueId } }"
REPORT_FIELDS = """
  id experienceId key issuedBy seed order candidates eligible issued held suppressed notReached
  suppressedByReason { reason count } suppressedByAnyReason { reason count }
  invitations { invitationId memberId position channel deliverAfter }
  spared { memberId position reasons }
"""
ISSUE = f"""
mutation Issue($i: IssueInvitationsInput!) {{
  issueInvitations(input: $i) {{
    __typename
    ... on InvitationsIssued {{ created report {{ {REPORT_FIELDS} }} }}
    ... on InvitationWindowClosed {{ opensAt }}
    ... on UserError {{ code message }}
  }}
}}
"""
INVITATION_FIELDS = """
  id state offeredAt respondBy deliverAfter whyChosen whyChosenIn { en fr }
  experience { id venueId venueName title startsAt guestAllowance cancelled }
  guests { name email phone } guestSeats waitlistPosition
  door { code token qrSvg validFrom validUntil }
  checkedInAt guestsCheckedIn rating comment
"""
INVITATIONS = f"query Mine($locale: Locale) {{ me {{ invitations(locale: $locale) {{ {INVITATION_FIELDS} }} }} }}"
RESPOND = f"""
mutation Respond($i: RespondToInvitationInput!) {{
  respondToInvitation(input: $i) {{
    __typename
    ... on InvitationAnswered {{ invitation {{ {INVITATION_FIELDS} }} }}
    ... on TooManyGuests {{ allowance }}
    ... on UserError {{ code message }}
  }}
}}
"""
RATE = """
mutation Rate($i: RateExperienceInput!) {
  rateExperience(input: $i) {
    __typename
    ... on ExperienceRated { invitationId experienceId score comment ratedAt }
    ... on UserError { code message }
  }
}
"""
OUTCOME = """
  __typename
  ... on CheckedIn {
    message invitationId experienceId memberId memberName tier tierName guestsExpected
    checkedInAt points
  }
  ... on AlreadyCheckedIn {
    invitationId memberId memberName checkedInAt checkedInBy checkedInByYou guestsExpected
  }
  ... on OutsideWindow { doorOpensAt doorClosesAt }
  ... on InvitationCancelled { invitationId }
  ... on InvitationNotAccepted { invitationId state }
  ... on UnreadableCode { problem }
  ... on Throttled { retryAfterSeconds }
  ... on UserError { code message }
"""
REDEEM = f"""
mutation Redeem($i: RedeemInvitationInput!, $locale: Locale) {{
  redeemInvitation(input: $i, locale: $locale) {{ {OUTCOME} }}
}}
"""
REDEEM_BATCH = f"""
mutation Batch($i: RedeemInvitationsInput!) {{
  redeemInvitations(input: $i) {{ results {{ scanId replayed outcome {{ {OUTCOME} }} }} }}
}}
"""
FIGURE_FIELDS = """
  invited accepted declined expired cancelled waitlisted checkedIn noShows guests
  guestsCheckedIn suppressions { reason count } ratings promoters passives detractors score
"""
STATS = f"""
query Stats($venue: ID) {{
  programmeStats {{
    experiences(venueId: $venue) {{
      venues {{ venueId venueName experiences figures {{ {FIGURE_FIELDS} }} }}
      experiences {{ experienceId venueId title figures {{ {FIGURE_FIELDS} }} }}
    }}
  }}
}}
"""
REGISTER = """
mutation Join($i: RegisterMemberInput!) {
  registerMember(input: $i) { __typename ... on MemberRegistered { member { id } } }
}
"""
PREFERENCES = """
mutation Prefs($i: UpdateContactPreferencesInput!) {
  updateContactPreferences(input: $i) { preferences { interests } }
}
"""
STAFF = """
mutation Staff($i: CreateStaffAccountInput!) {
  createStaffAccount(input: $i) { __typename ... on StaffAccountCreated { account { id } } }
}
"""
PARTNER_KEY = """
mutation Key($i: IssuePartnerApiKeyInput!) {
  issuePartnerApiKey(input: $i) { __typename ... on ApiKeyIssued { secret } }
}
"""


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _experience(venue: str, **extra: Any) -> dict[str, Any]:
    """An experience whose invitations are open and whose door is open now (it starts in 40
    minutes; the door opens two hours before)."""
    now = _now()
    tag = uuid.uuid4().hex[:10]
    return {
        "key": f"experience-{tag}",
        "venueId": venue,
        "title": {"en": "Backstage visit", "fr": "Visite des coulisses"},
        "description": {"en": "Meet the crew.", "fr": "Rencontrez l'équipe."},
        "startsAt": (now + timedelta(minutes=40)).isoformat(),
        "endsAt": (now + timedelta(hours=3)).isoformat(),
        "seats": 4,
        "guestAllowance": 1,
        "invitationsOpenAt": (now - timedelta(minutes=1)).isoformat(),
        "invitationsCloseAt": (now + timedelta(minutes=30)).isoformat(),
        "interests": [f"interest-{tag}"],
        **extra,
    }


def _codes(body: dict[str, Any]) -> list[str | None]:
    return [(e.get("extensions") or {}).get("code") for e in body.get("errors") or []]


@dataclass
class Cast:
    """Who tries each operation: tokens (or headers) for every kind of caller."""

    venue: str
    other_venue: str
    staff: str
    other_staff: str
    admin: str
    member: str
    member_id: str
    member_name: str
    partner_key: str


@dataclass
class Invited:
    """A member holding an accepted invitation: its id, door code and token."""

    member: str
    member_id: str
    name: str
    experience_id: str
    invitation_id: str
    code: str
    token: str


async def _staff_account(gateway: Any, admin: str, venue: str) -> str:
    """A new staff account of ``venue``, signed in (its own throttle of failed guesses)."""
    email = f"staff.{uuid.uuid4().hex[:10]}@example.org"
    account = {"email": email, "password": gateway.PASSWORD, "venueIds": [venue]}
    created = (await gateway.data(STAFF, {"i": account}, token=admin))["createStaffAccount"]
    assert created["__typename"] == "StaffAccountCreated", created
    return await gateway.token(email, portal="STAFF")


def _quiet_hours_far_from_now() -> dict[str, str]:
    """A member's own quiet hours, one minute twelve hours away: whatever the time the tests
    run, the programme's night-time window does not hold their invitations."""
    start = (_now() + timedelta(hours=12)).replace(second=0, microsecond=0)
    end = start + timedelta(minutes=1)
    return {"start": start.time().isoformat(), "end": end.time().isoformat(), "timezone": "UTC"}


async def _member(gateway: Any, name: str, interest: str, locale: str = "EN") -> tuple[str, str]:
    """A new member interested in ``interest``, consenting to email: (token, id)."""
    email = f"member.{uuid.uuid4().hex[:10]}@example.org"
    joined = await gateway.data(
        REGISTER,
        {
            "i": {
                "email": email,
                "password": gateway.PASSWORD,
                "displayName": name,
                "locale": locale,
            }
        },
    )
    member_id = joined["registerMember"]["member"]["id"]
    token = await gateway.token(email)
    prefs = {
        "consents": [{"channel": "EMAIL", "granted": True}],
        "interests": [interest],
        "quietHours": _quiet_hours_far_from_now(),
    }
    await gateway.data(PREFERENCES, {"i": prefs}, token=token)
    await gateway.settle()
    return token, member_id


async def _create(gateway: Any, token: str, fields: dict[str, Any]) -> dict[str, Any]:
    result = (await gateway.data(CREATE, {"i": fields}, token=token))["createExperience"]
    assert result["__typename"] == "ExperienceCreated", result
    experience: dict[str, Any] = result["experience"]
    return experience


async def _issue(gateway: Any, token: str, experience_id: str) -> dict[str, Any]:
    variables = {"i": {"experienceId": experience_id, "key": uuid.uuid4().hex}}
    result = (await gateway.data(ISSUE, variables, token=token))["issueInvitations"]
    assert result["__typename"] == "InvitationsIssued", result
    report: dict[str, Any] = result["report"]
    return report


async def _invitation(gateway: Any, member: str, experience_id: str) -> dict[str, Any]:
    mine = (await gateway.data(INVITATIONS, token=member))["me"]["invitations"]
    [found] = [i for i in mine if i["experience"]["id"] == experience_id]
    return dict(found)


async def _answer(
    gateway: Any, member: str, invitation_id: str, answer: str, guests: list[Any] | None = None
) -> dict[str, Any]:
    variables = {"i": {"invitationId": invitation_id, "answer": answer, "guests": guests or []}}
    result: dict[str, Any] = (await gateway.data(RESPOND, variables, token=member))[
        "respondToInvitation"
    ]
    return result


async def _invited(
    gateway: Any, staff: str, venue: str, *, guests: int = 1, **extra: Any
) -> Invited:
    """A new member invited to a new experience of ``venue`` (door open now), who accepted
    with ``guests`` guests."""
    fields = _experience(venue, **extra)
    name = f"Guest of honour {uuid.uuid4().hex[:6]}"
    member, member_id = await _member(gateway, name, fields["interests"][0])
    experience = await _create(gateway, staff, fields)
    report = await _issue(gateway, staff, experience["id"])
    assert [i["memberId"] for i in report["invitations"]] == [member_id], report
    invitation = await _invitation(gateway, member, experience["id"])
    people = [{"name": f"Friend {n}"} for n in range(guests)]
    answered = await _answer(gateway, member, invitation["id"], "ACCEPT", people)
    assert answered["__typename"] == "InvitationAnswered", answered
    door = answered["invitation"]["door"]
    return Invited(
        member, member_id, name, experience["id"], invitation["id"], door["code"], door["token"]
    )


async def _redeem(
    gateway: Any, staff: str, venue: str | None, *, locale: str = "EN", **scan: Any
) -> dict[str, Any]:
    variables = {"i": {**scan, "venueId": venue}, "locale": locale}
    body = await gateway.gql(REDEEM, variables, token=staff)
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["redeemInvitation"]
    return result


@pytest_asyncio.fixture(loop_scope="session")
async def cast(gateway: Any) -> Cast:
    admin = await gateway.admin_token()
    venue = gateway.demo["staff"][0]["venueId"]
    other_venue = gateway.demo["staff"][1]["venueId"]
    partner = gateway.demo["partners"][0]["partnerId"]
    issued = await gateway.data(
        PARTNER_KEY, {"i": {"partnerId": partner, "label": uuid.uuid4().hex}}, token=admin
    )
    name = f"Member {uuid.uuid4().hex[:6]}"
    member, member_id = await _member(gateway, name, "none-of-these")
    return Cast(
        venue=venue,
        other_venue=other_venue,
        staff=await _staff_account(gateway, admin, venue),
        other_staff=await _staff_account(gateway, admin, other_venue),
        admin=admin,
        member=member,
        member_id=member_id,
        member_name=name,
        partner_key=issued["issuePartnerApiKey"]["secret"],
    )


def _as(cast: Cast, who: str) -> dict[str, Any]:
    """The keyword arguments that make a request as ``who``."""
    if who == "anonymous":
        return {}
    if who == "partner":
        return {"headers": {"x-api-key": cast.partner_key}}
    return {"token": getattr(cast, who)}


# ---- managing experiences: who may ---------------------------------------------------------

MANAGERS = ("staff", "admin")
REFUSED = {
    "member": FORBIDDEN,
    "other_staff": FORBIDDEN,
    "partner": FORBIDDEN,
    "anonymous": UNAUTHENTICATED,
}


@pytest.mark.parametrize("who", [*MANAGERS, *REFUSED])
async def test_only_staff_of_the_venue_and_admins_create_an_experience(
    gateway: Any, cast: Cast, who: str
) -> None:
    fields = _experience(cast.venue)
    body = await gateway.gql(CREATE, {"i": fields}, **_as(cast, who))
    if who in MANAGERS:
        result = body["data"]["createExperience"]
        assert result["__typename"] == "ExperienceCreated" and result["created"] is True
        assert result["experience"]["key"] == fields["key"]
        assert result["experience"]["venueId"] == cast.venue
        assert result["experience"]["venueName"] == "Théâtre du Rivage"
    else:
        assert body["data"] is None and _codes(body) == [REFUSED[who]]
    async with gateway.engine.connect() as conn:
        kept = await conn.scalar(
            sa.text("SELECT count(*) FROM loyalty.experiences WHERE key = :k"), {"k": fields["key"]}
        )
    assert kept == (1 if who in MANAGERS else 0)


@pytest.mark.parametrize("who", [*MANAGERS, *REFUSED])
async def test_only_staff_of_the_venue_and_admins_change_an_experience(
    gateway: Gateway, cast: Cast, who: str
) -> None:
    experience = await _create(gateway, cast.admin, _experience(cast.venue))
    change = {"experienceId": experience["id"], "seats": 6, "productionTitle": "Hamlet"}
    body = await gateway.gql(UPDATE, {"i": change}, **_as(cast, who))
    if who in MANAGERS:
        updated = body["data"]["updateExperience"]["experience"]
        assert updated == {**experience, "seats": 6, "productionTitle": "Hamlet"}
    else:
        assert body["data"] is None and _codes(body) == [REFUSED[who]]
        again = (await gateway.data(ONE, {"id": experience["id"]}, token=cast.admin))["experience"]
        assert again == experience


@pytest.mark.parametrize("who", [*MANAGERS, *REFUSED])
async def test_only_staff_of_the_venue_and_admins_cancel_an_experience(
    gateway: Gateway, cast: Cast, who: str
) -> None:
    experience = await _create(gateway, cast.admin, _experience(cast.venue))
    cancel = {"experienceId": experience["id"], "reason": "the artist is ill"}
    body = await gateway.gql(CANCEL, {"i": cancel}, **_as(cast, who))
    again = (await gateway.data(ONE, {"id": experience["id"]}, token=cast.admin))["experience"]
    if who in MANAGERS:
        cancelled = body["data"]["cancelExperience"]
        assert cancelled == {
            "__typename": "ExperienceCancelled",
            "experience": {
                "id": experience["id"],
                "cancelledAt": again["cancelledAt"],
                "cancelReason": "the artist is ill",
            },
        }
        assert again["cancelledAt"] is not None
    else:
        assert body["data"] is None and _codes(body) == [REFUSED[who]]
        assert again == experience


@pytest.mark.parametrize("who", [*MANAGERS, *REFUSED])
async def test_only_staff_of_the_venue_and_admins_read_an_experience(
    gateway: Gateway, cast: Cast, who: str
) -> None:
    experience = await _create(gateway, cast.staff, _experience(cast.venue))
    body = await gateway.gql(ONE, {"id": experience["id"]}, **_as(cast, who))
    if who in MANAGERS:
        assert body == {"data": {"experience": experience}}
    else:
        assert body["data"] == {"experience": None} and _codes(body) == [REFUSED[who]]


async def test_an_experience_that_does_not_exist_reads_as_null(
    gateway: Gateway, cast: Cast
) -> None:
    body = await gateway.gql(ONE, {"id": str(uuid.uuid4())}, token=cast.admin)
    assert body == {"data": {"experience": None}}


@pytest.mark.parametrize(
    ("who", "venue", "sees"),
    [
        ("staff", None, True),
        ("staff", "venue", True),
        ("admin", None, True),
        ("admin", "venue", True),
        ("other_staff", None, False),
        ("other_staff", "other_venue", False),
    ],
)
async def test_staff_list_their_venues_experiences_and_admins_every_venues(
    gateway: Gateway, cast: Cast, who: str, venue: str | None, sees: bool
) -> None:
    experience = await _create(gateway, cast.staff, _experience(cast.venue))
    asked = getattr(cast, venue) if venue else None
    listed = (await gateway.data(LIST, {"venue": asked}, **_as(cast, who)))["experiences"]
    assert ({"id": experience["id"], "venueId": cast.venue} in listed) is sees
    if who == "staff":
        assert {e["venueId"] for e in listed} == {cast.venue}
    if who == "other_staff":
        assert {e["venueId"] for e in listed} <= {cast.other_venue}


@pytest.mark.parametrize(
    ("who", "code"),
    [
        ("other_staff", FORBIDDEN),
        ("member", FORBIDDEN),
        ("partner", FORBIDDEN),
        ("anonymous", UNAUTHENTICATED),
    ],
)
async def test_listing_another_venues_experiences_is_refused(
    gateway: Gateway, cast: Cast, who: str, code: str
) -> None:
    body = await gateway.gql(LIST, {"venue": cast.venue}, **_as(cast, who))
    assert body["data"] is None and _codes(body) == [code]


@pytest.mark.parametrize("who", [*MANAGERS, *REFUSED])
async def test_only_staff_of_the_venue_and_admins_issue_invitations(
    gateway: Gateway, cast: Cast, who: str
) -> None:
    fields = _experience(cast.venue)
    _, member_id = await _member(gateway, "Invitee", fields["interests"][0])
    experience = await _create(gateway, cast.admin, fields)
    variables = {"i": {"experienceId": experience["id"], "key": "first"}}
    body = await gateway.gql(ISSUE, variables, **_as(cast, who))
    if who in MANAGERS:
        report = body["data"]["issueInvitations"]["report"]
        assert [i["memberId"] for i in report["invitations"]] == [member_id]
    else:
        assert body["data"] is None and _codes(body) == [REFUSED[who]]
        async with gateway.engine.connect() as conn:
            issued = await conn.scalar(
                sa.text("SELECT count(*) FROM loyalty.invitations WHERE experience_id = :e"),
                {"e": experience["id"]},
            )
        assert issued == 0


# ---- the member's side: who may ----------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "code"),
    [
        ("staff", FORBIDDEN),
        ("admin", FORBIDDEN),
        ("partner", FORBIDDEN),
        ("anonymous", UNAUTHENTICATED),
    ],
)
async def test_only_a_member_reads_their_invitations(
    gateway: Gateway, cast: Cast, who: str, code: str
) -> None:
    body = await gateway.gql(INVITATIONS, **_as(cast, who))
    assert body["data"] is None and _codes(body) == [code]


@pytest.mark.parametrize(
    ("who", "code"),
    [
        ("member", None),  # another member: the invitation is not theirs to see
        ("staff", FORBIDDEN),
        ("other_staff", FORBIDDEN),
        ("admin", FORBIDDEN),
        ("partner", FORBIDDEN),
        ("anonymous", UNAUTHENTICATED),
    ],
)
async def test_only_the_invited_member_answers_an_invitation(
    gateway: Gateway, cast: Cast, who: str, code: str | None
) -> None:
    fields = _experience(cast.venue)
    member, _ = await _member(gateway, "Invitee", fields["interests"][0])
    experience = await _create(gateway, cast.staff, fields)
    await _issue(gateway, cast.staff, experience["id"])
    invitation = await _invitation(gateway, member, experience["id"])
    variables = {"i": {"invitationId": invitation["id"], "answer": "ACCEPT"}}
    body = await gateway.gql(RESPOND, variables, **_as(cast, who))
    if code is None:
        assert body["data"]["respondToInvitation"] == {
            "__typename": "NotFound",
            "code": "INVITATION_NOT_FOUND",
            "message": "no such invitation",
        }
    else:
        assert body["data"] is None and _codes(body) == [code]
    assert (await _invitation(gateway, member, experience["id"]))["state"] == "OFFERED"


@pytest.mark.parametrize(
    ("who", "code"),
    [
        ("member", None),
        ("staff", FORBIDDEN),
        ("admin", FORBIDDEN),
        ("partner", FORBIDDEN),
        ("anonymous", UNAUTHENTICATED),
    ],
)
async def test_only_the_member_who_came_rates_the_evening(
    gateway: Gateway, cast: Cast, who: str, code: str | None
) -> None:
    invited = await _invited(gateway, cast.staff, cast.venue)
    checked = await _redeem(gateway, cast.staff, cast.venue, code=invited.code)
    assert checked["__typename"] == "CheckedIn"
    variables = {"i": {"invitationId": invited.invitation_id, "score": 9}}
    body = await gateway.gql(RATE, variables, **_as(cast, who))
    if code is None:
        assert body["data"]["rateExperience"]["code"] == "INVITATION_NOT_FOUND"
    else:
        assert body["data"] is None and _codes(body) == [code]
    mine = await _invitation(gateway, invited.member, invited.experience_id)
    assert mine["rating"] is None


# ---- the door: who may ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "venue", "code"),
    [
        ("other_staff", "venue", FORBIDDEN),  # naming a venue they do not work for
        ("admin", "venue", FORBIDDEN),  # admins do not stand at the door
        ("member", "venue", FORBIDDEN),
        ("partner", "venue", FORBIDDEN),
        ("anonymous", "venue", UNAUTHENTICATED),
    ],
)
async def test_only_venue_staff_redeem_at_the_door(
    gateway: Gateway, cast: Cast, who: str, venue: str, code: str
) -> None:
    invited = await _invited(gateway, cast.staff, cast.venue)
    for scan in ({"code": invited.code}, {"token": invited.token}):
        variables = {"i": {**scan, "venueId": getattr(cast, venue)}}
        body = await gateway.gql(REDEEM, variables, **_as(cast, who))
        assert body["data"] is None and _codes(body) == [code]
        batch = {
            "i": {
                "deviceId": "door-1",
                "venueId": getattr(cast, venue),
                "scans": [{"scanId": "1", **scan, "scannedAt": _now().isoformat()}],
            }
        }
        body = await gateway.gql(REDEEM_BATCH, batch, **_as(cast, who))
        assert body["data"] is None and _codes(body) == [code]
    mine = await _invitation(gateway, invited.member, invited.experience_id)
    assert (mine["state"], mine["checkedInAt"]) == ("ACCEPTED", None)
    checked = await _redeem(gateway, cast.staff, cast.venue, code=invited.code)
    assert checked["__typename"] == "CheckedIn"


async def test_staff_of_another_venue_learn_only_that_the_invitation_is_not_for_their_door(
    gateway: Gateway, cast: Cast
) -> None:
    invited = await _invited(gateway, cast.staff, cast.venue)
    for scan in ({"code": invited.code}, {"token": invited.token}):
        outcome = await _redeem(gateway, cast.other_staff, cast.other_venue, **scan)
        assert outcome == {
            "__typename": "WrongVenue",
            "code": "WRONG_VENUE",
            "message": "This invitation is for another venue.",
        }
    mine = await _invitation(gateway, invited.member, invited.experience_id)
    assert (mine["state"], mine["checkedInAt"]) == ("ACCEPTED", None)


# ---- the door: outcomes --------------------------------------------------------------------


def _staff_label(token: str) -> str:
    return f"staff:{jwt.decode(token, options={'verify_signature': False})['sub']}"


def _local(at: str) -> str:
    """``19:05``: an instant as the door says it, in the programme's time zone."""
    return datetime.fromisoformat(at).astimezone(ZoneInfo("Europe/Paris")).strftime("%H:%M")


def _typo(code: str) -> str:
    """The code with one symbol mistyped (its check symbol catches it)."""
    plain = code.replace("-", "")
    other = next(s for s in door_codes.ALPHABET if s != plain[2])
    return plain[:2] + other + plain[3:]


async def _history(gateway: Gateway, member: str) -> list[dict[str, Any]]:
    query = "{ me { account { balance history(first: 5) { nodes { kind points externalId } } } } }"
    account = (await gateway.data(query, token=member))["me"]["account"]
    nodes: list[dict[str, Any]] = account["history"]["nodes"]
    assert account["balance"] == sum(n["points"] for n in nodes)
    return nodes


async def test_a_member_checked_in_at_the_door_is_named_with_their_guests_and_earns_for_coming(
    gateway: Gateway, cast: Cast
) -> None:
    invited = await _invited(gateway, cast.staff, cast.venue, guests=2, guestAllowance=2)
    outcome = await _redeem(gateway, cast.staff, cast.venue, code=invited.code.lower())
    [earned] = await _history(gateway, invited.member)
    assert earned["kind"] == "EARN" and earned["externalId"] == (
        f"experience-invitation:{invited.invitation_id}"
    )
    assert outcome == {
        "__typename": "CheckedIn",
        "message": "Welcome! Checked in, with 2 guests.",
        "invitationId": invited.invitation_id,
        "experienceId": invited.experience_id,
        "memberId": invited.member_id,
        "memberName": invited.name,
        "tier": None,
        "tierName": None,
        "guestsExpected": 2,
        "checkedInAt": outcome["checkedInAt"],
        "points": earned["points"],
    }
    assert earned["points"] > 0
    mine = await _invitation(gateway, invited.member, invited.experience_id)
    assert (mine["state"], mine["checkedInAt"], mine["guestsCheckedIn"], mine["door"]) == (
        "CHECKED_IN",
        outcome["checkedInAt"],
        2,
        None,
    )


async def test_a_code_redeemed_twice_reports_when_and_by_whom(gateway: Gateway, cast: Cast) -> None:
    invited = await _invited(gateway, cast.staff, cast.venue)
    first = await _redeem(gateway, cast.staff, cast.venue, code=invited.code)
    colleague = await _staff_account(gateway, cast.admin, cast.venue)
    seen = []
    for staff, by_you in ((cast.staff, True), (colleague, False)):
        for scan in ({"code": invited.code}, {"token": invited.token}):
            seen.append((await _redeem(gateway, staff, cast.venue, **scan), by_you))
    for again, by_you in seen:
        assert again == {
            "__typename": "AlreadyCheckedIn",
            "code": "ALREADY_CHECKED_IN",
            "message": f"Already checked in at {_local(first['checkedInAt'])}, with 1 guest.",
            "invitationId": invited.invitation_id,
            "memberId": invited.member_id,
            "memberName": invited.name,
            "checkedInAt": first["checkedInAt"],
            "checkedInBy": _staff_label(cast.staff),
            "checkedInByYou": by_you,
            "guestsExpected": 1,
        }
    assert len(await _history(gateway, invited.member)) == 1  # one attendance earn


async def test_a_pass_scanned_outside_the_doors_window_says_when_the_door_opens(
    gateway: Gateway, cast: Cast
) -> None:
    invited = await _invited(gateway, cast.staff, cast.venue, doorOpensMinutesBefore=10)
    experience = (await gateway.data(ONE, {"id": invited.experience_id}, token=cast.staff))[
        "experience"
    ]
    starts = datetime.fromisoformat(experience["startsAt"])
    opens, closes = starts - timedelta(minutes=10), starts + timedelta(minutes=60)
    assert (experience["doorOpensAt"], experience["doorClosesAt"]) == (
        opens.isoformat(),
        closes.isoformat(),
    )
    for scan in ({"code": invited.code}, {"token": invited.token}):
        outcome = await _redeem(gateway, cast.staff, cast.venue, locale="FR", **scan)
        assert outcome == {
            "__typename": "OutsideWindow",
            "code": "OUTSIDE_WINDOW",
            "message": "L'entrée de cette expérience n'est ouverte que de "
            f"{_local(opens.isoformat())} à {_local(closes.isoformat())}.",
            "doorOpensAt": opens.isoformat(),
            "doorClosesAt": closes.isoformat(),
        }


async def test_an_invitation_cancelled_by_the_member_or_with_its_experience_is_refused_at_the_door(
    gateway: Gateway, cast: Cast
) -> None:
    by_member = await _invited(gateway, cast.staff, cast.venue)
    cancelled = await _answer(gateway, by_member.member, by_member.invitation_id, "CANCEL")
    assert cancelled["invitation"]["state"] == "CANCELLED"
    with_experience = await _invited(gateway, cast.staff, cast.venue)
    cancel = {"experienceId": with_experience.experience_id, "reason": "storm warning"}
    assert (await gateway.data(CANCEL, {"i": cancel}, token=cast.staff))["cancelExperience"][
        "__typename"
    ] == "ExperienceCancelled"
    for invited in (by_member, with_experience):
        for scan in ({"code": invited.code}, {"token": invited.token}):
            outcome = await _redeem(gateway, cast.staff, cast.venue, **scan)
            assert outcome == {
                "__typename": "InvitationCancelled",
                "code": "INVITATION_CANCELLED",
                "message": "This invitation was cancelled.",
                "invitationId": invited.invitation_id,
            }


async def test_an_invitation_not_accepted_holds_no_seat_at_the_door(
    gateway: Gateway, cast: Cast
) -> None:
    fields = _experience(cast.venue)
    member, _ = await _member(gateway, "Undecided", fields["interests"][0])
    experience = await _create(gateway, cast.staff, fields)
    await _issue(gateway, cast.staff, experience["id"])
    invitation = await _invitation(gateway, member, experience["id"])
    assert invitation["door"] is None  # no pass before accepting
    async with gateway.engine.connect() as conn:
        code = await conn.scalar(
            sa.text("SELECT code FROM loyalty.invitations WHERE id = :i"), {"i": invitation["id"]}
        )
    outcome = await _redeem(gateway, cast.staff, cast.venue, code=code)
    assert outcome == {
        "__typename": "InvitationNotAccepted",
        "code": "INVITATION_NOT_ACCEPTED",
        "message": "This invitation holds no seat: it is not answered yet.",
        "invitationId": invitation["id"],
        "state": "OFFERED",
    }


async def test_unknown_and_mistyped_codes_and_forged_passes_are_told_apart(
    gateway: Gateway, cast: Cast
) -> None:
    staff = await _staff_account(gateway, cast.admin, cast.venue)
    invited = await _invited(gateway, cast.staff, cast.venue)
    unknown = await _redeem(gateway, staff, cast.venue, code=door_codes.new_code().display())
    assert unknown == {
        "__typename": "NotFound",
        "code": "INVITATION_NOT_FOUND",
        "message": "No invitation has this code.",
    }
    mistyped = await _redeem(gateway, staff, cast.venue, locale="FR", code=_typo(invited.code))
    assert mistyped == {
        "__typename": "UnreadableCode",
        "code": "CODE_CHECK_FAILED",
        "message": "Ce code comporte une faute de frappe : vérifiez chaque caractère.",
        "problem": "CODE_CHECK_FAILED",
    }
    header, claims, signature = invited.token.split(".")
    forged = f"{header}.{claims}.{signature[::-1]}"
    assert await _redeem(gateway, staff, cast.venue, token=forged) == {
        "__typename": "UnreadableCode",
        "code": "TOKEN_INVALID",
        "message": "This QR code is not a pass of the programme.",
        "problem": "TOKEN_INVALID",
    }
    mine = await _invitation(gateway, invited.member, invited.experience_id)
    assert mine["state"] == "ACCEPTED"


async def test_an_input_with_both_or_neither_a_code_and_a_token_is_refused_before_any_attempt(
    gateway: Gateway, cast: Cast
) -> None:
    invited = await _invited(gateway, cast.staff, cast.venue)
    for scan in ({}, {"code": invited.code, "token": invited.token}):
        body = await gateway.gql(REDEEM, {"i": {**scan, "venueId": cast.venue}}, token=cast.staff)
        assert body["data"] is None and body["errors"][0]["extensions"]["code"] == "INVALID_INPUT"
        assert body["errors"][0]["message"] == "send either a code or a token"
    mine = await _invitation(gateway, invited.member, invited.experience_id)
    assert mine["state"] == "ACCEPTED"


async def test_offline_scans_settle_once_and_a_batch_sent_again_changes_nothing(
    gateway: Gateway, cast: Cast
) -> None:
    invited = await _invited(gateway, cast.staff, cast.venue)
    scanned = _now() - timedelta(minutes=2)
    batch = {
        "i": {
            "deviceId": f"door-{uuid.uuid4().hex[:6]}",
            "venueId": cast.venue,
            "scans": [
                {"scanId": "a", "token": invited.token, "scannedAt": scanned.isoformat()},
                {"scanId": "b", "code": invited.code, "scannedAt": _now().isoformat()},
            ],
        }
    }
    first = (await gateway.data(REDEEM_BATCH, batch, token=cast.staff))["redeemInvitations"]
    again = (await gateway.data(REDEEM_BATCH, batch, token=cast.staff))["redeemInvitations"]
    checked, already = first["results"]
    assert checked == {
        "scanId": "a",
        "replayed": False,
        "outcome": {
            "__typename": "CheckedIn",
            "message": "Welcome! Checked in, with 1 guest.",
            "invitationId": invited.invitation_id,
            "experienceId": invited.experience_id,
            "memberId": invited.member_id,
            "memberName": invited.name,
            "tier": None,
            "tierName": None,
            "guestsExpected": 1,
            "checkedInAt": scanned.isoformat(),
            "points": checked["outcome"]["points"],
        },
    }
    assert already["scanId"] == "b" and already["replayed"] is False
    assert already["outcome"]["__typename"] == "AlreadyCheckedIn"
    assert already["outcome"]["checkedInAt"] == scanned.isoformat()
    # The replay answers what the first answer said, the attendance earn's points included.
    assert again == {"results": [{**r, "replayed": True} for r in first["results"]]}
    assert checked["outcome"]["points"] == again["results"][0]["outcome"]["points"] > 0
    assert len(await _history(gateway, invited.member)) == 1


async def test_a_scan_another_venues_device_settled_is_not_replayed_to_its_staff(
    gateway: Gateway, cast: Cast
) -> None:
    """Staff of another venue sending a device's scan id again learn nothing of the first
    answer (who came, their name): the scan is another venue's; staff of the venue still get
    the replay."""
    invited = await _invited(gateway, cast.staff, cast.venue)
    batch = {
        "i": {
            "deviceId": f"door-{uuid.uuid4().hex}",
            "scans": [{"scanId": "a", "code": invited.code, "scannedAt": _now().isoformat()}],
        }
    }
    first = (await gateway.data(REDEEM_BATCH, batch, token=cast.staff))["redeemInvitations"]
    assert first["results"][0]["outcome"]["memberName"] == invited.name
    elsewhere = (await gateway.data(REDEEM_BATCH, batch, token=cast.other_staff))[
        "redeemInvitations"
    ]
    assert elsewhere == {
        "results": [
            {
                "scanId": "a",
                "replayed": False,
                "outcome": {
                    "__typename": "WrongVenue",
                    "code": "WRONG_VENUE",
                    "message": "This invitation is for another venue.",
                },
            }
        ]
    }
    again = (await gateway.data(REDEEM_BATCH, batch, token=cast.staff))["redeemInvitations"]
    assert again["results"][0]["replayed"] is True
    assert again["results"][0]["outcome"]["memberId"] == invited.member_id


# ---- the door: failed guesses throttled per attempt ------------------------------------------


def _guesses(count: int) -> tuple[str, dict[str, Any]]:
    """One request of ``count`` aliased ``redeemInvitation``, each with a code no invitation
    has, and its variables."""
    fields = "\n".join(
        f"g{n}: redeemInvitation(input: {{code: $c{n}, venueId: $venue}}) {{ __typename "
        "... on UserError { code } ... on Throttled { retryAfterSeconds } }"
        for n in range(count)
    )
    names = "".join(f", $c{n}: String!" for n in range(count))
    variables: dict[str, Any] = {f"c{n}": door_codes.new_code().display() for n in range(count)}
    return f"mutation Guesses($venue: ID{names}) {{\n{fields}\n}}", variables


async def _scans_by(gateway: Gateway, token: str) -> int:
    staff_id = _staff_label(token).removeprefix("staff:")
    async with gateway.engine.connect() as conn:
        return int(
            await conn.scalar(
                sa.text("SELECT count(*) FROM loyalty.door_scans WHERE staff_id = :s"),
                {"s": staff_id},
            )
            or 0
        )


@pytest_asyncio.fixture(loop_scope="session")
async def wide_gateway(gateway: Gateway, gateway_database_url: str) -> AsyncIterator[Gateway]:
    """The same platform with a gateway that lets one request alias 60 fields (the default
    is 15), to show that each alias is one attempt however many there are."""
    settings = Settings(environment="test", relay_interval_seconds=60, max_aliases=60)
    app = single_process_app(
        settings, service_urls(gateway_database_url), "wide-gateway-secret-0123456789ab"
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            yield type(gateway)(client, gateway.engine, gateway.demo)


async def test_fifty_aliased_wrong_guesses_in_one_request_count_fifty_and_all_past_ten_are_throttled(
    wide_gateway: Gateway, cast: Cast
) -> None:
    staff = await _staff_account(wide_gateway, cast.admin, cast.venue)
    query, variables = _guesses(50)
    answers = await wide_gateway.data(query, {**variables, "venue": cast.venue}, token=staff)
    outcomes = [answers[f"g{n}"] for n in range(50)]
    assert outcomes[:10] == [{"__typename": "NotFound", "code": "INVITATION_NOT_FOUND"}] * 10
    assert [o["__typename"] for o in outcomes[10:]] == ["Throttled"] * 40
    assert {o["code"] for o in outcomes[10:]} == {"THROTTLED"}
    assert all(0 < o["retryAfterSeconds"] <= 600 for o in outcomes[10:])
    assert await _scans_by(wide_gateway, staff) == 50  # every attempt logged


async def test_the_tenth_failed_guess_is_answered_and_the_eleventh_throttled_even_for_a_good_code(
    gateway: Gateway, cast: Cast
) -> None:
    staff = await _staff_account(gateway, cast.admin, cast.venue)
    invited = await _invited(gateway, cast.staff, cast.venue)
    for _ in range(2):
        query, variables = _guesses(5)
        answers = await gateway.data(query, {**variables, "venue": cast.venue}, token=staff)
        assert {a["__typename"] for a in answers.values()} == {"NotFound"}
    throttled = await _redeem(gateway, staff, cast.venue, code=invited.code)
    assert throttled["__typename"] == "Throttled" and throttled["code"] == "THROTTLED"
    seconds = throttled["retryAfterSeconds"]
    assert 0 < seconds <= 600
    assert throttled["message"] == f"Too many codes not found: try again in {seconds} seconds."
    # a scanned pass is no guess: it still checks the member in
    checked = await _redeem(gateway, staff, cast.venue, token=invited.token)
    assert checked["__typename"] == "CheckedIn"


async def test_codes_that_find_an_invitation_are_not_counted_as_failed_guesses(
    gateway: Gateway, cast: Cast
) -> None:
    staff = await _staff_account(gateway, cast.admin, cast.venue)
    invited = [await _invited(gateway, cast.staff, cast.venue) for _ in range(2)]
    query, variables = _guesses(9)
    answers = await gateway.data(query, {**variables, "venue": cast.venue}, token=staff)
    assert {a["__typename"] for a in answers.values()} == {"NotFound"}
    for one in invited:
        assert (await _redeem(gateway, staff, cast.venue, code=one.code))["__typename"] == (
            "CheckedIn"
        )
    tenth = await _redeem(gateway, staff, cast.venue, code=door_codes.new_code().value)
    assert tenth["__typename"] == "NotFound"
    eleventh = await _redeem(gateway, staff, cast.venue, code=door_codes.new_code().value)
    assert eleventh["__typename"] == "Throttled"


async def test_fifty_aliases_are_refused_whole_by_the_default_limit_before_any_attempt(
    gateway: Gateway, cast: Cast
) -> None:
    staff = await _staff_account(gateway, cast.admin, cast.venue)
    query, variables = _guesses(50)
    body = await gateway.gql(query, {**variables, "venue": cast.venue}, token=staff)
    assert "data" not in body or body["data"] is None
    assert [e["extensions"] for e in body["errors"]] == [
        {"code": "QUERY_TOO_COMPLEX", "limit": "aliases"}
    ]
    assert await _scans_by(gateway, staff) == 0


# ---- managing experiences: outcomes --------------------------------------------------------


async def test_creating_an_experience_again_with_its_key_gives_it_back_and_other_content_is_refused(
    gateway: Gateway, cast: Cast
) -> None:
    fields = _experience(cast.venue, eligibility=[{"tierAtLeast": "gold"}])
    first = await _create(gateway, cast.staff, fields)
    again = (await gateway.data(CREATE, {"i": fields}, token=cast.staff))["createExperience"]
    assert again == {"__typename": "ExperienceCreated", "created": False, "experience": first}
    assert first["eligibility"] == [{"__typename": "TierAtLeastCondition", "tier": "gold"}]
    other = {**fields, "seats": 99}
    taken = (await gateway.data(CREATE, {"i": other}, token=cast.staff))["createExperience"]
    assert taken == {
        "__typename": "ExperienceKeyTaken",
        "code": "EXPERIENCE_KEY_TAKEN",
        "message": f"an experience with the key {fields['key']!r} already exists, with other "
        "content",
        "experienceId": first["id"],
    }


async def test_an_experience_out_of_order_or_for_nobody_is_refused_with_what_is_wrong(
    gateway: Gateway, cast: Cast
) -> None:
    past = _now() - timedelta(hours=1)
    late = _experience(cast.venue, startsAt=past.isoformat())
    refused = (await gateway.data(CREATE, {"i": late}, token=cast.staff))["createExperience"]
    assert refused["__typename"] == "InvalidSchedule" and refused["code"] == "INVALID_SCHEDULE"
    assert "an experience starts in the future" in refused["message"]
    nobody = _experience(
        cast.venue, eligibility=[{"tierAtLeast": "diamond"}, {"bookedProduction": {}}]
    )
    refused = (await gateway.data(CREATE, {"i": nobody}, token=cast.staff))["createExperience"]
    assert refused["__typename"] == "InvalidEligibility"
    assert refused["code"] == "INVALID_ELIGIBILITY"
    assert len(refused["errors"]) == 2 and refused["errors"][0] == (
        "conditions.0: unknown tier 'diamond'"
    )
    assert refused["message"] == "; ".join(refused["errors"])


async def test_two_conditions_in_one_eligibility_entry_are_refused_before_any_call(
    gateway: Gateway, cast: Cast
) -> None:
    fields = _experience(cast.venue, eligibility=[{"tierAtLeast": "gold", "bookedProduction": {}}])
    body = await gateway.gql(CREATE, {"i": fields}, token=cast.staff)
    assert body["data"] is None
    assert "must specify exactly one key" in body["errors"][0]["message"]


async def test_seats_never_fall_below_those_taken_and_a_cancelled_experience_no_longer_changes(
    gateway: Gateway, cast: Cast
) -> None:
    invited = await _invited(gateway, cast.staff, cast.venue)  # one seat and one guest's
    fewer = {"experienceId": invited.experience_id, "seats": 1}
    refused = (await gateway.data(UPDATE, {"i": fewer}, token=cast.staff))["updateExperience"]
    assert refused == {
        "__typename": "SeatsBelowTaken",
        "code": "SEATS_BELOW_TAKEN",
        "message": "2 seats are taken: there cannot be fewer seats",
        "seatsTaken": 2,
    }
    cancel = {"experienceId": invited.experience_id, "reason": "flooded stage"}
    first = (await gateway.data(CANCEL, {"i": cancel}, token=cast.staff))["cancelExperience"]
    for change in ({"seats": 8}, {"productionId": None}):
        variables = {"i": {"experienceId": invited.experience_id, **change}}
        closed = (await gateway.data(UPDATE, variables, token=cast.staff))["updateExperience"]
        assert closed == {
            "__typename": "ExperienceClosed",
            "code": "EXPERIENCE_CANCELLED",
            "message": "this experience was cancelled",
        }
    other_reason = {**cancel, "reason": "another reason"}
    again = (await gateway.data(CANCEL, {"i": other_reason}, token=cast.staff))["cancelExperience"]
    assert again == first  # cancelled once: when, and why, stay as they were


async def test_fields_that_cannot_be_cleared_are_refused_and_nothing_changes(
    gateway: Gateway, cast: Cast
) -> None:
    experience = await _create(gateway, cast.staff, _experience(cast.venue))
    for change, message in (
        ({"seats": None}, "seats cannot be cleared"),
        ({"title": None, "description": None}, "description, title cannot be cleared"),
        ({"title": {"en": "New", "fr": "Nouveau"}}, "title and description change together"),
    ):
        variables = {"i": {"experienceId": experience["id"], **change}}
        body = await gateway.gql(UPDATE, variables, token=cast.staff)
        assert body["data"] is None
        assert [(e["message"], e["extensions"]["code"]) for e in body["errors"]] == [
            (message, "INVALID_INPUT")
        ]
    again = (await gateway.data(ONE, {"id": experience["id"]}, token=cast.staff))["experience"]
    assert again == experience


async def test_an_update_changes_only_what_is_sent_and_clears_the_production_sent_as_null(
    gateway: Gateway, cast: Cast
) -> None:
    fields = _experience(cast.venue, productionId="hamlet-2026", productionTitle="Hamlet")
    experience = await _create(gateway, cast.staff, fields)
    change = {
        "experienceId": experience["id"],
        "productionId": None,
        "productionTitle": None,
        "title": {"en": "Open rehearsal", "fr": "Répétition ouverte"},
        "description": {"en": "Watch the work.", "fr": "Assistez au travail."},
        "eligibility": [{"attendedAtLeast": {"count": 3}}],
        "purpose": "DISCOVERY",
    }
    updated = (await gateway.data(UPDATE, {"i": change}, token=cast.staff))["updateExperience"]
    assert updated["experience"] == {
        **experience,
        "productionId": None,
        "productionTitle": None,
        "title": "Open rehearsal",
        "titles": {"en": "Open rehearsal", "fr": "Répétition ouverte"},
        "description": "Watch the work.",
        "descriptions": {"en": "Watch the work.", "fr": "Assistez au travail."},
        "eligibility": [{"__typename": "AttendedAtLeastCondition", "count": 3, "period": "SEASON"}],
        "eligibilityText": updated["experience"]["eligibilityText"],
        "purpose": "DISCOVERY",
    }
    assert updated["experience"]["eligibilityText"] != experience["eligibilityText"]


async def test_invitations_are_issued_once_per_key_and_the_report_says_who_was_spared_and_why(
    gateway: Gateway, cast: Cast
) -> None:
    fields = _experience(cast.venue)
    _, invited_id = await _member(gateway, "Invitee", fields["interests"][0])
    experience = await _create(gateway, cast.staff, fields)
    variables = {"i": {"experienceId": experience["id"], "key": "evening", "seed": "s1"}}
    first = (await gateway.data(ISSUE, variables, token=cast.staff))["issueInvitations"]
    report = first["report"]
    assert first["created"] is True
    assert (report["key"], report["seed"], report["issuedBy"]) == (
        "evening",
        "s1",
        _staff_label(cast.staff),
    )
    assert [(i["memberId"], i["channel"]) for i in report["invitations"]] == [(invited_id, "EMAIL")]
    assert (report["issued"], report["held"], report["notReached"]) == (1, 0, 0)
    spared = {s["memberId"]: s["reasons"] for s in report["spared"]}
    assert spared[cast.member_id] == ["NO_INTEREST_MATCH"]
    assert report["suppressed"] == len(report["spared"]) == report["candidates"] - 1
    by_reason = {c["reason"]: c["count"] for c in report["suppressedByReason"]}
    assert sum(by_reason.values()) == report["suppressed"]
    assert [c["reason"] for c in report["suppressedByReason"]] == [
        "NO_CONSENT",
        "ALREADY_INVITED",
        "DECLINED_BEFORE",
        "CANCELLED_BEFORE",
        "ALREADY_ATTENDED",
        "ALREADY_BOOKED",
        "NO_INTEREST_MATCH",
        "CAP_REACHED",
    ]
    again = (await gateway.data(ISSUE, variables, token=cast.staff))["issueInvitations"]
    assert again == {**first, "created": False}
    reused = {"i": {**variables["i"], "count": 2}}
    refused = (await gateway.data(ISSUE, reused, token=cast.staff))["issueInvitations"]
    assert refused["__typename"] == "IssuanceKeyReused"
    assert refused["code"] == "ISSUANCE_KEY_REUSED"
    later = (
        await gateway.data(
            f"query R($id: ID!) {{ experience(id: $id) {{ issuances {{ {REPORT_FIELDS} }} }} }}",
            {"id": experience["id"]},
            token=cast.admin,
        )
    )["experience"]["issuances"]
    assert later == [report]


async def test_invitations_are_not_issued_before_their_window_opens(
    gateway: Gateway, cast: Cast
) -> None:
    opens = _now() + timedelta(minutes=5)
    fields = _experience(cast.venue, invitationsOpenAt=opens.isoformat())
    experience = await _create(gateway, cast.staff, fields)
    variables = {"i": {"experienceId": experience["id"], "key": "early"}}
    early = (await gateway.data(ISSUE, variables, token=cast.staff))["issueInvitations"]
    assert early == {
        "__typename": "InvitationWindowClosed",
        "code": "INVITATIONS_NOT_OPEN",
        "message": early["message"],
        "opensAt": opens.isoformat(),
    }


# ---- the member's side: outcomes -----------------------------------------------------------


async def test_a_member_reads_why_they_were_chosen_in_their_language_and_their_door_pass(
    gateway: Gateway, cast: Cast
) -> None:
    fields = _experience(cast.venue)
    member, _ = await _member(gateway, "Camille", fields["interests"][0], locale="FR")
    experience = await _create(gateway, cast.staff, fields)
    await _issue(gateway, cast.staff, experience["id"])
    offered = await _invitation(gateway, member, experience["id"])
    assert offered["state"] == "OFFERED" and offered["door"] is None
    assert offered["whyChosen"] == offered["whyChosenIn"]["fr"]
    assert offered["whyChosenIn"]["en"] != offered["whyChosenIn"]["fr"]
    assert offered["experience"] == {
        "id": experience["id"],
        "venueId": cast.venue,
        "venueName": "Théâtre du Rivage",
        "title": "Visite des coulisses",
        "startsAt": experience["startsAt"],
        "guestAllowance": 1,
        "cancelled": False,
    }
    english = (await gateway.data(INVITATIONS, {"locale": "EN"}, token=member))["me"]["invitations"]
    assert english[0]["whyChosen"] == offered["whyChosenIn"]["en"]
    assert english[0]["experience"]["title"] == "Backstage visit"
    guest = {"name": "Sam", "email": "sam@example.org"}
    answered = await _answer(gateway, member, offered["id"], "ACCEPT", [guest])
    invitation = answered["invitation"]
    assert (invitation["state"], invitation["guestSeats"], invitation["guests"]) == (
        "ACCEPTED",
        1,
        [{"name": "Sam", "email": "sam@example.org", "phone": None}],
    )
    door = invitation["door"]
    assert re.fullmatch(r"[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}", door["code"])
    assert door["qrSvg"].startswith("<svg") and door["qrSvg"].rstrip().endswith("</svg>")
    assert (door["validFrom"], door["validUntil"]) == (
        experience["doorOpensAt"],
        experience["doorClosesAt"],
    )
    claims = jwt.decode(door["token"], options={"verify_signature": False})
    assert (claims["sub"], claims["venue"], claims["guests"]) == (offered["id"], cast.venue, 1)


async def test_more_guests_than_allowed_and_answers_out_of_turn_are_refused(
    gateway: Gateway, cast: Cast
) -> None:
    fields = _experience(cast.venue)
    member, _ = await _member(gateway, "Robin", fields["interests"][0])
    experience = await _create(gateway, cast.staff, fields)
    await _issue(gateway, cast.staff, experience["id"])
    offered = await _invitation(gateway, member, experience["id"])
    two = [{"name": "A"}, {"name": "B"}]
    assert await _answer(gateway, member, offered["id"], "ACCEPT", two) == {
        "__typename": "TooManyGuests",
        "code": "TOO_MANY_GUESTS",
        "message": "more guests than this experience allows",
        "allowance": 1,
    }
    declined = await _answer(gateway, member, offered["id"], "DECLINE")
    assert declined["invitation"]["state"] == "DECLINED"
    late = await _answer(gateway, member, offered["id"], "ACCEPT")
    assert late["__typename"] == "AnswerRefused" and late["code"] == "WRONG_STATE"


async def test_a_member_rates_the_evening_once_after_coming_and_the_figures_show_it_all(
    gateway: Gateway, cast: Cast
) -> None:
    invited = await _invited(gateway, cast.staff, cast.venue)
    rate = {"i": {"invitationId": invited.invitation_id, "score": 10, "comment": "Unforgettable"}}
    early = (await gateway.data(RATE, rate, token=invited.member))["rateExperience"]
    assert early["__typename"] == "RatingRefused" and early["code"] == "NOT_ATTENDED"
    await _redeem(gateway, cast.staff, cast.venue, code=invited.code)
    rated = (await gateway.data(RATE, rate, token=invited.member))["rateExperience"]
    assert rated == {
        "__typename": "ExperienceRated",
        "invitationId": invited.invitation_id,
        "experienceId": invited.experience_id,
        "score": 10,
        "comment": "Unforgettable",
        "ratedAt": rated["ratedAt"],
    }
    again = (await gateway.data(RATE, rate, token=invited.member))["rateExperience"]
    assert again["__typename"] == "RatingRefused" and again["code"] == "ALREADY_RATED"

    stats = (await gateway.data(STATS, {"venue": cast.venue}, token=cast.staff))["programmeStats"]
    [row] = [
        e for e in stats["experiences"]["experiences"] if e["experienceId"] == invited.experience_id
    ]
    report = (
        await gateway.data(
            f"query R($id: ID!) {{ experience(id: $id) {{ issuances {{ {REPORT_FIELDS} }} }} }}",
            {"id": invited.experience_id},
            token=cast.staff,
        )
    )["experience"]["issuances"][0]
    assert row == {
        "experienceId": invited.experience_id,
        "venueId": cast.venue,
        "title": "Backstage visit",
        "figures": {
            "invited": 1,
            "accepted": 1,
            "declined": 0,
            "expired": 0,
            "cancelled": 0,
            "waitlisted": 0,
            "checkedIn": 1,
            "noShows": 0,
            "guests": 1,
            "guestsCheckedIn": 1,
            "suppressions": report["suppressedByReason"],
            "ratings": 1,
            "promoters": 1,
            "passives": 0,
            "detractors": 0,
            "score": "100.0",
        },
    }


# ---- programme figures: who sees what ------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "venues"),
    [("staff", {"venue"}), ("other_staff", {"other_venue"}), ("admin", {"venue", "other_venue"})],
)
async def test_experience_figures_are_for_admins_every_venue_and_for_staff_their_own(
    gateway: Gateway, cast: Cast, who: str, venues: set[str]
) -> None:
    for venue in (cast.venue, cast.other_venue):
        await _create(gateway, cast.admin, _experience(venue))
    stats = (await gateway.data(STATS, {}, **_as(cast, who)))["programmeStats"]["experiences"]
    expected = {getattr(cast, v) for v in venues}
    assert {v["venueId"] for v in stats["venues"]} == expected
    assert {e["venueId"] for e in stats["experiences"]} == expected
    names = {v["venueId"]: v["venueName"] for v in stats["venues"]}
    assert names.get(cast.venue, "Théâtre du Rivage") == "Théâtre du Rivage"
    assert names.get(cast.other_venue, "Salle Lumière") == "Salle Lumière"


@pytest.mark.parametrize(
    ("who", "query", "code"),
    [
        ("other_staff", STATS, FORBIDDEN),  # the venue is not theirs
        ("member", STATS, FORBIDDEN),
        ("partner", STATS, FORBIDDEN),
        ("anonymous", STATS, UNAUTHENTICATED),
        ("staff", "{ programmeStats { outstandingPoints } }", FORBIDDEN),  # the ledger: admins
    ],
)
async def test_figures_beyond_what_the_caller_may_see_are_refused(
    gateway: Gateway, cast: Cast, who: str, query: str, code: str
) -> None:
    body = await gateway.gql(query, {"venue": cast.venue}, **_as(cast, who))
    assert body["data"] is None and _codes(body) == [code]


async def test_admins_read_the_ledgers_figures_beside_the_experiences(
    gateway: Gateway, cast: Cast
) -> None:
    query = (
        "{ programmeStats { outstandingPoints issuedPoints experiences { venues { venueId } } } }"
    )
    stats = (await gateway.data(query, token=cast.admin))["programmeStats"]
    assert stats["issuedPoints"] >= stats["outstandingPoints"] >= 0
    assert cast.venue in {v["venueId"] for v in stats["experiences"]["venues"]}
