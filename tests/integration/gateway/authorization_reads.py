"""The matrix's rows for reading: every query, and the nested paths by which a member's account,
invitations, referrals and identifiers, an experience's issuance reports and the programme's
figures can be reached."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.integration.gateway.authorization_table import (
    DENIED,
    FORBIDDEN,
    UNAUTHENTICATED,
    Cell,
    Denied,
    Ok,
    Prepared,
    Row,
    admins,
    everyone,
    members,
    partners,
    row,
    sends,
    venue_staff,
)
from tests.integration.gateway.authorization_world import Gateway, World, fresh, now

# ---- checks: whose data came back --------------------------------------------------------


def _is_the_caller(cell: Cell, me: dict[str, Any]) -> None:
    world = cell.world
    own = world.member if cell.view == "member" else world.other_member
    assert me["id"] == own.id
    assert {"kind": "EMAIL", "value": own.email} in me["identifiers"]
    assert me["preferences"]["interests"] == [own.interest]
    assert me["account"]["balance"] >= 0 and me["referralCode"] == own.code
    if cell.view == "member":  # the invitations and referral made for A are A's alone
        assert world.offered in {i["id"] for i in me["invitations"]}
        assert len(me["referrals"]) >= 1
    else:
        assert me["invitations"] == [] and me["referrals"] == []


def _venues_seen(cell: Cell, stats: dict[str, Any]) -> None:
    """Staff see their own venue's experiences (venue 1 has some, venue 2 none); admins all."""
    seen = {v["venueId"] for v in stats["experiences"]["venues"]}
    seen |= {e["venueId"] for e in stats["experiences"].get("experiences", [])}
    world = cell.world
    if cell.view == "staff":
        assert seen == {world.venue}, seen
    elif cell.view == "other_staff":
        assert seen <= {world.other_venue}, seen
    else:
        assert world.venue in seen, seen


def _own_venue_only(cell: Cell, found: list[dict[str, Any]]) -> None:
    expected = cell.world.other_venue if cell.view == "other_staff" else cell.world.venue
    assert {e["venueId"] for e in found} <= {expected}
    if cell.view == "staff":
        assert cell.world.experience_id in {e["id"] for e in found}


def _every_venue(cell: Cell, found: list[dict[str, Any]]) -> None:
    assert cell.world.experience_id in {e["id"] for e in found}


def _counts_for_members_only(cell: Cell, rewards: list[dict[str, Any]]) -> None:
    [coffee] = [r for r in rewards if r["id"] == cell.world.reward_id]
    if cell.view in ("member", "other_member"):
        assert isinstance(coffee["redeemedByMember"], int) and coffee["eligible"] is not None
        if cell.view == "member":
            assert coffee["redeemedByMember"] >= 1
    else:
        assert coffee["redeemedByMember"] is None and coffee["eligible"] is None


def _the_experience(cell: Cell, found: dict[str, Any]) -> None:
    assert found["venueId"] == cell.world.venue
    [report] = found["issuances"]
    assert [i["memberId"] for i in report["invitations"]] == [cell.world.member.id]


def _own_referrals(cell: Cell, page: dict[str, Any]) -> None:
    references = {n["reference"] for n in page["nodes"]}
    assert (cell.world.reference in references) is (cell.view != "other_partner")


# ---- queries -----------------------------------------------------------------------------

ME = """query { @me {
  id displayName birthDate identifiers { kind value } preferences { interests }
  account { balance history(first: 5) { nodes { id externalId points } } }
  invitations { id door { code } } referralCode referrals { id } } }"""
STATS = """query { @programmeStats {
  experiences { venues { venueId } experiences { experienceId venueId } } } }"""
STATS_FOR = (
    """query($v: ID) { @programmeStats { experiences(venueId: $v) { venues { venueId } } } }"""
)
LEDGER = "query { @programmeStats { outstandingPoints } }"
AMBASSADORS = """query { @programmeStats { ambassadors {
  ambassadors { memberId displayName } rejections { reason count } } } }"""
RULES = "query { @rewardRules { version rules { key } } }"
TIERS = "query { @tiers { key threshold } }"
REWARDS = "query { @rewards { id eligible redeemedByMember } }"
SIMULATE = "query($e: EarnEventInput!) { @simulateEarn(event: $e) { total } }"
EXPERIENCE = """query($id: ID!) { @experience(id: $id) {
  id venueId issuances { id invitations { memberId } spared { memberId } } } }"""
EXPERIENCES = """query($v: ID) { @experiences(venueId: $v, includePast: true) {
  id venueId issuances { id invitations { memberId } } } }"""
REFERRALS = """query { @partnerReferrals(first: 50) {
  nodes { id reference } figures { registered } } }"""
DELIVERIES = """query($p: ID) { @partnerWebhookDeliveries(partnerId: $p) { id eventType } }"""


def _purchase(world: World, view: str) -> dict[str, Any]:
    del world, view
    occurred = (now() - timedelta(hours=1)).isoformat()
    event = {"trigger": "PURCHASE", "occurredAt": occurred, "amount": "20", "category": "ticket"}
    return {"e": {**event, "currency": "EUR"}}


def _forty_points(cell: Cell, preview: dict[str, Any]) -> None:
    assert preview == {"total": 40}


QUERIES = [
    Row("me", ME, members(Ok(check=_is_the_caller))),
    Row(
        "programmeStats",
        STATS,
        row(
            DENIED,
            staff=Ok(check=_venues_seen),
            other_staff=Ok(check=_venues_seen),
            admin=Ok(check=_venues_seen),
        ),
    ),
    Row(
        "programmeStats.experiences(venueId)",
        STATS_FOR,
        venue_staff(Ok(check=_venues_seen), other_staff=Denied(FORBIDDEN, "experiences")),
        sends(lambda w, v: {"v": w.venue}),
    ),
    Row(
        "programmeStats.outstandingPoints",
        LEDGER,
        admins(
            Ok(),
            staff=Denied(FORBIDDEN, "outstandingPoints"),
            other_staff=Denied(FORBIDDEN, "outstandingPoints"),
        ),
    ),
    Row(
        "programmeStats.ambassadors",
        AMBASSADORS,
        admins(
            Ok(),
            staff=Denied(FORBIDDEN, "ambassadors"),
            other_staff=Denied(FORBIDDEN, "ambassadors"),
        ),
    ),
    Row("rewardRules", RULES, everyone(Ok())),
    Row("tiers", TIERS, everyone(Ok())),
    Row("rewards", REWARDS, everyone(Ok(check=_counts_for_members_only))),
    Row("simulateEarn", SIMULATE, everyone(Ok(check=_forty_points)), sends(_purchase)),
    Row(
        "experience",
        EXPERIENCE,
        venue_staff(Ok(check=_the_experience)),
        sends(lambda w, v: {"id": w.offered_experience}),
    ),
    Row(
        "experiences",
        EXPERIENCES,
        venue_staff(Ok(check=_own_venue_only)),
        sends(lambda w, v: {"v": w.venue}),
    ),
    Row(
        "experiences (every venue the caller may see)",
        EXPERIENCES,
        row(
            DENIED,
            staff=Ok(check=_own_venue_only),
            other_staff=Ok(check=_own_venue_only),
            admin=Ok(check=_every_venue),
        ),
        sends(lambda w, v: {"v": None}),
    ),
    Row("partnerReferrals", REFERRALS, partners(Ok(check=_own_referrals))),
    Row(
        "partnerWebhookDeliveries",
        DELIVERIES,
        row(DENIED, partner=Ok(), out_of_scope=Ok(), admin=Ok()),
        sends(lambda w, v: {"p": w.partner_id}),
    ),
]

# ---- a registration's member: the new member's data, never the caller's or another's -------


async def _new_email(world: World, view: str) -> Prepared:
    del world, view
    email = f"{fresh('joiner')}@example.org"
    return Prepared({"i": {"email": email, "password": Gateway.PASSWORD}})


def _registered(nested: str) -> str:
    return f"""mutation($i: RegisterMemberInput!) {{ @registerMember(input: $i) {{
  __typename ... on MemberRegistered {{ member {{ id {nested} }} }} }} }}"""


def _the_new_members(cell: Cell, registered: dict[str, Any]) -> None:
    email = cell.prepared.variables["i"]["email"]
    assert registered["member"]["identifiers"] == [{"kind": "EMAIL", "value": email}]
    assert registered["member"]["preferences"] == {"interests": []}


def _only_the_member_themself(at: str) -> dict[str, Any]:
    """A registration's answer names a new member: only that member (signed in, which the
    caller of a registration is not) reads their account, invitations or referrals."""
    return row(
        Denied(FORBIDDEN, at),
        anonymous=Denied(UNAUTHENTICATED, at),
    )


REGISTRATION_PATHS = [
    Row(
        "registerMember.member.identifiers",
        _registered("identifiers { kind value } preferences { interests }"),
        everyone(Ok("MemberRegistered", _the_new_members)),
        _new_email,
    ),
    *(
        Row(
            f"registerMember.member.{nested.split(' ')[0]}", _registered(nested), expect, _new_email
        )
        for nested, expect in (
            (
                "account { balance history { nodes { id } } }",
                _only_the_member_themself("member.account"),
            ),
            ("invitations { id door { code } }", _only_the_member_themself("member.invitations")),
            ("referralCode", _only_the_member_themself("member.referralCode")),
            ("referrals { id }", _only_the_member_themself("member.referrals")),
        )
    ),
]

READS = [*QUERIES, *REGISTRATION_PATHS]
