"""Points through the public GraphQL API: the rulebook, earning, previews, history, rewards,
reversals and publishing rule sets."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

EARN = """
mutation Earn($input: RecordEarnEventInput!) {
  recordEarnEvent(input: $input) {
    __typename
    ... on EarnRecorded { created points balance pending entry { id summary lines { ruleKey ruleVersion points reason } } }
    ... on PartnerEarnRecorded { created points externalId summary }
    ... on UserError { code message }
  }
}
"""
SIMULATE = """
query Simulate($event: EarnEventInput!) {
  simulateEarn(event: $event) { total pending ruleVersion lines { ruleKey points reason } }
}
"""
DASHBOARD = """
{ me { account {
    balance pending
    tier { key name }
    progress { statusPoints pointsToNext next { key } countsToward policy }
    history(first: 10) { nodes { kind points summary actor lines { ruleKey reason } } pageInfo { hasNextPage endCursor } }
} } }
"""
REDEEM = """
mutation Redeem($input: RedeemRewardInput!) {
  redeemReward(input: $input) {
    __typename
    ... on RewardRedeemed { voucherCode balance cost created }
    ... on NotEnoughPoints { code needed available }
    ... on UserError { code message }
  }
}
"""
REVERSE = """
mutation Reverse($input: ReverseEarnEventInput!) {
  reverseEarnEvent(input: $input) {
    __typename
    ... on EarnReversed { pointsReversed shortfall balance }
    ... on UserError { code message }
  }
}
"""
PUBLISH = """
mutation Publish($input: PublishRuleSetInput!) {
  publishRuleSet(input: $input) {
    __typename
    ... on RuleSetPublished { version created changes { kind ruleKey lowersEarnings summary } }
    ... on RuleSetRejected { code message errors }
  }
}
"""


def _ticket(
    gateway: Any, member_id: str, amount: str, external_id: str | None = None
) -> dict[str, Any]:
    return {
        "input": {
            "memberId": member_id,
            "externalId": external_id or uuid.uuid4().hex,
            "trigger": "PURCHASE",
            "occurredAt": datetime.now(UTC).isoformat(),
            "amount": amount,
            "currency": "EUR",
            "category": "ticket",
            "venueId": gateway.demo["staff"][0]["venueId"],
        }
    }


async def test_the_rulebook_is_public_in_english_and_french(gateway: Any) -> None:
    en = (
        await gateway.data(
            "{ rewardRules { version rules { key title description } policies changelog { version inForce } } }"
        )
    )["rewardRules"]
    fr = (await gateway.data("{ rewardRules(locale: FR) { rules { key description } } }"))[
        "rewardRules"
    ]
    tickets_en = next(r for r in en["rules"] if r["key"] == "tickets")
    tickets_fr = next(r for r in fr["rules"] if r["key"] == "tickets")
    assert "2 points for every €1 spent" in tickets_en["description"]
    assert "2 points par tranche de 1\u00a0€" in tickets_fr["description"]
    assert en["changelog"][0]["inForce"] is True
    tiers = (await gateway.data("{ tiers { key threshold } }"))["tiers"]
    assert [t["key"] for t in tiers] == ["silver", "gold", "platinum"]


async def test_staff_record_a_purchase_and_the_member_sees_it_explained(gateway: Any) -> None:
    member_id, email = await gateway.register()
    staff = await gateway.staff_token()
    preview = (
        await gateway.data(
            SIMULATE,
            {
                "event": {
                    k: v
                    for k, v in _ticket(gateway, member_id, "45.90")["input"].items()
                    if k not in ("memberId", "externalId")
                }
            },
        )
    )["simulateEarn"]
    earned = (await gateway.data(EARN, _ticket(gateway, member_id, "45.90"), token=staff))[
        "recordEarnEvent"
    ]
    assert earned["__typename"] == "EarnRecorded", earned
    assert earned["points"] == preview["total"] == 91
    assert [(ln["ruleKey"], ln["points"]) for ln in earned["entry"]["lines"]] == [
        (ln["ruleKey"], ln["points"]) for ln in preview["lines"]
    ]
    account = (await gateway.data(DASHBOARD, token=await gateway.token(email)))["me"]["account"]
    assert account["balance"] == 91
    assert account["progress"]["statusPoints"] == 91
    assert (
        account["progress"]["next"]["key"] == "silver"
        and account["progress"]["pointsToNext"] == 409
    )
    (entry,) = account["history"]["nodes"]
    assert entry["actor"].startswith("staff:") and "91" in entry["lines"][0]["reason"]


async def test_earning_by_identifier_and_by_partner_api_key(gateway: Any) -> None:
    member_id, email = await gateway.register()
    card = f"card-{uuid.uuid4().hex[:8]}"
    await gateway.data(
        "mutation($c: String!) { linkIdentifier(input: {kind: MEMBERSHIP_CARD, value: $c}) { __typename } }",
        {"c": card},
        token=await gateway.token(email),
    )
    variables = _ticket(gateway, member_id, "10")
    del variables["input"]["memberId"], variables["input"]["venueId"]
    variables["input"]["identifier"] = {"kind": "MEMBERSHIP_CARD", "value": card}
    partner_key = gateway.demo["partners"][0]["apiKey"]
    by_partner = (await gateway.data(EARN, variables, headers={"x-api-key": partner_key}))[
        "recordEarnEvent"
    ]
    assert by_partner == {
        "__typename": "PartnerEarnRecorded",
        "created": True,
        "points": 20,
        "externalId": variables["input"]["externalId"],
        "summary": "Purchase: +20 points",
    }
    unknown = _ticket(gateway, str(uuid.uuid4()), "10")
    missing = (await gateway.data(EARN, unknown, headers={"x-api-key": partner_key}))[
        "recordEarnEvent"
    ]
    assert missing["__typename"] == "MemberNotFound"
    bad_key = await gateway.gql(EARN, variables, headers={"x-api-key": "lp_nope"})
    assert bad_key["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    member = await gateway.gql(EARN, variables, token=await gateway.token(email))
    assert member["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_a_revoked_partner_key_is_refused(gateway: Any) -> None:
    admin = await gateway.admin_token()
    partner = (
        await gateway.data(
            'mutation { createPartner(input: {name: "Café Lumière", kind: "cafe"}) { partner { id } } }',
            token=admin,
        )
    )["createPartner"]["partner"]
    issued = (
        await gateway.data(
            "mutation($p: ID!) { issuePartnerApiKey(input: {partnerId: $p}) { ... on ApiKeyIssued { secret key { id } } } }",
            {"p": partner["id"]},
            token=admin,
        )
    )["issuePartnerApiKey"]
    member_id, _ = await gateway.register()
    variables = _ticket(gateway, member_id, "5")
    del variables["input"]["venueId"]
    assert (await gateway.data(EARN, variables, headers={"x-api-key": issued["secret"]}))[
        "recordEarnEvent"
    ]["__typename"] == "PartnerEarnRecorded"
    await gateway.data(
        "mutation($k: ID!) { revokePartnerApiKey(input: {keyId: $k}) { __typename } }",
        {"k": issued["key"]["id"]},
        token=admin,
    )
    refused = await gateway.gql(EARN, variables, headers={"x-api-key": issued["secret"]})
    assert refused["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_a_member_redeems_a_reward_and_a_refund_reverses_the_earn(gateway: Any) -> None:
    member_id, email = await gateway.register()
    staff = await gateway.staff_token()
    external = uuid.uuid4().hex
    await gateway.data(EARN, _ticket(gateway, member_id, "100", external), token=staff)
    member = await gateway.token(email)
    rewards = (await gateway.data("{ rewards { id key cost eligible } }", token=member))["rewards"]
    coffee = next(r for r in rewards if r["key"] == "coffee")
    key = uuid.uuid4().hex
    redeemed = (
        await gateway.data(
            REDEEM, {"input": {"rewardId": coffee["id"], "idempotencyKey": key}}, token=member
        )
    )["redeemReward"]
    again = (
        await gateway.data(
            REDEEM, {"input": {"rewardId": coffee["id"], "idempotencyKey": key}}, token=member
        )
    )["redeemReward"]
    assert redeemed["__typename"] == "RewardRedeemed" and redeemed["balance"] == 50
    assert again["voucherCode"] == redeemed["voucherCode"] and again["created"] is False
    short = (
        await gateway.data(
            REDEEM,
            {"input": {"rewardId": coffee["id"], "idempotencyKey": uuid.uuid4().hex}},
            token=member,
        )
    )["redeemReward"]
    assert (short["__typename"], short["needed"], short["available"]) == (
        "NotEnoughPoints",
        150,
        50,
    )
    reversal = {
        "input": {
            "externalId": external,
            "reason": "refunded at the box office",
            "venueId": gateway.demo["staff"][0]["venueId"],
        }
    }
    reversed_ = (await gateway.data(REVERSE, reversal, token=staff))["reverseEarnEvent"]
    assert (reversed_["pointsReversed"], reversed_["shortfall"], reversed_["balance"]) == (
        50,
        150,
        0,
    )
    twice = (
        await gateway.data(
            REVERSE, {"input": {**reversal["input"], "reason": "again"}}, token=staff
        )
    )["reverseEarnEvent"]
    assert (twice["__typename"], twice["code"]) == ("ReversalRejected", "ALREADY_REVERSED")


async def test_admins_publish_rule_sets_and_reductions_must_be_announced(gateway: Any) -> None:
    admin = await gateway.admin_token()
    from services.loyalty.demo_rules import demo_rule_set_document

    soon = datetime.now(UTC) + timedelta(days=1)
    lower = demo_rule_set_document(soon)
    lower["rules"][0]["award"]["points"] = 1
    rejected = (await gateway.data(PUBLISH, {"input": {"document": lower}}, token=admin))[
        "publishRuleSet"
    ]
    assert (rejected["__typename"], rejected["code"]) == (
        "RuleSetRejected",
        "REDUCTION_NOT_ANNOUNCED",
    )
    invalid = {**lower, "tiers": [{"key": "x", "name_en": "X", "name_fr": "X", "threshold": -1}]}
    bad = (await gateway.data(PUBLISH, {"input": {"document": invalid}}, token=admin))[
        "publishRuleSet"
    ]
    assert bad["code"] == "RULE_SET_INVALID" and bad["errors"]
    announced = demo_rule_set_document(datetime.now(UTC) + timedelta(days=31))
    announced["rules"][0]["award"]["points"] = 1
    published = (
        await gateway.data(
            PUBLISH,
            {"input": {"document": announced, "idempotencyKey": "lower-tickets"}},
            token=admin,
        )
    )["publishRuleSet"]
    assert published["__typename"] == "RuleSetPublished", published
    assert any(c["ruleKey"] == "tickets" and c["lowersEarnings"] for c in published["changes"])
    book = (
        await gateway.data("{ rewardRules { version changelog { version upcoming inForce } } }")
    )["rewardRules"]
    assert book["changelog"][0] == {
        "version": published["version"],
        "upcoming": True,
        "inForce": False,
    }
    member = await gateway.token((await gateway.register())[1])
    forbidden = await gateway.gql(PUBLISH, {"input": {"document": announced}}, token=member)
    assert forbidden["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_a_merge_moves_points_to_the_survivor(gateway: Any) -> None:
    staff = await gateway.staff_token()
    survivor_id, survivor_email = await gateway.register()
    absorbed_id, _ = await gateway.register()
    await gateway.data(EARN, _ticket(gateway, survivor_id, "10"), token=staff)
    await gateway.data(EARN, _ticket(gateway, absorbed_id, "20"), token=staff)
    admin = await gateway.admin_token()
    await gateway.data(
        'mutation($s: ID!, $a: ID!) { mergeMembers(input: {survivorId: $s, absorbedId: $a, reason: "duplicate"}) { __typename } }',
        {"s": survivor_id, "a": absorbed_id},
        token=admin,
    )
    await gateway.settle()
    account = (await gateway.data(DASHBOARD, token=await gateway.token(survivor_email)))["me"][
        "account"
    ]
    assert account["balance"] == 60
    assert [n["kind"] for n in account["history"]["nodes"]].count("MERGE") == 1


async def test_admins_read_the_programme_liability_from_the_ledger(gateway: Any) -> None:
    admin = await gateway.admin_token()
    query = "{ programmeStats { outstandingPoints issuedPoints redeemedPoints expiredPoints reversedPoints } }"
    stats = (await gateway.data(query, token=admin))["programmeStats"]
    held = await gateway.count("loyalty.accounts WHERE member_id IS NOT NULL AND balance > 0")
    assert held > 0
    assert stats["outstandingPoints"] == (
        stats["issuedPoints"]
        - stats["reversedPoints"]
        - stats["redeemedPoints"]
        - stats["expiredPoints"]
    )
    async with gateway.engine.connect() as conn:
        import sqlalchemy as sa

        total = await conn.scalar(
            sa.text("SELECT sum(balance) FROM loyalty.accounts WHERE member_id IS NOT NULL")
        )
    assert stats["outstandingPoints"] == total
    member = await gateway.token((await gateway.register())[1])
    refused = await gateway.gql(query, token=member)
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
