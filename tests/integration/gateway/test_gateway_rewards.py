"""The rewards catalogue managed through the public GraphQL API: admins create, update and retire
rewards; everyone else is refused; every expected refusal is a typed outcome with a stable code;
per-member limits and validity windows answer redemptions as typed outcomes too."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

REWARD_FIELDS = """
  id key title description cost stock minTier perMemberLimit validFrom validUntil retiredAt
  titles { en fr } descriptions { en fr }
"""
CREATE = f"""
mutation Create($i: CreateRewardInput!, $locale: Locale) {{
  createReward(input: $i, locale: $locale) {{
    __typename
    ... on RewardCreated {{ created reward {{ {REWARD_FIELDS} }} }}
    ... on RewardKeyTaken {{ rewardId }}
    ... on InvalidValidityWindow {{ validFrom validUntil }}
    ... on UnknownTier {{ knownTiers }}
    ... on UserError {{ code message }}
  }}
}}
"""
UPDATE = f"""
mutation Update($i: UpdateRewardInput!) {{
  updateReward(input: $i) {{
    __typename
    ... on RewardUpdated {{ reward {{ {REWARD_FIELDS} }} }}
    ... on RewardAlreadyRetired {{ retiredAt }}
    ... on InvalidValidityWindow {{ validFrom validUntil }}
    ... on UnknownTier {{ knownTiers }}
    ... on UserError {{ code message }}
  }}
}}
"""
RETIRE = f"""
mutation Retire($i: RetireRewardInput!) {{
  retireReward(input: $i) {{
    __typename
    ... on RewardRetired {{ reward {{ {REWARD_FIELDS} }} }}
    ... on UserError {{ code message }}
  }}
}}
"""
REDEEM = """
mutation Redeem($input: RedeemRewardInput!) {
  redeemReward(input: $input) {
    __typename
    ... on RewardRedeemed { voucherCode balance }
    ... on RedemptionLimitReached { limit redeemed }
    ... on RewardOutsideValidity { validFrom validUntil }
    ... on UserError { code message }
  }
}
"""
EARN = """
mutation Earn($input: RecordEarnEventInput!) {
  recordEarnEvent(input: $input) { __typename ... on EarnRecorded { balance } }
}
"""


def _input(key: str | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "key": key or f"reward-{uuid.uuid4().hex[:8]}",
        "title": {"en": "Signed poster", "fr": "Affiche signée"},
        "description": {"en": "Signed by the company.", "fr": "Signée par la troupe."},
        "cost": 10,
        **extra,
    }


async def _create(gateway: Any, admin: str, **extra: Any) -> dict[str, Any]:
    result = (await gateway.data(CREATE, {"i": _input(**extra)}, token=admin))["createReward"]
    assert result["__typename"] == "RewardCreated", result
    reward: dict[str, Any] = result["reward"]
    return reward


async def _member_with_points(gateway: Any) -> str:
    """A new member's token, the member holding 200 points (a €100 ticket)."""
    member_id, email = await gateway.register()
    earn = {
        "input": {
            "memberId": member_id,
            "externalId": uuid.uuid4().hex,
            "trigger": "PURCHASE",
            "occurredAt": datetime.now(UTC).isoformat(),
            "amount": "100",
            "currency": "EUR",
            "category": "ticket",
            "venueId": gateway.demo["staff"][0]["venueId"],
        }
    }
    earned = (await gateway.data(EARN, earn, token=await gateway.staff_token()))["recordEarnEvent"]
    assert earned == {"__typename": "EarnRecorded", "balance": 200}
    return str(await gateway.token(email))


async def _redeem(gateway: Any, member: str, reward_id: str) -> dict[str, Any]:
    variables = {"input": {"rewardId": reward_id, "idempotencyKey": uuid.uuid4().hex}}
    result: dict[str, Any] = (await gateway.data(REDEEM, variables, token=member))["redeemReward"]
    return result


async def test_an_admin_creates_a_reward_and_creating_it_again_gives_back_the_same_one(
    gateway: Any,
) -> None:
    admin = await gateway.admin_token()
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    end = start + timedelta(days=30)
    fields = _input(
        stock=12,
        perMemberLimit=2,
        minTier="gold",
        validFrom=start.isoformat(),
        validUntil=end.isoformat(),
    )
    first = (await gateway.data(CREATE, {"i": fields}, token=admin))["createReward"]
    assert first == {
        "__typename": "RewardCreated",
        "created": True,
        "reward": {
            "id": first["reward"]["id"],
            "key": fields["key"],
            "title": "Signed poster",
            "description": "Signed by the company.",
            "cost": 10,
            "stock": 12,
            "minTier": "gold",
            "perMemberLimit": 2,
            "validFrom": start.isoformat(),
            "validUntil": end.isoformat(),
            "retiredAt": None,
            "titles": {"en": "Signed poster", "fr": "Affiche signée"},
            "descriptions": {"en": "Signed by the company.", "fr": "Signée par la troupe."},
        },
    }
    again = (await gateway.data(CREATE, {"i": fields, "locale": "FR"}, token=admin))["createReward"]
    assert again["created"] is False
    assert again["reward"] == {
        **first["reward"],
        "title": "Affiche signée",
        "description": "Signée par la troupe.",
    }
    listed = (await gateway.data("{ rewards(locale: FR) { id title } }"))["rewards"]
    assert {"id": first["reward"]["id"], "title": "Affiche signée"} in listed
    clash = (await gateway.data(CREATE, {"i": {**fields, "cost": 11}}, token=admin))["createReward"]
    assert clash == {
        "__typename": "RewardKeyTaken",
        "rewardId": first["reward"]["id"],
        "code": "REWARD_KEY_TAKEN",
        "message": f"a reward with the key '{fields['key']}' already exists, with other content",
    }


async def _admin_operations(gateway: Any) -> list[tuple[str, dict[str, Any]]]:
    reward = await _create(gateway, await gateway.admin_token())
    return [
        (CREATE, {"i": _input()}),
        (UPDATE, {"i": {"rewardId": reward["id"], "cost": 1}}),
        (RETIRE, {"i": {"rewardId": reward["id"]}}),
    ]


async def test_managing_the_catalogue_is_refused_to_everyone_but_admins(gateway: Any) -> None:
    _, email = await gateway.register()
    callers: list[tuple[dict[str, Any], str]] = [
        ({}, "UNAUTHENTICATED"),
        ({"token": await gateway.token(email)}, "FORBIDDEN"),
        ({"token": await gateway.staff_token()}, "FORBIDDEN"),
        ({"headers": {"x-api-key": gateway.demo["partners"][0]["apiKey"]}}, "FORBIDDEN"),
    ]
    operations = await _admin_operations(gateway)
    before = await gateway.count("loyalty.rewards WHERE active AND cost = 10")
    for mutation, variables in operations:
        for credentials, code in callers:
            body = await gateway.gql(mutation, variables, **credentials)
            assert body["data"] is None
            assert [e["extensions"]["code"] for e in body["errors"]] == [code], credentials
    assert await gateway.count("loyalty.rewards WHERE active AND cost = 10") == before


async def test_a_window_that_ends_when_it_starts_is_a_typed_refusal(gateway: Any) -> None:
    admin = await gateway.admin_token()
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
    fields = _input(validFrom=start.isoformat(), validUntil=start.isoformat())
    refused = (await gateway.data(CREATE, {"i": fields}, token=admin))["createReward"]
    assert refused == {
        "__typename": "InvalidValidityWindow",
        "validFrom": start.isoformat(),
        "validUntil": start.isoformat(),
        "code": "INVALID_VALIDITY_WINDOW",
        "message": "valid_until must be later than valid_from",
    }
    assert await gateway.count(f"loyalty.rewards WHERE key = '{fields['key']}'") == 0


async def test_an_unknown_minimum_tier_is_a_typed_refusal(gateway: Any) -> None:
    admin = await gateway.admin_token()
    refused = (await gateway.data(CREATE, {"i": _input(minTier="diamond")}, token=admin))[
        "createReward"
    ]
    assert refused == {
        "__typename": "UnknownTier",
        "knownTiers": ["gold", "platinum", "silver"],
        "code": "UNKNOWN_TIER",
        "message": "there is no tier 'diamond' in the rules in force or to come",
    }


async def test_an_update_changes_only_what_is_sent_and_null_clears(gateway: Any) -> None:
    admin = await gateway.admin_token()
    reward = await _create(gateway, admin, stock=5, perMemberLimit=3)
    change = {
        "rewardId": reward["id"],
        "cost": 25,
        "stock": None,
        "title": {"en": "Signed poster, framed", "fr": "Affiche signée, encadrée"},
    }
    updated = (await gateway.data(UPDATE, {"i": change}, token=admin))["updateReward"]
    assert updated == {
        "__typename": "RewardUpdated",
        "reward": {
            **reward,
            "cost": 25,
            "stock": None,
            "title": "Signed poster, framed",
            "titles": {"en": "Signed poster, framed", "fr": "Affiche signée, encadrée"},
        },
    }
    moved = (
        await gateway.data(
            UPDATE,
            {
                "i": {
                    "rewardId": reward["id"],
                    "validFrom": datetime(2031, 1, 1, tzinfo=UTC).isoformat(),
                }
            },
            token=admin,
        )
    )["updateReward"]
    assert (moved["reward"]["validFrom"], moved["reward"]["perMemberLimit"]) == (
        "2031-01-01T00:00:00+00:00",
        3,
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"cost": None}, "cost cannot be cleared"),
        ({"title": None, "description": None}, "title, description cannot be cleared"),
        ({"cost": 0}, "the input is not valid (cost: Input should be greater than 0)"),
    ],
)
async def test_an_update_that_would_clear_a_text_or_the_cost_is_bad_input(
    gateway: Any, change: dict[str, Any], message: str
) -> None:
    admin = await gateway.admin_token()
    reward = await _create(gateway, admin)
    body = await gateway.gql(UPDATE, {"i": {"rewardId": reward["id"], **change}}, token=admin)
    assert body["data"] is None
    assert [(e["extensions"]["code"], e["message"]) for e in body["errors"]] == [
        ("INVALID_INPUT", message)
    ]
    assert await gateway.count(f"loyalty.rewards WHERE id = '{reward['id']}' AND cost = 10") == 1


async def test_an_unknown_reward_is_not_found_and_a_retired_one_cannot_change(
    gateway: Any,
) -> None:
    admin = await gateway.admin_token()
    unknown = str(uuid.uuid4())
    not_found = {"__typename": "NotFound", "code": "REWARD_NOT_FOUND", "message": "no such reward"}
    updated = await gateway.data(UPDATE, {"i": {"rewardId": unknown, "cost": 5}}, token=admin)
    retired = await gateway.data(RETIRE, {"i": {"rewardId": unknown}}, token=admin)
    assert (updated["updateReward"], retired["retireReward"]) == (not_found, not_found)

    reward = await _create(gateway, admin)
    first = (await gateway.data(RETIRE, {"i": {"rewardId": reward["id"]}}, token=admin))[
        "retireReward"
    ]
    assert first["__typename"] == "RewardRetired"
    assert first["reward"]["retiredAt"] is not None
    again = (await gateway.data(RETIRE, {"i": {"rewardId": reward["id"]}}, token=admin))[
        "retireReward"
    ]
    assert again == first
    refused = (
        await gateway.data(UPDATE, {"i": {"rewardId": reward["id"], "cost": 5}}, token=admin)
    )["updateReward"]
    assert refused == {
        "__typename": "RewardAlreadyRetired",
        "retiredAt": first["reward"]["retiredAt"],
        "code": "REWARD_RETIRED",
        "message": "this reward is retired and can no longer be changed",
    }
    listed = (await gateway.data("{ rewards { id } }"))["rewards"]
    assert {"id": reward["id"]} not in listed


async def test_redemptions_meet_the_limit_the_window_and_retirement_as_typed_outcomes(
    gateway: Any,
) -> None:
    admin = await gateway.admin_token()
    member = await _member_with_points(gateway)
    once = await _create(gateway, admin, perMemberLimit=1)
    assert (await _redeem(gateway, member, once["id"]))["__typename"] == "RewardRedeemed"
    assert await _redeem(gateway, member, once["id"]) == {
        "__typename": "RedemptionLimitReached",
        "limit": 1,
        "redeemed": 1,
        "code": "REDEMPTION_LIMIT_REACHED",
        "message": "this reward is limited to 1 per member, and this member has redeemed it 1 time",
    }
    listed = (
        await gateway.data(
            "{ rewards { id eligible ineligibleReason redeemedByMember } }", token=member
        )
    )["rewards"]
    assert {
        "id": once["id"],
        "eligible": False,
        "ineligibleReason": "limited to 1 per member",
        "redeemedByMember": 1,
    } in listed

    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=5)
    later = await _create(gateway, admin, validFrom=start.isoformat())
    assert await _redeem(gateway, member, later["id"]) == {
        "__typename": "RewardOutsideValidity",
        "validFrom": start.isoformat(),
        "validUntil": None,
        "code": "REWARD_NOT_YET_AVAILABLE",
        "message": f"this reward can be redeemed from {start.isoformat()}",
    }

    end = datetime.now(UTC) + timedelta(seconds=2)
    brief = await _create(gateway, admin, validUntil=end.isoformat())
    await asyncio.sleep((end - datetime.now(UTC)).total_seconds() + 0.05)
    assert await _redeem(gateway, member, brief["id"]) == {
        "__typename": "RewardOutsideValidity",
        "validFrom": None,
        "validUntil": end.isoformat(),
        "code": "REWARD_NO_LONGER_AVAILABLE",
        "message": f"this reward could be redeemed until {end.isoformat()}",
    }

    gone = await _create(gateway, admin)
    await gateway.data(RETIRE, {"i": {"rewardId": gone["id"]}}, token=admin)
    assert await _redeem(gateway, member, gone["id"]) == {
        "__typename": "RewardUnavailable",
        "code": "REWARD_NOT_FOUND",
        "message": "no such reward",
    }
