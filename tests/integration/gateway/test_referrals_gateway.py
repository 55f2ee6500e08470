"""Referrals through the public GraphQL API, as a new user tries them: a partner registers a
referral, the referee signs up and makes a first purchase, the referrer is rewarded once with an
entry that says why, the partner gets a signed webhook (checked by the Standard Webhooks
library's own verifier) and reads its delivery log; members join with a friend's code; admins
read the ambassadors' board."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.integration.webhook_receiver import receiving

REGISTER_REFERRAL = """
mutation($input: RegisterReferralInput!) {
  registerReferral(input: $input) {
    __typename
    ... on ReferralRegistered { created referral { id reference code status holdsUntil } }
    ... on UserError { code message }
  }
}
"""
PARTNER_REFERRALS = """
query($after: String) {
  partnerReferrals(first: 50, after: $after) {
    nodes { id reference status convertedAt }
    endCursor hasNextPage
    figures { registered pending joined converted voided expired conversionPercent }
  }
}
"""
SET_WEBHOOK = """
mutation($input: SetPartnerWebhookInput!) {
  setPartnerWebhook(input: $input) {
    __typename
    ... on PartnerWebhook { partnerId url secret loopbackHttpAllowed }
    ... on UserError { code message }
  }
}
"""
DELIVERIES = """
{ partnerWebhookDeliveries(first: 20) {
    messageId eventType status attempts { statusCode error url }
} }
"""
ME = """
{ me { referralCode referralLink
       referrals(locale: EN) { channel status statusText points }
       account { balance history(first: 20) { nodes { kind points summary actor lines { ruleKey reason } } } } } }
"""
REGISTER = """
mutation($input: RegisterMemberInput!) {
  registerMember(input: $input) {
    __typename
    ... on MemberRegistered { member { id } referral { accepted code message } }
    ... on UserError { code message }
  }
}
"""
EARN = """
mutation($input: RecordEarnEventInput!) {
  recordEarnEvent(input: $input) { __typename ... on UserError { code message } }
}
"""


async def partner_key(
    gateway: Any,
    *,
    triggers: tuple[str, ...] = ("PURCHASE",),
    referrals: bool = True,
    venues: list[str] | None = None,
) -> tuple[str, str]:
    """A new partner and its key with this scope: (partner id, API key)."""
    admin = await gateway.admin_token()
    created = await gateway.data(
        'mutation { createPartner(input: {name: "Billetterie", kind: "reseller"}) { partner { id } } }',
        token=admin,
    )
    partner = created["createPartner"]["partner"]["id"]
    scope = {"triggers": list(triggers), "venueIds": venues, "registerReferrals": referrals}
    issued = await gateway.data(
        """mutation($i: IssuePartnerApiKeyInput!) { issuePartnerApiKey(input: $i) {
             ... on ApiKeyIssued { secret key { scope { triggers venueIds registerReferrals } } } } }""",
        {"i": {"partnerId": partner, "scope": scope}},
        token=admin,
    )
    assert issued["issuePartnerApiKey"]["key"]["scope"] == scope
    return partner, issued["issuePartnerApiKey"]["secret"]


def referral_input(code: str, email: str, **fields: Any) -> dict[str, Any]:
    given = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    return {
        "input": {
            "code": code,
            "reference": fields.pop("reference", uuid.uuid4().hex),
            "email": email,
            "consent": {"method": "ONLINE_FORM", "givenAt": given},
            **fields,
        }
    }


async def register_referral(gateway: Any, key: str, variables: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = (
        await gateway.data(REGISTER_REFERRAL, variables, headers={"x-api-key": key})
    )["registerReferral"]
    return found


async def member(gateway: Any) -> tuple[str, str, str]:
    """A new member: (id, access token, referral code)."""
    member_id, email = await gateway.register()
    token = await gateway.token(email)
    code = (await gateway.data("{ me { referralCode } }", token=token))["me"]["referralCode"]
    return member_id, token, code


async def eventually(check: Any, tries: int = 200) -> Any:
    for _ in range(tries):
        found = await check()
        if found:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError("the condition never held")


async def test_a_partners_referral_converts_rewards_once_and_the_partner_is_told_by_signed_webhooks(
    gateway: Any,
) -> None:
    partner, key = await partner_key(gateway)
    referrer_id, referrer, code = await member(gateway)
    async with receiving() as receiver:
        hook = (
            await gateway.data(
                SET_WEBHOOK,
                {"input": {"url": receiver.url, "partnerId": partner, "allowLoopbackHttp": True}},
                token=await gateway.admin_token(),
            )
        )["setPartnerWebhook"]
        assert hook["__typename"] == "PartnerWebhook" and hook["secret"].startswith("whsec_")
        receiver.secrets.append(hook["secret"])
        friend = f"friend.{uuid.uuid4().hex[:10]}@example.org"
        registered = await register_referral(
            gateway, key, referral_input(code, friend.upper(), reference="order-77")
        )
        assert registered["__typename"] == "ReferralRegistered", registered
        assert registered["referral"]["status"] == "PENDING"
        assert registered["referral"]["code"] == code
        friend_id, _ = await gateway.register(friend)
        await gateway.settle()
        staff = await gateway.staff_token()
        purchase = {
            "memberId": friend_id,
            "externalId": uuid.uuid4().hex,
            "trigger": "PURCHASE",
            "occurredAt": datetime.now(UTC).isoformat(),
            "amount": "30.00",
            "currency": "EUR",
            "category": "ticket",
            "venueId": gateway.demo["staff"][0]["venueId"],
        }
        for _ in range(2):  # a second purchase rewards nothing more
            purchase["externalId"] = uuid.uuid4().hex
            assert (await gateway.data(EARN, {"input": purchase}, token=staff))["recordEarnEvent"][
                "__typename"
            ] == "EarnRecorded"
        me = (await gateway.data(ME, token=referrer))["me"]
        rewards = [e for e in me["account"]["history"]["nodes"] if e["actor"] == "system:referrals"]
        assert rewards == [
            {
                "kind": "EARN",
                "points": 250,
                "summary": "Referral: +250 points",
                "actor": "system:referrals",
                "lines": [
                    {
                        "ruleKey": "referral",
                        "reason": "Bring a friend (rules v1): when someone you referred joins "
                        "and takes part: 250 points",
                    }
                ],
            }
        ]
        assert me["referrals"] == [
            {
                "channel": "PARTNER",
                "status": "CONVERTED",
                "statusText": "Joined and took part: you were rewarded.",
                "points": 250,
            }
        ]
        await receiver.wait_for(2)
        assert receiver.refused == 0
        [told_registered] = receiver.payloads("referral.registered")
        [told_converted] = receiver.payloads("referral.converted")
        assert told_registered["data"]["partner_reference"] == "order-77"
        assert told_converted["data"]["status"] == "converted"
        assert friend not in str(receiver.received) and referrer_id not in str(receiver.received)
        log = await eventually(lambda: _delivered(gateway, key, 2))
        assert sorted(d["eventType"] for d in log) == ["referral.converted", "referral.registered"]
        assert all(d["attempts"][0]["statusCode"] == 204 for d in log)
    page = (await gateway.data(PARTNER_REFERRALS, headers={"x-api-key": key}))["partnerReferrals"]
    assert [(n["reference"], n["status"]) for n in page["nodes"]] == [("order-77", "CONVERTED")]
    assert page["figures"] == {
        "registered": 1,
        "pending": 0,
        "joined": 0,
        "converted": 1,
        "voided": 0,
        "expired": 0,
        "conversionPercent": 100,
    }


async def _delivered(gateway: Any, key: str, count: int) -> list[dict[str, Any]] | None:
    log = (await gateway.data(DELIVERIES, headers={"x-api-key": key}))["partnerWebhookDeliveries"]
    done = [d for d in log if d["status"] == "DELIVERED"]
    return done if len(done) == count else None


async def test_a_partner_cannot_tell_a_member_the_referrer_or_someone_else_s_referee_apart(
    gateway: Any,
) -> None:
    _, key = await partner_key(gateway)
    _, other_key = await partner_key(gateway)
    _, _, code = await member(gateway)
    referrer_email = f"ref.{uuid.uuid4().hex[:8]}@example.org"
    referrer_id, _ = await gateway.register(referrer_email)
    own_code = (
        await gateway.data("{ me { referralCode } }", token=await gateway.token(referrer_email))
    )["me"]["referralCode"]
    _, member_email = await gateway.register()
    referred = f"referred.{uuid.uuid4().hex[:8]}@example.org"
    assert (await register_referral(gateway, other_key, referral_input(code, referred)))[
        "__typename"
    ] == "ReferralRegistered"
    answers = [
        await register_referral(gateway, key, referral_input(code, member_email)),
        await register_referral(gateway, key, referral_input(own_code, referrer_email)),
        await register_referral(gateway, key, referral_input(code, referred)),
    ]
    assert (
        answers
        == [
            {
                "__typename": "ReferralRejected",
                "code": "NOT_ELIGIBLE",
                "message": "This person cannot be referred.",
            }
        ]
        * 3
    )
    bad = await register_referral(gateway, key, referral_input(code, "not-an-email"))
    assert (bad["__typename"], bad["code"]) == ("InvalidReferee", "INVALID_EMAIL")
    del referrer_id


async def test_a_partner_reads_and_touches_only_its_own_referrals_and_deliveries(
    gateway: Any,
) -> None:
    a_partner, a_key = await partner_key(gateway)
    _, b_key = await partner_key(gateway)
    _, _, code = await member(gateway)
    await register_referral(
        gateway, a_key, referral_input(code, f"a.{uuid.uuid4().hex}@example.org", reference="same")
    )
    b = await register_referral(
        gateway, b_key, referral_input(code, f"b.{uuid.uuid4().hex}@example.org", reference="same")
    )
    assert b["__typename"] == "ReferralRegistered" and b["created"] is True
    b_page = (await gateway.data(PARTNER_REFERRALS, headers={"x-api-key": b_key}))[
        "partnerReferrals"
    ]
    assert [n["id"] for n in b_page["nodes"]] == [b["referral"]["id"]]
    assert b_page["figures"]["registered"] == 1
    hijack = await gateway.gql(
        SET_WEBHOOK,
        {"input": {"url": "https://example.org/hooks", "partnerId": a_partner}},
        headers={"x-api-key": b_key},
    )
    assert hijack["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    loopback = (
        await gateway.data(
            SET_WEBHOOK, {"input": {"url": "http://127.0.0.1:9/x"}}, headers={"x-api-key": b_key}
        )
    )["setPartnerWebhook"]
    assert (loopback["__typename"], loopback["code"]) == ("WebhookRefused", "WEBHOOK_URL_REFUSED")
    assert (await gateway.data(DELIVERIES, headers={"x-api-key": b_key}))[
        "partnerWebhookDeliveries"
    ] == []
    for query in (PARTNER_REFERRALS, DELIVERIES):
        member_token = (await member(gateway))[1]
        refused = await gateway.gql(query, token=member_token)
        assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_a_partner_acts_only_within_the_scope_its_key_was_given(gateway: Any) -> None:
    venue = gateway.demo["staff"][0]["venueId"]
    other_venue = gateway.demo["staff"][1]["venueId"]
    _, no_referrals = await partner_key(gateway, referrals=False)
    _, _, code = await member(gateway)
    refused = await register_referral(
        gateway, no_referrals, referral_input(code, f"x.{uuid.uuid4().hex}@example.org")
    )
    assert refused == {
        "__typename": "OutOfScope",
        "code": "REFERRALS_NOT_ALLOWED",
        "message": "this API key may not register referrals",
    }
    _, key = await partner_key(gateway, venues=[venue])
    member_id = (await member(gateway))[0]
    base = {
        "memberId": member_id,
        "externalId": uuid.uuid4().hex,
        "trigger": "PURCHASE",
        "occurredAt": datetime.now(UTC).isoformat(),
        "amount": "10",
        "currency": "EUR",
        "venueId": venue,
    }

    async def earn(**changes: Any) -> dict[str, Any]:
        variables = {"input": {**base, "externalId": uuid.uuid4().hex, **changes}}
        found: dict[str, Any] = (await gateway.data(EARN, variables, headers={"x-api-key": key}))[
            "recordEarnEvent"
        ]
        return found

    assert (await earn())["__typename"] == "PartnerEarnRecorded"
    assert await earn(trigger="BIRTHDAY") == {
        "__typename": "OutOfScope",
        "code": "TRIGGER_NOT_ALLOWED",
        "message": "this API key may not record birthday events",
    }
    for venue_id in (other_venue, None):
        assert await earn(venueId=venue_id) == {
            "__typename": "OutOfScope",
            "code": "VENUE_NOT_ALLOWED",
            "message": "this API key may not record events at that venue",
        }
    by_email = await earn(memberId=None, identifier={"kind": "EMAIL", "value": "a@example.org"})
    assert by_email == {
        "__typename": "OutOfScope",
        "code": "IDENTIFIER_NOT_ALLOWED",
        "message": "a partner names a member by member id, membership card or ticketing id",
    }


async def test_an_admin_widens_a_keys_scope_and_it_applies_at_once(gateway: Any) -> None:
    _, key = await partner_key(gateway, referrals=False)
    admin = await gateway.admin_token()
    key_id = await _key_id(gateway, key)
    scope = {"triggers": ["PURCHASE", "ATTENDANCE"], "venueIds": None, "registerReferrals": True}
    changed = await gateway.data(
        """mutation($i: SetPartnerScopeInput!) { setPartnerScope(input: $i) {
             __typename ... on PartnerScopeSet { key { scope { triggers registerReferrals } } } } }""",
        {"i": {"keyId": key_id, "scope": scope}},
        token=admin,
    )
    assert changed["setPartnerScope"]["key"]["scope"] == {
        "triggers": ["ATTENDANCE", "PURCHASE"],
        "registerReferrals": True,
    }
    _, _, code = await member(gateway)
    now_allowed = await register_referral(
        gateway, key, referral_input(code, f"y.{uuid.uuid4().hex}@example.org")
    )
    assert now_allowed["__typename"] == "ReferralRegistered"
    member_token = (await member(gateway))[1]
    forbidden = await gateway.gql(
        "mutation($i: SetPartnerScopeInput!) { setPartnerScope(input: $i) { __typename } }",
        {"i": {"keyId": key_id, "scope": scope}},
        token=member_token,
    )
    assert forbidden["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def _key_id(gateway: Any, key: str) -> str:
    prefix = key.split("_")[1]
    async with gateway.engine.connect() as conn:
        import sqlalchemy as sa

        found = await conn.scalar(
            sa.text("SELECT CAST(id AS text) FROM identity.api_keys WHERE prefix = :p"),
            {"p": prefix},
        )
    return str(found)


async def test_a_partner_is_never_given_a_balance(gateway: Any) -> None:
    """Partners' outcomes have no balance to ask for: asking is a validation error."""
    for kind, mutation in (
        ("PartnerEarnRecorded", "recordEarnEvent"),
        ("PartnerEarnReversed", "reverseEarnEvent"),
    ):
        asked = await gateway.gql(
            f"mutation($i: {'RecordEarnEventInput' if mutation == 'recordEarnEvent' else 'ReverseEarnEventInput'}!)"
            f" {{ {mutation}(input: $i) {{ ... on {kind} {{ balance }} }} }}",
            {"i": {}},
        )
        assert asked["errors"][0]["message"] == (f"Cannot query field 'balance' on type '{kind}'.")


async def test_a_friend_joins_with_a_members_code_and_a_mistyped_code_is_refused_before_joining(
    gateway: Any,
) -> None:
    _, referrer, code = await member(gateway)
    link = (await gateway.data("{ me { referralLink } }", token=referrer))["me"]["referralLink"]
    assert link == f"https://loyalty.example.org/join?ref={code}"
    email = f"joiner.{uuid.uuid4().hex[:8]}@example.org"
    mistyped = code[:-1] + ("2" if code[-1] != "2" else "3")
    base = {"email": email, "password": gateway.PASSWORD}
    refused = (await gateway.data(REGISTER, {"input": {**base, "referralCode": mistyped}}))[
        "registerMember"
    ]
    assert refused == {
        "__typename": "ReferralCodeRejected",
        "code": "CODE_CHECK_FAILED",
        "message": "This is not a member's referral code.",
    }
    joined = (await gateway.data(REGISTER, {"input": {**base, "referralCode": link}}))[
        "registerMember"
    ]
    assert joined["__typename"] == "MemberRegistered", joined
    assert joined["referral"] == {"accepted": True, "code": None, "message": None}
    mine = (await gateway.data(ME, token=referrer))["me"]["referrals"]
    assert mine == [
        {
            "channel": "SIGNUP",
            "status": "JOINED",
            "statusText": "Joined; waiting for their first qualifying activity.",
            "points": 0,
        }
    ]


async def test_admins_read_the_ambassadors_board_ranked_by_quality(gateway: Any) -> None:
    member_token = (await member(gateway))[1]
    forbidden = await gateway.gql("{ programmeStats { ambassadors { asOf } } }", token=member_token)
    assert forbidden["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    board = (
        await gateway.data(
            "{ programmeStats { ambassadors(first: 5) { rules ambassadors { rank score summary displayName } rejections { reason count } } } }",
            token=await gateway.admin_token(),
        )
    )["programmeStats"]["ambassadors"]
    assert board["rules"].startswith(
        "Ambassadors are ranked by the people they brought in who joined over the last 90 days"
    )
    ranks = [a["rank"] for a in board["ambassadors"]]
    assert ranks == sorted(ranks)


async def test_joining_with_a_code_and_a_members_email_is_answered_as_a_new_member_is(
    gateway: Any,
) -> None:
    _, _, code = await member(gateway)
    _, taken = await gateway.register()
    fresh = f"fresh.{uuid.uuid4().hex[:8]}@example.org"
    answers = [
        (
            await gateway.data(
                REGISTER,
                {"input": {"email": email, "password": gateway.PASSWORD, "referralCode": code}},
            )
        )["registerMember"]
        for email in (taken, fresh)
    ]
    assert [(a["__typename"], a["referral"]) for a in answers] == [
        ("MemberRegistered", {"accepted": True, "code": None, "message": None})
    ] * 2


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
RESPOND = """
mutation($i: RespondToInvitationInput!) {
  respondToInvitation(input: $i) { __typename ... on InvitationAnswered { invitation { state } } }
}
"""


async def invitation_for(gateway: Any, token: str, *, starts_in: timedelta) -> str:
    """A new experience at the demo venue, offered to the member of ``token`` only (the one
    interested in it): the invitation's id."""
    staff = await gateway.staff_token()
    venue = gateway.demo["staff"][0]["venueId"]
    interest = f"interest-{uuid.uuid4().hex[:10]}"
    await gateway.data(
        "mutation($i: UpdateContactPreferencesInput!) { updateContactPreferences(input: $i) { __typename } }",
        {"i": {"consents": [{"channel": "EMAIL", "granted": True}], "interests": [interest]}},
        token=token,
    )
    await gateway.settle()
    now = datetime.now(UTC)
    experience = {
        "key": uuid.uuid4().hex,
        "venueId": venue,
        "title": {"en": "Open rehearsal", "fr": "Répétition ouverte"},
        "description": {"en": "Watch them rehearse.", "fr": "Assistez à la répétition."},
        "startsAt": (now + starts_in).isoformat(),
        "endsAt": (now + starts_in + timedelta(hours=2)).isoformat(),
        "seats": 4,
        "guestAllowance": 3,
        "invitationsOpenAt": (now - timedelta(minutes=1)).isoformat(),
        "invitationsCloseAt": (now + starts_in - timedelta(minutes=5)).isoformat(),
        "interests": [interest],
    }
    created = (await gateway.data(CREATE_EXPERIENCE, {"i": experience}, token=staff))[
        "createExperience"
    ]
    experience_id = created["experience"]["id"]
    issued = await gateway.data(
        ISSUE, {"i": {"experienceId": experience_id, "key": uuid.uuid4().hex}}, token=staff
    )
    assert issued["issueInvitations"]["report"]["issued"] == 1, issued
    mine = (await gateway.data("{ me { invitations { id experience { id } } } }", token=token))[
        "me"
    ]["invitations"]
    [invitation] = [i["id"] for i in mine if i["experience"]["id"] == experience_id]
    return str(invitation)


async def test_guests_named_on_an_accepted_invitation_become_the_members_referrals(
    gateway: Any,
) -> None:
    _, token, _ = await member(gateway)
    invitation = await invitation_for(gateway, token, starts_in=timedelta(days=2))
    _, a_member = await gateway.register()
    guests = [
        {"name": "Léo", "email": f"leo.{uuid.uuid4().hex[:8]}@example.org"},
        {"name": "Alma"},  # no email or phone: not a referral
        {"name": "Sam", "email": a_member},  # already a member: quietly not a referral
    ]
    answered = (
        await gateway.data(
            RESPOND,
            {"i": {"invitationId": invitation, "answer": "ACCEPT", "guests": guests}},
            token=token,
        )
    )["respondToInvitation"]
    assert answered["invitation"]["state"] == "ACCEPTED", answered
    mine = (await gateway.data(ME, token=token))["me"]["referrals"]
    assert mine == [
        {
            "channel": "GUEST",
            "status": "PENDING",
            "statusText": "Waiting for them to join.",
            "points": 0,
        }
    ]


async def test_a_referee_whose_first_qualifying_event_is_a_check_in_at_the_door_converts(
    gateway: Any,
) -> None:
    _, key = await partner_key(gateway)
    _, referrer, code = await member(gateway)
    friend = f"doorway.{uuid.uuid4().hex[:8]}@example.org"
    assert (await register_referral(gateway, key, referral_input(code, friend)))[
        "__typename"
    ] == "ReferralRegistered"
    await gateway.register(friend)
    token = await gateway.token(friend)
    invitation = await invitation_for(gateway, token, starts_in=timedelta(minutes=40))
    accepted = await gateway.data(
        """mutation($i: RespondToInvitationInput!) { respondToInvitation(input: $i) {
             ... on InvitationAnswered { invitation { door { code } } } } }""",
        {"i": {"invitationId": invitation, "answer": "ACCEPT", "guests": []}},
        token=token,
    )
    door_code = accepted["respondToInvitation"]["invitation"]["door"]["code"]
    checked = await gateway.data(
        """mutation($i: RedeemInvitationInput!) { redeemInvitation(input: $i) { __typename } }""",
        {"i": {"code": door_code, "venueId": gateway.demo["staff"][0]["venueId"]}},
        token=await gateway.staff_token(),
    )
    assert checked["redeemInvitation"]["__typename"] == "CheckedIn", checked
    mine = (await gateway.data(ME, token=referrer))["me"]["referrals"]
    assert [(r["status"], r["points"]) for r in mine] == [("CONVERTED", 250)]
