"""The programme the authorization matrix runs in: two venues and their staff, two partners (the
first with a second key whose scope covers none of what the matrix asks), members A and B with
points, invitations, a redemption and a referral, a member who erased themselves, and an admin;
all made through the public API, on a database of its own (the matrix publishes rules and
changes the catalogue, which no other test should see).

Besides the shared data, ``World`` prepares fresh targets for the cells that change state: an
experience, an invitation offered to A (accepted, checked in), an earn, a partner key, a
reward, members to merge or erase.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from services.cli import single_process_app
from services.common.db import create_engine
from services.common.settings import Settings
from services.demo import seed_demo
from tests.conftest import KEY_ENCRYPTION_SECRET, service_urls
from tests.integration.gateway.conftest import SECRET, Gateway

VIEWS = (
    "anonymous",
    "member",
    "other_member",
    "erased",
    "staff",
    "other_staff",
    "partner",
    "other_partner",
    "out_of_scope",
    "admin",
)

REGISTER = """mutation($i: RegisterMemberInput!) { registerMember(input: $i) {
  __typename ... on MemberRegistered { member { id } } } }"""
PREFERENCES = """mutation($i: UpdateContactPreferencesInput!) {
  updateContactPreferences(input: $i) { preferences { interests } } }"""
CODE = "{ me { referralCode } }"
ERASE = "mutation { eraseMe { memberId } }"
PARTNER = """mutation($i: CreatePartnerInput!) { createPartner(input: $i) { partner { id } } }"""
KEY = """mutation($i: IssuePartnerApiKeyInput!) { issuePartnerApiKey(input: $i) {
  ... on ApiKeyIssued { secret key { id } } } }"""
EARN = """mutation($i: RecordEarnEventInput!) { recordEarnEvent(input: $i) {
  __typename ... on UserError { code } } }"""
REDEEM_REWARD = """mutation($i: RedeemRewardInput!) { redeemReward(input: $i) {
  __typename ... on RewardRedeemed { voucherCode } } }"""
REWARD = """mutation($i: CreateRewardInput!) { createReward(input: $i) {
  __typename ... on RewardCreated { reward { id } } } }"""
EXPERIENCE = """mutation($i: CreateExperienceInput!) { createExperience(input: $i) {
  __typename ... on ExperienceCreated { experience { id } } } }"""
ISSUE = """mutation($i: IssueInvitationsInput!) { issueInvitations(input: $i) {
  __typename ... on InvitationsIssued { report { invitations { invitationId memberId } } } } }"""
RESPOND = """mutation($i: RespondToInvitationInput!) { respondToInvitation(input: $i) {
  __typename ... on InvitationAnswered { invitation { door { code } } } } }"""
CHECK_IN = """mutation($i: RedeemInvitationInput!) { redeemInvitation(input: $i) { __typename } }"""
BATCH = """mutation($i: RedeemInvitationsInput!) { redeemInvitations(input: $i) {
  results { outcome { __typename } } } }"""
REFERRAL = """mutation($i: RegisterReferralInput!) { registerReferral(input: $i) {
  __typename ... on ReferralRegistered { referral { id } } } }"""
LINK = """mutation($i: LinkIdentifierInput!) { linkIdentifier(input: $i) { __typename } }"""
WEBHOOK = (
    """mutation($i: SetPartnerWebhookInput!) { setPartnerWebhook(input: $i) { __typename } }"""
)

WEBHOOK_URL = "https://hooks.partner-one.example.org/loyalty"


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def fresh(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def card_number() -> str:
    """A membership card number, as identity writes it."""
    return f"CARD{uuid.uuid4().hex[:12].upper()}"


def ticket(member_id: str, venue: str, amount: str = "10") -> dict[str, Any]:
    """A ticket bought at ``venue`` an hour ago, under a new external id."""
    return {
        "externalId": fresh("ticket"),
        "trigger": "PURCHASE",
        "occurredAt": (now() - timedelta(hours=1)).isoformat(),
        "memberId": member_id,
        "amount": amount,
        "currency": "EUR",
        "category": "ticket",
        "venueId": venue,
    }


def experience_input(venue: str, interest: str) -> dict[str, Any]:
    """An experience whose invitations are open and whose door is open now (it starts in 40
    minutes; the door opens two hours before)."""
    at = now()
    return {
        "key": fresh("experience"),
        "venueId": venue,
        "title": {"en": "Backstage visit", "fr": "Visite des coulisses"},
        "description": {"en": "Meet the crew.", "fr": "Rencontrez l'équipe."},
        "startsAt": (at + timedelta(minutes=40)).isoformat(),
        "endsAt": (at + timedelta(hours=3)).isoformat(),
        "seats": 4,
        "guestAllowance": 1,
        "invitationsOpenAt": (at - timedelta(minutes=1)).isoformat(),
        "invitationsCloseAt": (at + timedelta(minutes=30)).isoformat(),
        "interests": [interest],
    }


@dataclass
class Member:
    id: str
    email: str
    token: str
    code: str = ""  # their referral code
    interest: str = ""


@dataclass
class World:
    gateway: Gateway
    venue: str
    other_venue: str
    admin: str
    staff: str
    other_staff: str
    partner_id: str
    partner_key: str
    narrow_key: str  # the partner's second key: ATTENDANCE at the other venue, no referrals
    other_partner_id: str
    other_partner_key: str
    member: Member
    other_member: Member
    erased: Member
    card: str = ""  # A's membership card
    reward_id: str = ""  # a reward A and B can afford
    managed_reward_id: str = ""  # a reward admins update
    experience_id: str = ""  # venue 1's, never cancelled
    offered_experience: str = ""  # venue 1's, to which A was invited
    offered: str = ""  # an invitation offered to A (the only one of that experience)
    accepted_code: str = ""  # the door code of an invitation A accepted
    checked_in: str = ""  # an invitation of A's, checked in, not rated
    checked_in_code: str = ""  # its door code
    offline_scan: dict[str, Any] | None = None  # a scan venue 1's staff settled from a device
    partner_earn: str = ""  # the external id of an earn the partner recorded
    venue_earn: str = ""  # the external id of an earn venue 1's box office recorded
    reference: str = ""  # the reference of the partner's referral
    referral_id: str = ""  # its id
    redemption_key: str = ""  # the idempotency key of A's redemption
    voucher: str = ""  # its voucher code
    #: when the friends referred consented: one time for the whole matrix, so that a referral
    #: sent again (the other partner's second try) is the same request, whatever the second
    consent_given_at: datetime = field(default_factory=lambda: now() - timedelta(hours=1))

    def credentials(self, view: str) -> dict[str, Any]:
        """The keyword arguments of ``Gateway.gql`` that make a request as ``view``."""
        tokens = {
            "member": self.member.token,
            "other_member": self.other_member.token,
            "erased": self.erased.token,
            "staff": self.staff,
            "other_staff": self.other_staff,
            "admin": self.admin,
        }
        keys = {
            "partner": self.partner_key,
            "other_partner": self.other_partner_key,
            "out_of_scope": self.narrow_key,
        }
        if view in tokens:
            return {"token": tokens[view]}
        if view in keys:
            return {"headers": {"x-api-key": keys[view]}}
        assert view == "anonymous", view
        return {}

    def subject(self, view: str) -> str | None:
        """The id the view acts as (a member's, a partner's), if any."""
        return {
            "member": self.member.id,
            "other_member": self.other_member.id,
            "erased": self.erased.id,
            "partner": self.partner_id,
            "out_of_scope": self.partner_id,
            "other_partner": self.other_partner_id,
        }.get(view)

    async def run(self, query: str, variables: dict[str, Any], as_: str = "admin") -> Any:
        """A set-up step that must succeed; its data."""
        return await self.gateway.data(query, variables, **self.credentials(as_))

    # ---- fresh targets ----------------------------------------------------------------------

    async def new_member(self, interest: str | None = None) -> Member:
        email = f"{fresh('member')}@example.org"
        joined = await self.gateway.data(
            REGISTER,
            {"i": {"email": email, "password": Gateway.PASSWORD, "displayName": "Matrix member"}},
        )
        member = Member(joined["registerMember"]["member"]["id"], email, "")
        member.token = await self.gateway.token(email)
        await self.gateway.verify(member.token, email)  # so that earns may name it
        if interest:
            prefs = {
                "consents": [{"channel": "EMAIL", "granted": True}],
                "interests": [interest],
                "invitationCapPer30Days": 30,
            }
            await self.gateway.data(PREFERENCES, {"i": prefs}, token=member.token)
            member.interest = interest
        member.code = (await self.gateway.data(CODE, token=member.token))["me"]["referralCode"]
        return member

    async def new_experience(self, interest: str | None = None) -> str:
        fields = experience_input(self.venue, interest or fresh("nobody"))
        created = await self.run(EXPERIENCE, {"i": fields})
        return str(created["createExperience"]["experience"]["id"])

    async def new_guest(self) -> Member:
        """A new member interested in what they are invited to (the programme invites a member
        at most four times in 30 days, so each cell that uses an invitation up has its own)."""
        return await self.new_member(fresh("interest"))

    async def new_invitation(self, guest: Member, experience: str | None = None) -> str:
        """An invitation offered to ``guest``, for a new experience of venue 1 (or
        ``experience``)."""
        experience = experience or await self.new_experience(guest.interest)
        issued = await self.run(ISSUE, {"i": {"experienceId": experience, "key": fresh("k")}})
        [invitation] = issued["issueInvitations"]["report"]["invitations"]
        assert invitation["memberId"] == guest.id, issued
        return str(invitation["invitationId"])

    async def new_accepted(self, guest: Member) -> tuple[str, str]:
        """An invitation ``guest`` accepted: (its id, its door code)."""
        invitation = await self.new_invitation(guest)
        answer = {"invitationId": invitation, "answer": "ACCEPT"}
        answered = await self.gateway.data(RESPOND, {"i": answer}, token=guest.token)
        return invitation, answered["respondToInvitation"]["invitation"]["door"]["code"]

    async def new_checked_in(self, guest: Member) -> tuple[str, str]:
        """An invitation of ``guest``'s, checked in at venue 1: (its id, its door code)."""
        invitation, code = await self.new_accepted(guest)
        done = await self.run(CHECK_IN, {"i": {"code": code, "venueId": self.venue}}, "staff")
        assert done["redeemInvitation"]["__typename"] == "CheckedIn", done
        return invitation, code

    async def new_offline_scan(self) -> dict[str, Any]:
        """A door device's scan of a new guest's code, settled by venue 1's staff: the input of
        ``redeemInvitations`` that sends it (again)."""
        _, code = await self.new_accepted(await self.new_guest())
        scanned = (now() - timedelta(minutes=1)).isoformat()
        scan = {"scanId": fresh("scan"), "code": code, "scannedAt": scanned}
        batch = {"deviceId": fresh("device"), "scans": [scan]}
        settled = await self.run(BATCH, {"i": batch}, "staff")
        [result] = settled["redeemInvitations"]["results"]
        assert result["outcome"]["__typename"] == "CheckedIn", settled
        return batch

    async def new_earn(self, as_: str) -> str:
        """The external id of a new earn for A at venue 1, recorded by ``as_``."""
        earn = ticket(self.member.id, self.venue)
        recorded = await self.run(EARN, {"i": earn}, as_)
        assert recorded["recordEarnEvent"]["__typename"].endswith("EarnRecorded"), recorded
        return str(earn["externalId"])

    async def new_key(self) -> str:
        """The id of a new key of the partner."""
        issued = await self.run(KEY, {"i": {"partnerId": self.partner_id, "label": fresh("l")}})
        return str(issued["issuePartnerApiKey"]["key"]["id"])

    async def new_reward(self) -> str:
        reward = {
            "key": fresh("reward"),
            "title": {"en": "A programme", "fr": "Un programme"},
            "description": {"en": "Printed.", "fr": "Imprimé."},
            "cost": 50,
        }
        created = await self.run(REWARD, {"i": reward})
        return str(created["createReward"]["reward"]["id"])

    async def redeem(self, member: str, key: str) -> str:
        redeemed = await self.run(
            REDEEM_REWARD, {"i": {"rewardId": self.reward_id, "idempotencyKey": key}}, member
        )
        assert redeemed["redeemReward"]["__typename"] == "RewardRedeemed", redeemed
        return str(redeemed["redeemReward"]["voucherCode"])

    def referral(self, reference: str, email: str | None = None) -> dict[str, Any]:
        """A referral of a friend of A's (new unless ``email``) under ``reference``."""
        referral = {
            "code": self.member.code,
            "reference": reference,
            "email": email or f"{fresh('friend')}@example.org",
            "consent": {"method": "ONLINE_FORM", "givenAt": self.consent_given_at.isoformat()},
        }
        return {"i": referral}


async def _revoked(gateway: Gateway, token: str) -> None:
    """Give the gateway a moment to learn that an erased member's token is revoked (it does not
    fail here if it never does: the matrix says what the token may do)."""
    for _ in range(40):
        body = await gateway.gql("{ tiers { key } }", token=token)
        if body.get("errors"):
            return
        await asyncio.sleep(0.05)


async def _partner(gateway: Gateway, admin: str, scopes: list[dict[str, Any]]) -> list[str]:
    """A new partner and keys with these scopes: [partner id, key, ...]."""
    made = await gateway.data(PARTNER, {"i": {"name": fresh("Partner")}}, token=admin)
    partner = str(made["createPartner"]["partner"]["id"])
    keys = []
    for scope in scopes:
        issued = await gateway.data(KEY, {"i": {"partnerId": partner, "scope": scope}}, token=admin)
        keys.append(str(issued["issuePartnerApiKey"]["secret"]))
    return [partner, *keys]


async def build(gateway: Gateway) -> World:
    demo = gateway.demo
    admin = await gateway.admin_token()
    staff, other_staff = demo["staff"][0], demo["staff"][1]
    venue, other_venue = str(staff["venueId"]), str(other_staff["venueId"])
    purchases = {"triggers": ["PURCHASE"], "venueIds": None, "registerReferrals": True}
    narrow = {"triggers": ["ATTENDANCE"], "venueIds": [other_venue], "registerReferrals": False}
    partner, partner_key, narrow_key = await _partner(gateway, admin, [purchases, narrow])
    other_partner, other_key = await _partner(gateway, admin, [purchases])
    placeholder = Member("", "", "")
    world = World(
        gateway=gateway,
        venue=venue,
        other_venue=other_venue,
        admin=admin,
        staff=await gateway.token(staff["email"], staff["password"], "STAFF"),
        other_staff=await gateway.token(other_staff["email"], other_staff["password"], "STAFF"),
        partner_id=partner,
        partner_key=partner_key,
        narrow_key=narrow_key,
        other_partner_id=other_partner,
        other_partner_key=other_key,
        member=placeholder,
        other_member=placeholder,
        erased=placeholder,
    )
    world.member = await world.new_member(fresh("interest-a"))
    world.other_member = await world.new_member(fresh("interest-b"))
    world.card = card_number()
    card = {"kind": "MEMBERSHIP_CARD", "value": world.card}
    await world.run(LINK, {"i": card}, "member")
    world.erased = await world.new_member()
    await world.run(ERASE, {}, "erased")
    await gateway.settle()
    await _revoked(gateway, world.erased.token)

    [coffee] = [r for r in demo["rewards"] if r["key"] == "coffee"]
    world.reward_id = coffee["rewardId"]
    world.managed_reward_id = await world.new_reward()
    # spendable now: A 500 points (of the 1000 tickets may earn a day), B 400
    for member, amount in ((world.member, "250"), (world.other_member, "200")):
        await world.run(EARN, {"i": ticket(member.id, venue, amount)}, "staff")
    world.redemption_key = fresh("redemption")
    world.voucher = await world.redeem("member", world.redemption_key)

    world.experience_id = await world.new_experience()
    world.offered_experience = await world.new_experience(world.member.interest)
    world.offered = await world.new_invitation(world.member, world.offered_experience)
    _, world.accepted_code = await world.new_accepted(world.member)
    world.checked_in, world.checked_in_code = await world.new_checked_in(world.member)
    world.offline_scan = await world.new_offline_scan()
    world.partner_earn = await world.new_earn("partner")
    world.venue_earn = await world.new_earn("staff")
    world.reference = fresh("reference")
    referred = await world.run(REFERRAL, world.referral(world.reference), "partner")
    world.referral_id = referred["registerReferral"]["referral"]["id"]
    hook = {"url": WEBHOOK_URL, "partnerId": partner}
    await world.run(WEBHOOK, {"i": hook})
    return world


@asynccontextmanager
async def serving(database_url: str) -> AsyncIterator[Gateway]:
    """The whole platform in one process on ``database_url``, seeded with the demo programme."""
    engine = create_engine(database_url, pool_size=5, application_name="authorization-matrix")
    demo = await seed_demo(engine, key_encryption_secret=KEY_ENCRYPTION_SECRET)
    app = single_process_app(
        Settings(environment="test", relay_interval_seconds=0.05),
        service_urls(database_url),
        SECRET,
    )
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
                yield Gateway(client, engine, demo)
    finally:
        await engine.dispose()
