"""The matrix's rows for the programme: earning and reversing points, rewards and rules,
experiences and their invitations, the door, referrals and partners' webhooks."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from services.loyalty.demo_rules import demo_rule_set_document
from tests.integration.gateway.authorization_table import (
    DENIED,
    Cell,
    Ok,
    Prepared,
    Row,
    Typed,
    admins,
    members,
    partners,
    row,
    sends,
    venue_staff,
)
from tests.integration.gateway.authorization_world import (
    WEBHOOK_URL,
    World,
    experience_input,
    fresh,
    now,
    ticket,
)

# ---- earning -----------------------------------------------------------------------------

EARN = """mutation($i: RecordEarnEventInput!) { @recordEarnEvent(input: $i) {
  __typename ... on EarnRecorded { points balance entry { externalId } }
  ... on PartnerEarnRecorded { externalId points } ... on UserError { code } } }"""
REVERSE = """mutation($i: ReverseEarnEventInput!) { @reverseEarnEvent(input: $i) {
  __typename ... on EarnReversed { pointsReversed balance entry { externalId } }
  ... on PartnerEarnReversed { externalId pointsReversed } ... on UserError { code } } }"""


def _for_a(world: World, view: str) -> dict[str, Any]:
    del view
    return {"i": ticket(world.member.id, world.venue)}


def _by_email(world: World, view: str) -> dict[str, Any]:
    earn = ticket("", world.venue)
    del earn["memberId"]
    return {"i": {**earn, "identifier": {"kind": "EMAIL", "value": world.member.email}}}


def _recorded_as_sent(cell: Cell, recorded: dict[str, Any]) -> None:
    """Ten euros of tickets: 20 points, under the external id sent."""
    sent = cell.prepared.variables["i"]["externalId"]
    assert recorded.get("entry", recorded)["externalId"] == sent and recorded["points"] == 20


def _reversed_as_sent(cell: Cell, reversed_: dict[str, Any]) -> None:
    """All 20 points taken back; staff see the reversal's own entry, partners the earn's id."""
    sent = cell.prepared.variables["i"]["externalId"]
    if "entry" in reversed_:
        assert reversed_["entry"]["externalId"] == f"reversal:{sent}"
    else:
        assert reversed_["externalId"] == sent
    assert reversed_["pointsReversed"] == 20


async def _an_earn_to_reverse(world: World, view: str) -> Prepared:
    """The caller's own new earn when it may reverse one; otherwise an earn of venue 1's box
    office (staff and members) or of the partner (the other partner, the partner's narrow key)."""
    if view in ("staff", "admin"):
        earn = await world.new_earn("staff")
    elif view == "partner":
        earn = await world.new_earn("partner")
    elif view in ("other_partner", "out_of_scope"):
        earn = world.partner_earn
    else:
        earn = world.venue_earn
    return Prepared({"i": {"externalId": earn, "reason": "refunded", "venueId": world.venue}})


EARNING = [
    Row(
        "recordEarnEvent",
        EARN,
        row(
            DENIED,
            staff=Ok("EarnRecorded", _recorded_as_sent),
            admin=Ok("EarnRecorded", _recorded_as_sent),
            other_staff=Typed("EarnRejected", "WRONG_VENUE"),
            partner=Ok("PartnerEarnRecorded", _recorded_as_sent),
            other_partner=Ok("PartnerEarnRecorded", _recorded_as_sent),
            out_of_scope=Typed("OutOfScope", "TRIGGER_NOT_ALLOWED"),
        ),
        sends(_for_a),
    ),
    Row(
        "recordEarnEvent (a member named by email)",
        EARN,
        row(
            DENIED,
            staff=Ok("EarnRecorded"),
            admin=Ok("EarnRecorded"),
            other_staff=Typed("EarnRejected", "WRONG_VENUE"),
            partner=Typed("OutOfScope", "IDENTIFIER_NOT_ALLOWED"),
            other_partner=Typed("OutOfScope", "IDENTIFIER_NOT_ALLOWED"),
            out_of_scope=Typed("OutOfScope", "TRIGGER_NOT_ALLOWED"),
        ),
        sends(_by_email),
    ),
    Row(
        "recordEarnEvent (for the erased member)",
        EARN,
        row(
            DENIED,
            staff=Typed("MemberNotFound", "MEMBER_ERASED"),
            admin=Typed("MemberNotFound", "MEMBER_ERASED"),
            other_staff=Typed("MemberNotFound", "MEMBER_ERASED"),
            partner=Typed("MemberNotFound", "MEMBER_ERASED"),
            other_partner=Typed("MemberNotFound", "MEMBER_ERASED"),
            out_of_scope=Typed("OutOfScope", "TRIGGER_NOT_ALLOWED"),
        ),
        sends(lambda w, v: {"i": ticket(w.erased.id, w.venue)}),
    ),
    Row(
        "reverseEarnEvent",
        REVERSE,
        row(
            DENIED,
            staff=Ok("EarnReversed", _reversed_as_sent),
            admin=Ok("EarnReversed", _reversed_as_sent),
            other_staff=Typed("ReversalRejected", "WRONG_VENUE"),
            partner=Ok("PartnerEarnReversed", _reversed_as_sent),
            other_partner=Typed("ReversalRejected", "EARN_NOT_FOUND"),
            out_of_scope=Typed("ReversalRejected", "TRIGGER_NOT_ALLOWED"),
        ),
        _an_earn_to_reverse,
    ),
]

# ---- rewards and rules -------------------------------------------------------------------

REDEEM = """mutation($i: RedeemRewardInput!) { @redeemReward(input: $i) {
  __typename ... on RewardRedeemed { created voucherCode balance entry { id } }
  ... on UserError { code } } }"""
PUBLISH = """mutation($i: PublishRuleSetInput!) { @publishRuleSet(input: $i) {
  __typename ... on RuleSetPublished { version created } ... on UserError { code } } }"""
CREATE_REWARD = """mutation($i: CreateRewardInput!) { @createReward(input: $i) {
  __typename ... on RewardCreated { created reward { id } } ... on UserError { code } } }"""
UPDATE_REWARD = """mutation($i: UpdateRewardInput!) { @updateReward(input: $i) {
  __typename ... on RewardUpdated { reward { id title } } ... on UserError { code } } }"""
RETIRE_REWARD = """mutation($i: RetireRewardInput!) { @retireReward(input: $i) {
  __typename ... on RewardRetired { reward { id retiredAt } } ... on UserError { code } } }"""


def _redemption(world: World, view: str) -> dict[str, Any]:
    """A new key; the other member sends the key of A's redemption."""
    key = world.redemption_key if view == "other_member" else fresh("redemption")
    return {"i": {"rewardId": world.reward_id, "idempotencyKey": key}}


def _own_voucher(cell: Cell, redeemed: dict[str, Any]) -> None:
    """A new voucher; B's second try with A's key replays B's own, never A's."""
    assert redeemed["voucherCode"] != cell.world.voucher
    assert redeemed["created"] is True or cell.view == "other_member"


def _rule_set(world: World, view: str) -> dict[str, Any]:
    del world, view
    document = demo_rule_set_document(now() + timedelta(days=40, minutes=len(fresh("x"))))
    return {"i": {"document": document, "idempotencyKey": fresh("rules")}}


def _new_reward(world: World, view: str) -> dict[str, Any]:
    del world, view
    text = {"en": "A poster", "fr": "Une affiche"}
    return {"i": {"key": fresh("reward"), "title": text, "description": text, "cost": 80}}


async def _reward_to_retire(world: World, view: str) -> Prepared:
    del view
    return Prepared({"i": {"rewardId": await world.new_reward()}})


REWARDS = [
    Row("redeemReward", REDEEM, members(Ok("RewardRedeemed", _own_voucher)), sends(_redemption)),
    Row("publishRuleSet", PUBLISH, admins(Ok("RuleSetPublished")), sends(_rule_set)),
    Row("createReward", CREATE_REWARD, admins(Ok("RewardCreated")), sends(_new_reward)),
    Row(
        "updateReward",
        UPDATE_REWARD,
        admins(Ok("RewardUpdated")),
        sends(lambda w, v: {"i": {"rewardId": w.managed_reward_id, "cost": 50}}),
    ),
    Row("retireReward", RETIRE_REWARD, admins(Ok("RewardRetired")), _reward_to_retire),
]

# ---- experiences and the door ------------------------------------------------------------

CREATE = """mutation($i: CreateExperienceInput!) { @createExperience(input: $i) {
  __typename ... on ExperienceCreated { experience { id venueId issuances { id } } }
  ... on UserError { code } } }"""
UPDATE = """mutation($i: UpdateExperienceInput!) { @updateExperience(input: $i) {
  __typename ... on ExperienceUpdated { experience { id seats issuances { id } } }
  ... on UserError { code } } }"""
CANCEL = """mutation($i: CancelExperienceInput!) { @cancelExperience(input: $i) {
  __typename ... on ExperienceCancelled { experience { id cancelledAt issuances { id } } }
  ... on UserError { code } } }"""
ISSUE = """mutation($i: IssueInvitationsInput!) { @issueInvitations(input: $i) {
  __typename ... on InvitationsIssued { report { experienceId invitations { memberId } } }
  ... on UserError { code } } }"""
RESPOND = """mutation($i: RespondToInvitationInput!) { @respondToInvitation(input: $i) {
  __typename ... on InvitationAnswered { invitation { id state door { code } } }
  ... on UserError { code } } }"""
OUTCOME = """__typename ... on CheckedIn { memberId memberName }
  ... on AlreadyCheckedIn { code memberId memberName checkedInByYou } ... on UserError { code }"""
CHECK_IN = (
    f"""mutation($i: RedeemInvitationInput!) {{ @redeemInvitation(input: $i) {{ {OUTCOME} }} }}"""
)
CHECK_IN_BATCH = f"""mutation($i: RedeemInvitationsInput!) {{ @redeemInvitations(input: $i) {{
  results {{ scanId outcome {{ {OUTCOME} }} }} }} }}"""
RATE = """mutation($i: RateExperienceInput!) { @rateExperience(input: $i) {
  __typename ... on ExperienceRated { invitationId score } ... on UserError { code } } }"""


async def _an_experience(world: World, view: str) -> Prepared:
    """A new experience of venue 1, which no member is interested in."""
    del view
    return Prepared({"i": {"experienceId": await world.new_experience()}})


async def _to_cancel(world: World, view: str) -> Prepared:
    prepared = await _an_experience(world, view)
    prepared.variables["i"]["reason"] = "the artist is ill"
    return prepared


async def _to_issue(world: World, view: str) -> Prepared:
    prepared = await _an_experience(world, view)
    prepared.variables["i"]["key"] = fresh("issuance")
    return prepared


async def _an_offer(world: World, view: str) -> Prepared:
    """The member answers a new invitation of their own (as the invited member); everyone
    else the invitation offered to A."""
    if view != "member":
        return Prepared({"i": {"invitationId": world.offered, "answer": "ACCEPT"}})
    guest = await world.new_guest()
    invitation = await world.new_invitation(guest)
    answer = {"invitationId": invitation, "answer": "ACCEPT"}
    return Prepared({"i": answer}, {"token": guest.token}, guest.id)


async def _a_door_code(world: World, view: str) -> tuple[str, str]:
    """Venue 1's staff scan a new accepted invitation; everyone else A's: (code, member)."""
    if view != "staff":
        return world.accepted_code, world.member.id
    guest = await world.new_guest()
    return (await world.new_accepted(guest))[1], guest.id


async def _a_scan(world: World, view: str) -> Prepared:
    code, member = await _a_door_code(world, view)
    return Prepared({"i": {"code": code}}, subject=member)


async def _a_scan_at_venue_1(world: World, view: str) -> Prepared:
    """Whoever scans says they stand at venue 1, where they may not work."""
    prepared = await _a_scan(world, view)
    prepared.variables["i"]["venueId"] = world.venue
    return prepared


async def _offline_scans(world: World, view: str) -> Prepared:
    code, member = await _a_door_code(world, view)
    scan = {"scanId": fresh("scan"), "code": code}
    scan["scannedAt"] = (now() - timedelta(minutes=1)).isoformat()
    return Prepared({"i": {"deviceId": fresh("device"), "scans": [scan]}}, subject=member)


def _checked_in_a(cell: Cell, outcome: dict[str, Any]) -> None:
    """Staff at the door see who came: the invited member, by the name they gave."""
    assert outcome["memberId"] == (cell.subject or outcome["memberId"])
    assert outcome["memberName"] == "Matrix member"


def _already_in(cell: Cell, outcome: dict[str, Any]) -> None:
    """A second scan at the member's own venue says who it was; elsewhere, nothing but the
    wrong venue."""
    assert outcome["memberId"] == cell.world.member.id and outcome["memberName"] == "Matrix member"


def _scan_outcome(typename: str) -> Any:
    def check(cell: Cell, settled: dict[str, Any]) -> None:
        [result] = settled["results"]
        assert result["outcome"]["__typename"] == typename, result
        if typename == "CheckedIn":
            _checked_in_a(cell, result["outcome"])

    return check


async def _a_rating(world: World, view: str) -> Prepared:
    """The member rates an evening they came to (as that guest); everyone else tries A's."""
    if view != "member":
        return Prepared({"i": {"invitationId": world.checked_in, "score": 9}})
    guest = await world.new_guest()
    invitation, _ = await world.new_checked_in(guest)
    return Prepared({"i": {"invitationId": invitation, "score": 9}}, {"token": guest.token})


EXPERIENCES = [
    Row(
        "createExperience",
        CREATE,
        venue_staff(Ok("ExperienceCreated")),
        sends(lambda w, v: {"i": experience_input(w.venue, fresh("nobody"))}),
    ),
    Row(
        "updateExperience",
        UPDATE,
        venue_staff(Ok("ExperienceUpdated")),
        sends(lambda w, v: {"i": {"experienceId": w.experience_id, "seats": 4}}),
    ),
    Row("cancelExperience", CANCEL, venue_staff(Ok("ExperienceCancelled")), _to_cancel),
    Row("issueInvitations", ISSUE, venue_staff(Ok("InvitationsIssued")), _to_issue),
    Row(
        "respondToInvitation",
        RESPOND,
        members(Ok("InvitationAnswered"), other_member=Typed("NotFound", "INVITATION_NOT_FOUND")),
        _an_offer,
    ),
    Row(
        "redeemInvitation",
        CHECK_IN,
        row(
            DENIED,
            staff=Ok("CheckedIn", _checked_in_a),
            other_staff=Typed("WrongVenue", "WRONG_VENUE"),
        ),
        _a_scan,
    ),
    Row(
        "redeemInvitation (an invitation already checked in)",
        CHECK_IN,
        row(
            DENIED,
            staff=Typed("AlreadyCheckedIn", "ALREADY_CHECKED_IN", _already_in),
            other_staff=Typed("WrongVenue", "WRONG_VENUE"),
        ),
        sends(lambda w, v: {"i": {"code": w.checked_in_code}}),
    ),
    Row(
        "redeemInvitation (standing at venue 1)",
        CHECK_IN,
        row(DENIED, staff=Ok("CheckedIn", _checked_in_a)),
        _a_scan_at_venue_1,
    ),
    Row(
        "redeemInvitations",
        CHECK_IN_BATCH,
        row(
            DENIED,
            staff=Ok(check=_scan_outcome("CheckedIn")),
            other_staff=Ok(check=_scan_outcome("WrongVenue")),
        ),
        _offline_scans,
    ),
    Row(
        "redeemInvitations (a scan venue 1's device settled, sent again)",
        CHECK_IN_BATCH,
        row(
            DENIED,
            staff=Ok(check=_scan_outcome("CheckedIn")),
            other_staff=Ok(check=_scan_outcome("WrongVenue")),
        ),
        sends(lambda w, v: {"i": w.offline_scan}),
    ),
    Row(
        "rateExperience",
        RATE,
        members(Ok("ExperienceRated"), other_member=Typed("NotFound", "INVITATION_NOT_FOUND")),
        _a_rating,
    ),
]

# ---- referrals and partners' webhooks ----------------------------------------------------

REFER = """mutation($i: RegisterReferralInput!) { @registerReferral(input: $i) {
  __typename ... on ReferralRegistered { created referral { id reference } }
  ... on UserError { code } } }"""
HOOK = """mutation($i: SetPartnerWebhookInput!) { @setPartnerWebhook(input: $i) {
  __typename ... on PartnerWebhook { partnerId url } ... on UserError { code } } }"""
ROTATE = """mutation($i: RotatePartnerWebhookSecretInput!) { @rotatePartnerWebhookSecret(input: $i) {
  __typename ... on PartnerWebhook { partnerId secret } ... on UserError { code } } }"""


def _a_referral(world: World, view: str) -> dict[str, Any]:
    """A new reference; the other partner sends the partner's own reference (for one friend of
    its own, so that its second try replays its first)."""
    if view == "other_partner":
        return world.referral(world.reference, f"friend.{world.reference}@example.org")
    return world.referral(fresh("reference"))


def _registered_anew(cell: Cell, registered: dict[str, Any]) -> None:
    """The caller's own referral: the other partner's under the same reference is another."""
    assert registered["referral"]["reference"] == cell.prepared.variables["i"]["reference"]
    assert registered["referral"]["id"] != cell.world.referral_id
    assert registered["created"] is True or cell.view == "other_partner"


def _the_partners_hook(cell: Cell, hook: dict[str, Any]) -> None:
    assert hook["partnerId"] == cell.world.partner_id


def _for_the_partner(world: World, view: str) -> dict[str, Any]:
    del view
    return {"i": {"url": WEBHOOK_URL, "partnerId": world.partner_id}}


OWN_HOOK = row(
    DENIED,
    partner=Ok("PartnerWebhook", _the_partners_hook),
    out_of_scope=Ok("PartnerWebhook", _the_partners_hook),
    admin=Ok("PartnerWebhook", _the_partners_hook),
)

REFERRALS = [
    Row(
        "registerReferral",
        REFER,
        partners(
            Ok("ReferralRegistered", _registered_anew),
            out_of_scope=Typed("OutOfScope", "REFERRALS_NOT_ALLOWED"),
        ),
        sends(_a_referral),
    ),
    Row("setPartnerWebhook", HOOK, OWN_HOOK, sends(_for_the_partner)),
    Row(
        "setPartnerWebhook (allowing loopback HTTP or not: admins only)",
        HOOK,
        admins(Ok("PartnerWebhook", _the_partners_hook)),
        sends(lambda w, v: {"i": {**_for_the_partner(w, v)["i"], "allowLoopbackHttp": False}}),
    ),
    Row(
        "rotatePartnerWebhookSecret",
        ROTATE,
        OWN_HOOK,
        sends(lambda w, v: {"i": {"partnerId": w.partner_id}}),
    ),
]

PROGRAMME = [*EARNING, *REWARDS, *EXPERIENCES, *REFERRALS]
