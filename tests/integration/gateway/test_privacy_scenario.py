"""A member who used every feature exports everything held on them, then erases themselves.

The member registers with a phone, a name, a birth date and a partner's referral waiting for
them, fails a login once, links a card, a ticketing id and a device, sets their contact
preferences, accepts an invitation with two named guests (who become their referrals), is
checked in at the door, rates the evening with a comment, buys a ticket (which converts the
referral that brought them) and brings a friend through a partner with a webhook.

Their export (``exportMyData``) holds the value of every personal column of both schemas, as
``personal_data`` classifies them from the live schema. After ``eraseMe`` no table and no JSON
payload of either schema holds their email, phone, name, birth date, identifiers, comment,
guests, or the keyed hashes of their or their guests' emails and phones; and the ledger's
totals are unchanged.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from services.identity import normalise
from services.identity.referees.hashing import keyed_hash
from tests.integration.gateway.conftest import Gateway
from tests.integration.gateway.test_referrals_gateway import (
    SET_WEBHOOK,
    eventually,
    member,
    partner_key,
    referral_input,
    register_referral,
)
from tests.integration.personal_data import IGNORED_TABLES, MEMBER_ROWS, personal_columns
from tests.integration.webhook_receiver import receiving

REGISTER = """
mutation($input: RegisterMemberInput!) {
  registerMember(input: $input) {
    __typename ... on MemberRegistered { member { id } } ... on UserError { code message }
  }
}
"""
LINK = """
mutation($i: LinkIdentifierInput!) { linkIdentifier(input: $i) { __typename } }
"""
PREFERENCES = """
mutation($i: UpdateContactPreferencesInput!) { updateContactPreferences(input: $i) { __typename } }
"""
CREATE_EXPERIENCE = """
mutation($i: CreateExperienceInput!) {
  createExperience(input: $i) { __typename ... on ExperienceCreated { experience { id } } }
}
"""
ISSUE = """
mutation($i: IssueInvitationsInput!) {
  issueInvitations(input: $i) { __typename ... on InvitationsIssued { report { issued } } }
}
"""
ACCEPT = """
mutation($i: RespondToInvitationInput!) { respondToInvitation(input: $i) {
  __typename ... on InvitationAnswered { invitation { door { code } } } } }
"""
REDEEM = """
mutation($i: RedeemInvitationInput!) { redeemInvitation(input: $i) { __typename } }
"""
RATE = """
mutation($i: RateExperienceInput!) { rateExperience(input: $i) { __typename } }
"""
EARN = """
mutation($input: RecordEarnEventInput!) { recordEarnEvent(input: $input) { __typename } }
"""
MERGE = """
mutation($input: MergeMembersInput!) { mergeMembers(input: $input) { __typename } }
"""
EXPORT = "mutation { exportMyData { identity loyalty exportedAt } }"
ERASE = "mutation { eraseMe { memberId erasedAt } }"


def _mobile() -> str:
    """A French mobile number, in the national spelling with spaces."""
    n = uuid.uuid4().int
    national = f"06{'01245678'[n % 8]}{n // 8 % 10**7:07d}"
    return " ".join(national[i : i + 2] for i in range(0, 10, 2))


class Person:
    """The member's personal data, unique to this test."""

    def __init__(self) -> None:
        tag = uuid.uuid4().hex[:10]
        self.tag = tag
        self.email = f"ottilie.{tag}@example.org"
        self.old_email = f"o.vandersteen.{tag}@example.org"  # a duplicate's, merged into them
        self.phone = _mobile()
        self.name = f"Ottilie Vandersteen {tag}"
        self.old_name = f"O. Vandersteen {tag}"
        self.birth_date = "1961-07-19"
        self.card = f"CARD-{tag}"
        self.ticketing = f"TKT-{tag}"
        self.device = f"device-{tag}"
        self.comment = f"An unforgettable rehearsal {tag}"
        self.guests = [
            {"name": f"Guest Anselme {tag}", "email": f"anselme.{tag}@example.org"},
            {"name": f"Guest Berenice {tag}", "phone": _mobile()},
        ]
        self.interest = f"chamber-{tag}"


async def _invite(gateway: Gateway, token: str, person: Person) -> str:
    staff = await gateway.staff_token()
    venue = gateway.demo["staff"][0]["venueId"]
    now = datetime.now(UTC)
    experience = {
        "key": uuid.uuid4().hex,
        "venueId": venue,
        "title": {"en": "Open rehearsal", "fr": "Répétition ouverte"},
        "description": {"en": "Watch them rehearse.", "fr": "Assistez à la répétition."},
        "startsAt": (now + timedelta(minutes=40)).isoformat(),
        "endsAt": (now + timedelta(hours=3)).isoformat(),
        "seats": 4,
        "guestAllowance": 3,
        "invitationsOpenAt": (now - timedelta(minutes=1)).isoformat(),
        "invitationsCloseAt": (now + timedelta(minutes=30)).isoformat(),
        "interests": [person.interest],
    }
    created = await gateway.data(CREATE_EXPERIENCE, {"i": experience}, token=staff)
    experience_id = created["createExperience"]["experience"]["id"]
    issued = await gateway.data(
        ISSUE, {"i": {"experienceId": experience_id, "key": uuid.uuid4().hex}}, token=staff
    )
    assert issued["issueInvitations"]["report"]["issued"] == 1, issued
    mine = await gateway.data("{ me { invitations { id experience { id } } } }", token=token)
    [invitation] = [
        i["id"] for i in mine["me"]["invitations"] if i["experience"]["id"] == experience_id
    ]
    return str(invitation)


async def _use_every_feature(gateway: Gateway, person: Person) -> tuple[str, str, str]:
    """The member's id, their access token and the id of a duplicate merged into them, once
    they used every feature."""
    partner, key = await partner_key(gateway)
    _, _, referrer_code = await member(gateway)
    waiting = await register_referral(gateway, key, referral_input(referrer_code, person.email))
    assert waiting["__typename"] == "ReferralRegistered", waiting
    registered = await gateway.data(
        REGISTER,
        {
            "input": {
                "email": person.email,
                "password": gateway.PASSWORD,
                "phone": person.phone,
                "displayName": person.name,
                "birthDate": person.birth_date,
                "locale": "FR",
                "idempotencyKey": f"signup-{person.tag}",
            }
        },
    )
    assert registered["registerMember"]["__typename"] == "MemberRegistered", registered
    member_id = registered["registerMember"]["member"]["id"]
    joined_before = await gateway.data(
        REGISTER,
        {
            "input": {
                "email": person.old_email,
                "password": gateway.PASSWORD,
                "displayName": person.old_name,
                "birthDate": person.birth_date,
            }
        },
    )
    duplicate = joined_before["registerMember"]["member"]["id"]
    merged = await gateway.data(
        MERGE,
        {"input": {"survivorId": member_id, "absorbedId": duplicate, "reason": "duplicate"}},
        token=await gateway.admin_token(),
    )
    assert merged["mergeMembers"]["__typename"] == "MembersMerged", merged
    failed = await gateway.gql(
        "mutation($i: LoginInput!) { login(input: $i) { __typename } }",
        {"i": {"email": person.email, "password": "not the password at all"}},
    )
    assert failed["data"]["login"]["__typename"] == "InvalidCredentials", failed
    token = await gateway.token(person.email)
    for kind, value in (
        ("MEMBERSHIP_CARD", person.card),
        ("TICKETING_ID", person.ticketing),
        ("DEVICE", person.device),
    ):
        linked = await gateway.data(LINK, {"i": {"kind": kind, "value": value}}, token=token)
        assert linked["linkIdentifier"]["__typename"] == "IdentifierLinked", linked
    await gateway.data(
        PREFERENCES,
        {
            "i": {
                "consents": [
                    {"channel": "EMAIL", "granted": True},
                    {"channel": "SMS", "granted": True},
                ],
                "invitationCapPer30Days": 7,
                "quietHours": {"start": "03:10:00", "end": "03:40:00", "timezone": "Asia/Tokyo"},
                "interests": [person.interest],
            }
        },
        token=token,
    )
    await gateway.settle()
    invitation = await _invite(gateway, token, person)
    accepted = await gateway.data(
        ACCEPT,
        {"i": {"invitationId": invitation, "answer": "ACCEPT", "guests": person.guests}},
        token=token,
    )
    door_code = accepted["respondToInvitation"]["invitation"]["door"]["code"]
    staff = await gateway.staff_token()
    venue = gateway.demo["staff"][0]["venueId"]
    checked = await gateway.data(REDEEM, {"i": {"code": door_code, "venueId": venue}}, token=staff)
    assert checked["redeemInvitation"]["__typename"] == "CheckedIn", checked
    rated = await gateway.data(
        RATE,
        {"i": {"invitationId": invitation, "score": 9, "comment": person.comment}},
        token=token,
    )
    assert rated["rateExperience"]["__typename"] == "ExperienceRated", rated
    purchase = {
        "memberId": member_id,
        "externalId": uuid.uuid4().hex,
        "trigger": "PURCHASE",
        "occurredAt": datetime.now(UTC).isoformat(),
        "amount": "42.50",
        "currency": "EUR",
        "category": "ticket",
        "venueId": venue,
    }
    earned = await gateway.data(EARN, {"input": purchase}, token=staff)
    assert earned["recordEarnEvent"]["__typename"] == "EarnRecorded", earned
    my_code = (await gateway.data("{ me { referralCode } }", token=token))["me"]["referralCode"]
    async with receiving() as receiver:
        hook = await gateway.data(
            SET_WEBHOOK,
            {"input": {"url": receiver.url, "partnerId": partner, "allowLoopbackHttp": True}},
            token=await gateway.admin_token(),
        )
        receiver.secrets.append(hook["setPartnerWebhook"]["secret"])
        friend = f"friend.{person.tag}@example.org"
        brought = await register_referral(
            gateway, key, referral_input(my_code, friend, reference=f"order-{person.tag}")
        )
        assert brought["__typename"] == "ReferralRegistered", brought
        await receiver.wait_for(1)
    await gateway.settle()
    return member_id, token, duplicate


# ---- reading the database ------------------------------------------------------------------


async def _delivered(gateway: Gateway, ids: list[str]) -> None:
    """Wait until identity's relay delivered every event about these members to loyalty."""

    async def done() -> bool:
        async with gateway.engine.connect() as conn:
            waiting = await conn.scalar(
                sa.text(
                    "SELECT count(*) FROM identity.outbox WHERE delivered_at IS NULL "
                    "AND (payload->>'member_id' = ANY(:ids) OR payload->>'absorbed_id' = ANY(:ids))"
                ),
                {"ids": ids},
            )
        return waiting == 0

    await eventually(done, tries=400)


def _leaves(value: Any) -> set[Any]:
    """Every scalar of a JSON document, as text, and each date-time also as a value."""
    found: set[Any] = set()
    if isinstance(value, dict):
        for v in value.values():
            found |= _leaves(v)
    elif isinstance(value, list):
        for v in value:
            found |= _leaves(v)
    elif isinstance(value, str):
        found.add(value)
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            if parsed.tzinfo is not None:
                found.add(parsed)
    elif value is not None:
        found.add(json.dumps(value))
    return found


def _values(value: Any) -> set[Any]:
    """A column's value as the export would show it: its scalars, one by one."""
    if value is None:
        return set()
    if isinstance(value, dict | list):
        return _leaves(value)
    if isinstance(value, datetime):
        return {value}
    if isinstance(value, date | time):
        return {value.isoformat()}
    if isinstance(value, bool | int | Decimal):
        return {json.dumps(value if not isinstance(value, Decimal) else str(value))}
    return {str(value)}


async def _member_values(gateway: Gateway, ids: list[str]) -> dict[tuple[str, str], set[Any]]:
    found: dict[tuple[str, str], set[Any]] = {}
    async with gateway.engine.connect() as conn:
        for table, column in personal_columns():
            selected = column
            if (table, column) == ("identity.outbox", "payload"):
                # a one-time code is for the messaging system alone, never shown back, not even
                # in the export: whoever holds the session would verify someone else's email
                selected = "payload - 'verification_code'"
            rows = await conn.scalars(
                sa.text(f"SELECT {selected} FROM {table} WHERE {MEMBER_ROWS[table]}"),
                {"ids": ids},
            )
            found[(table, column)] = set().union(*(_values(v) for v in rows))
    return found


async def _tables(conn: Any) -> list[str]:
    rows = await conn.scalars(
        sa.text(
            "SELECT table_schema || '.' || table_name FROM information_schema.tables "
            "WHERE table_schema IN ('identity', 'loyalty') AND table_type = 'BASE TABLE' "
            "ORDER BY 1"
        )
    )
    return [t for t in rows if t not in IGNORED_TABLES]


async def _where_found(gateway: Gateway, needles: list[str]) -> list[tuple[str, str]]:
    """Each (table, needle) where a row, JSON payloads included, holds the needle (one scan of
    each table, for all the needles)."""
    lowered = [n.lower() for n in needles]
    patterns = [
        "%" + n.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%" for n in lowered
    ]
    hits = set()
    async with gateway.engine.connect() as conn:
        for table in await _tables(conn):
            rows = await conn.scalars(
                sa.text(
                    f"SELECT lower(r::text) FROM {table} AS r "
                    "WHERE lower(r::text) LIKE ANY(:patterns)"
                ),
                {"patterns": patterns},
            )
            for text in rows:
                hits |= {(table, n) for n, low in zip(needles, lowered, strict=True) if low in text}
    return sorted(hits)


async def _ledger(gateway: Gateway, member_id: str) -> dict[str, Any]:
    async with gateway.engine.connect() as conn:
        by_kind = await conn.execute(
            sa.text(
                "SELECT a.kind, sum(p.delta) FROM loyalty.postings p "
                "JOIN loyalty.accounts a ON a.id = p.account_id GROUP BY a.kind ORDER BY 1"
            )
        )
        mine = await conn.execute(
            sa.text(
                "SELECT count(*), coalesce(sum(points), 0) FROM loyalty.journal_entries "
                "WHERE member_id = CAST(:m AS uuid)"
            ),
            {"m": member_id},
        )
        balance = await conn.scalar(
            sa.text(
                "SELECT balance FROM loyalty.accounts "
                "WHERE member_id = CAST(:m AS uuid) AND kind = 'member'"
            ),
            {"m": member_id},
        )
        return {
            "by_kind": [tuple(r) for r in by_kind],
            "mine": tuple(mine.one()),
            "balance": balance,
        }


async def _hashes(gateway: Gateway, identifiers: list[tuple[str, str]]) -> list[str]:
    async with gateway.engine.connect() as conn:
        key = bytes(await conn.scalar(sa.text("SELECT key FROM identity.identifier_keys")))
    return [keyed_hash(key, kind, value) for kind, value in identifiers]


# ---- the scenario --------------------------------------------------------------------------


async def test_a_member_who_used_every_feature_finds_every_personal_column_in_their_export_and_none_after_erasure(
    gateway: Gateway,
) -> None:
    person = Person()
    member_id, token, duplicate = await _use_every_feature(gateway, person)

    await _delivered(gateway, [member_id, duplicate])
    exported = (await gateway.data(EXPORT, token=token))["exportMyData"]

    leaves = _leaves(exported)
    values = await _member_values(gateway, [member_id, duplicate])
    unseeded = [f"{t}.{c}" for (t, c), v in values.items() if not v]
    assert unseeded == [], "the scenario must give each personal column a value"
    missing = {
        f"{t}.{c}": sorted(map(str, v - leaves)) for (t, c), v in values.items() if v - leaves
    }
    assert missing == {}, "the export must hold every personal column's values"
    loyalty = exported["loyalty"]
    assert [g["name"] for i in loyalty["invitations"] for g in i["guest_details"]] == [
        g["name"] for g in person.guests
    ]
    assert [e["event"]["amount"] for e in loyalty["entries"] if e["kind"] == "earn" and e["event"]]
    assert [(r["channel"], r["status"]) for r in loyalty["referrals_received"]] == [
        ("partner", "converted")
    ]
    made = sorted((r["channel"], r["status"]) for r in loyalty["referrals_made"])
    assert made == [("guest", "pending"), ("guest", "pending"), ("partner", "pending")]
    referee_keys = {k for r in loyalty["referrals_made"] + loyalty["referrals_received"] for k in r}
    assert not referee_keys & {
        "referee_email_hash",
        "referee_phone_hash",
        "referee_id",
        "referrer_id",
    }
    assert f"friend.{person.tag}" not in json.dumps(exported)

    ledger = await _ledger(gateway, member_id)
    phone = normalise.phone(person.phone)
    guest_phone = normalise.phone(person.guests[1]["phone"])
    guest_email = person.guests[0]["email"]
    needles = [
        person.email,
        person.old_email,
        phone,
        person.phone,
        person.name,
        person.old_name,
        person.birth_date,
        person.card,
        person.ticketing,
        person.device,
        person.comment,
        *(g["name"] for g in person.guests),
        guest_email,
        guest_phone,
        person.guests[1]["phone"],
        *await _hashes(
            gateway,
            [
                ("email", person.email),
                ("email", person.old_email),
                ("phone", phone),
                ("email", guest_email),
                ("phone", guest_phone),
            ],
        ),
    ]
    before = await _where_found(gateway, needles)
    assert {t for t, _ in before} >= {
        "identity.members",
        "identity.identifiers",
        "identity.outbox",
        "identity.login_throttle",
        "loyalty.inbox",
        "loyalty.invitation_guests",
        "loyalty.invitations",
        "loyalty.referrals",
        "loyalty.referral_events",
    }

    erased = (await gateway.data(ERASE, token=token))["eraseMe"]
    assert erased["memberId"] == member_id
    await _delivered(gateway, [member_id, duplicate])

    async def forgotten() -> bool:
        return not await _where_found(gateway, needles)

    await eventually(forgotten, tries=200)
    assert await _where_found(gateway, needles) == []
    assert await _ledger(gateway, member_id) == ledger
