"""The rewards catalogue managed by admins, and what it enforces at redemption: validity windows,
per-member limits and stock, against PostgreSQL through the loyalty service's internal API."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from services.common.actor import Actor, ActorKind
from services.common.problems import Problem
from services.loyalty import contract
from services.loyalty.rewards.admin import create_reward
from services.loyalty.rewards.catalogue import list_rewards
from services.loyalty.rewards.redemption import redeem_reward
from services.loyalty.rulebook.book import RuleBook

PARIS = ZoneInfo("Europe/Paris")


def _key(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _fields(key: str, **extra: Any) -> dict[str, Any]:
    return {
        "key": key,
        "title_en": "Signed poster",
        "title_fr": "Affiche signée",
        "description_en": "A poster signed by the company.",
        "description_fr": "Une affiche signée par la troupe.",
        "cost": 10,
        **extra,
    }


async def _create(loyalty: Any, *, actor: Actor | None = None, **fields: Any) -> Any:
    return await loyalty.call(
        "POST", "/internal/rewards", actor=actor or loyalty.ADMIN, json=fields
    )


async def _reward(loyalty: Any, **extra: Any) -> dict[str, Any]:
    response = await _create(loyalty, **_fields(_key("reward"), **extra))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def _member(member: uuid.UUID) -> Actor:
    return Actor(ActorKind.MEMBER, str(member))


# ---- creating ---------------------------------------------------------------------------------


async def test_an_admin_creates_a_reward_with_every_field_and_reads_it_back_in_either_language(
    loyalty: Any,
) -> None:
    key = _key("backstage")
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    end = start + timedelta(days=30)
    response = await _create(
        loyalty,
        **_fields(
            key,
            cost=700,
            stock=12,
            per_member_limit=2,
            min_tier="gold",
            valid_from=start.isoformat(),
            valid_until=end.isoformat(),
        ),
    )
    assert response.status_code == 201, response.text
    created = contract.Reward.model_validate(response.json())
    texts = contract.RewardTexts(
        title_en="Signed poster",
        title_fr="Affiche signée",
        description_en="A poster signed by the company.",
        description_fr="Une affiche signée par la troupe.",
    )
    assert created == contract.Reward(
        id=created.id,
        key=key,
        title="Signed poster",
        description="A poster signed by the company.",
        cost=700,
        stock=12,
        min_tier="gold",
        active=True,
        per_member_limit=2,
        valid_from=start,
        valid_until=end,
        retired_at=None,
        texts=texts,
    )
    listed = await loyalty.call("GET", "/internal/rewards", params={"locale": "fr"})
    [found] = [r for r in listed.json() if r["key"] == key]
    assert (found["title"], found["description"]) == (
        "Affiche signée",
        "Une affiche signée par la troupe.",
    )


async def test_creating_a_reward_again_with_the_same_key_and_content_gives_back_the_same_reward(
    loyalty: Any,
) -> None:
    fields = _fields(_key("mug"), stock=3)
    first = await _create(loyalty, **fields)
    again = await _create(loyalty, **fields)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert (
        await loyalty.scalar("SELECT count(*) FROM loyalty.rewards WHERE key = :k", k=fields["key"])
        == 1
    )


async def test_the_same_key_with_other_content_is_refused_and_the_reward_is_unchanged(
    loyalty: Any,
) -> None:
    fields = _fields(_key("mug"))
    first = (await _create(loyalty, **fields)).json()
    clash = await _create(loyalty, **{**fields, "cost": 11})
    assert clash.status_code == 409
    assert clash.json() == {
        "code": "REWARD_KEY_TAKEN",
        "message": f"a reward with the key {fields['key']!r} already exists, with other content",
        "details": {"reward_id": first["id"]},
    }
    assert (
        await loyalty.scalar("SELECT cost FROM loyalty.rewards WHERE key = :k", k=fields["key"])
        == 10
    )


async def test_only_admins_manage_the_catalogue(loyalty: Any) -> None:
    reward = await _reward(loyalty)
    member = _member(uuid.uuid4())
    for actor in (loyalty.STAFF, loyalty.PARTNER, member):
        key = _key("denied")
        attempts = [
            await _create(loyalty, actor=actor, **_fields(key)),
            await loyalty.call(
                "PATCH", f"/internal/rewards/{reward['id']}", actor=actor, json={"cost": 1}
            ),
            await loyalty.call("POST", f"/internal/rewards/{reward['id']}/retire", actor=actor),
        ]
        for attempt in attempts:
            assert (attempt.status_code, attempt.json()) == (
                403,
                {
                    "code": "FORBIDDEN",
                    "message": "only admins manage the rewards catalogue",
                    "details": {},
                },
            )
        assert (
            await loyalty.scalar("SELECT count(*) FROM loyalty.rewards WHERE key = :k", k=key) == 0
        )
    assert await loyalty.scalar(
        "SELECT (cost, active) = (10, true) FROM loyalty.rewards WHERE id = :id", id=reward["id"]
    )


async def test_a_window_must_end_after_it_starts(loyalty: Any) -> None:
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)
    key = _key("window")
    same = await _create(
        loyalty, **_fields(key, valid_from=start.isoformat(), valid_until=start.isoformat())
    )
    assert same.status_code == 422
    assert same.json() == {
        "code": "INVALID_VALIDITY_WINDOW",
        "message": "valid_until must be later than valid_from",
        "details": {"valid_from": start.isoformat(), "valid_until": start.isoformat()},
    }
    assert await loyalty.scalar("SELECT count(*) FROM loyalty.rewards WHERE key = :k", k=key) == 0
    later = start + timedelta(microseconds=1)
    accepted = await _create(
        loyalty, **_fields(key, valid_from=start.isoformat(), valid_until=later.isoformat())
    )
    assert accepted.status_code == 201, accepted.text


async def test_a_window_set_now_must_end_in_the_future(loyalty: Any) -> None:
    now = datetime.now(UTC)
    body = contract.CreateReward(**_fields(_key("late"), valid_until=now))
    try:
        await create_reward(loyalty.engine, loyalty.ADMIN, body, now=now)
    except Problem as problem:
        assert (problem.status, problem.code, problem.message, problem.details) == (
            422,
            "INVALID_VALIDITY_WINDOW",
            "valid_until must be in the future",
            {"valid_until": now.isoformat()},
        )
    else:
        raise AssertionError("a window ending now was accepted")
    moved = body.model_copy(update={"valid_until": now + timedelta(microseconds=1)})
    reward, created = await create_reward(loyalty.engine, loyalty.ADMIN, moved, now=now)
    assert (created, reward.valid_until) == (True, now + timedelta(microseconds=1))


async def test_a_minimum_tier_must_be_a_tier_of_the_rules(loyalty: Any) -> None:
    response = await _create(loyalty, **_fields(_key("vip"), min_tier="platinum"))
    assert response.status_code == 422
    assert response.json() == {
        "code": "UNKNOWN_TIER",
        "message": "there is no tier 'platinum' in the rules in force or to come",
        "details": {"known": ["gold", "silver"]},
    }


# ---- changing and retiring ---------------------------------------------------------------------


async def test_an_update_changes_only_the_fields_sent_and_null_clears_a_limit(
    loyalty: Any,
) -> None:
    end = datetime.now(UTC).replace(microsecond=0) + timedelta(days=9)
    reward = await _reward(loyalty, stock=4, per_member_limit=1, valid_until=end.isoformat())
    path = f"/internal/rewards/{reward['id']}"
    change = {"cost": 25, "stock": None, "title_fr": "Affiche dédicacée", "min_tier": "silver"}
    response = await loyalty.call("PATCH", path, actor=loyalty.ADMIN, json=change)
    assert response.status_code == 200, response.text
    expected = {
        **reward,
        "cost": 25,
        "stock": None,
        "min_tier": "silver",
        "texts": {**reward["texts"], "title_fr": "Affiche dédicacée"},
    }
    assert response.json() == expected
    again = await loyalty.call("PATCH", path, actor=loyalty.ADMIN, json=change)
    assert again.json() == expected
    french = await loyalty.call(
        "PATCH", path, actor=loyalty.ADMIN, json={}, params={"locale": "fr"}
    )
    assert (french.json()["title"], french.json()["per_member_limit"]) == ("Affiche dédicacée", 1)


async def test_an_update_that_would_leave_the_window_inverted_is_refused(loyalty: Any) -> None:
    end = datetime.now(UTC).replace(microsecond=0) + timedelta(days=9)
    reward = await _reward(loyalty, valid_until=end.isoformat())
    path = f"/internal/rewards/{reward['id']}"
    response = await loyalty.call(
        "PATCH", path, actor=loyalty.ADMIN, json={"valid_from": end.isoformat(), "cost": 99}
    )
    assert (response.status_code, response.json()["code"]) == (422, "INVALID_VALIDITY_WINDOW")
    assert await loyalty.scalar(
        "SELECT cost = 10 AND valid_from IS NULL FROM loyalty.rewards WHERE id = :id",
        id=reward["id"],
    )
    opened = await loyalty.call("PATCH", path, actor=loyalty.ADMIN, json={"valid_until": None})
    assert (opened.status_code, opened.json()["valid_until"]) == (200, None)


async def test_texts_and_cost_cannot_be_cleared(loyalty: Any) -> None:
    reward = await _reward(loyalty)
    for field in ("title_en", "title_fr", "description_en", "description_fr", "cost"):
        response = await loyalty.call(
            "PATCH", f"/internal/rewards/{reward['id']}", actor=loyalty.ADMIN, json={field: None}
        )
        assert response.status_code == 422
        assert response.json()["code"] == "INVALID_INPUT"
        assert [e["message"] for e in response.json()["details"]["errors"]] == [
            f"Value error, {field} cannot be cleared"
        ]


async def test_changing_or_retiring_an_unknown_reward_answers_not_found(loyalty: Any) -> None:
    unknown = uuid.uuid4()
    for method, path, body in (
        ("PATCH", f"/internal/rewards/{unknown}", {"cost": 5}),
        ("POST", f"/internal/rewards/{unknown}/retire", None),
    ):
        response = await loyalty.call(method, path, actor=loyalty.ADMIN, json=body)
        assert (response.status_code, response.json()) == (
            404,
            {"code": "REWARD_NOT_FOUND", "message": "no such reward", "details": {}},
        )


async def test_a_retired_reward_leaves_the_catalogue_for_good_and_its_vouchers_stay_valid(
    loyalty: Any,
) -> None:
    reward = await _reward(loyalty)
    member = await loyalty.funded_member(30)
    redeemed = await loyalty.redeem(member, reward["id"], key="before-retirement")
    assert redeemed.status_code == 201
    retired = await loyalty.call(
        "POST", f"/internal/rewards/{reward['id']}/retire", actor=loyalty.ADMIN
    )
    assert retired.status_code == 200
    assert (retired.json()["active"], retired.json()["retired_at"] is not None) == (False, True)
    again = await loyalty.call(
        "POST", f"/internal/rewards/{reward['id']}/retire", actor=loyalty.ADMIN
    )
    assert again.json() == retired.json()
    listed = await loyalty.call("GET", "/internal/rewards")
    assert reward["id"] not in {r["id"] for r in listed.json()}
    refused = await loyalty.redeem(member, reward["id"])
    assert (refused.status_code, refused.json()["code"]) == (404, "REWARD_NOT_FOUND")
    changed = await loyalty.call(
        "PATCH", f"/internal/rewards/{reward['id']}", actor=loyalty.ADMIN, json={"cost": 1}
    )
    assert (changed.status_code, changed.json()) == (
        409,
        {
            "code": "REWARD_RETIRED",
            "message": "this reward is retired and can no longer be changed",
            "details": {"retired_at": retired.json()["retired_at"].replace("Z", "+00:00")},
        },
    )
    replay = await loyalty.redeem(member, reward["id"], key="before-retirement")
    assert (replay.status_code, replay.json()["voucher_code"]) == (
        200,
        redeemed.json()["voucher_code"],
    )
    assert (await loyalty.account(member))["balance"] == 20


# ---- enforced at redemption ----------------------------------------------------------------------


async def test_a_reward_is_redeemable_from_valid_from_inclusive_until_valid_until_exclusive(
    loyalty: Any,
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    start, end = now + timedelta(days=10), now + timedelta(days=20)
    book = RuleBook()
    reward, _ = await create_reward(
        loyalty.engine,
        loyalty.ADMIN,
        contract.CreateReward(**_fields(_key("window"), valid_from=start, valid_until=end)),
        now=now,
    )
    member = await loyalty.funded_member(100)
    tick = timedelta(microseconds=1)

    async def redeem(at: datetime) -> str:
        body = contract.RedeemReward(
            member_id=member, reward_id=reward.id, idempotency_key=uuid.uuid4().hex
        )
        try:
            await redeem_reward(loyalty.engine, book, _member(member), body, now=at)
        except Problem as problem:
            return f"{problem.code}: {problem.message} {problem.details}"
        return "redeemed"

    assert await redeem(start - tick) == (
        f"REWARD_NOT_YET_AVAILABLE: this reward can be redeemed from {start.isoformat()} "
        f"{{'valid_from': '{start.isoformat()}'}}"
    )
    assert await redeem(start) == "redeemed"
    assert await redeem(end - tick) == "redeemed"
    assert await redeem(end) == (
        f"REWARD_NO_LONGER_AVAILABLE: this reward could be redeemed until {end.isoformat()} "
        f"{{'valid_until': '{end.isoformat()}'}}"
    )

    async def listed(at: datetime, locale: contract.Locale) -> list[tuple[bool | None, str | None]]:
        rewards = await list_rewards(loyalty.engine, book, member_id=member, locale=locale, now=at)
        return [(r.eligible, r.ineligible_reason) for r in rewards if r.id == reward.id]

    day = start.astimezone(PARIS).date().isoformat()
    assert await listed(start - tick, contract.Locale.EN) == [(False, f"available from {day}")]
    assert await listed(start - tick, contract.Locale.FR) == [
        (False, f"disponible à partir du {day}")
    ]
    assert await listed(start, contract.Locale.EN) == [(True, None)]
    assert await listed(end - tick, contract.Locale.EN) == [(True, None)]
    assert await listed(end, contract.Locale.EN) == []


async def test_a_member_redeems_a_reward_no_more_than_its_per_member_limit(loyalty: Any) -> None:
    reward = await _reward(loyalty, per_member_limit=2)
    member, other = await loyalty.funded_member(100), await loyalty.funded_member(100)
    assert [(await loyalty.redeem(member, reward["id"])).status_code for _ in range(2)] == [
        201,
        201,
    ]
    third = await loyalty.redeem(member, reward["id"])
    assert (third.status_code, third.json()) == (
        409,
        {
            "code": "REDEMPTION_LIMIT_REACHED",
            "message": "this reward is limited to 2 per member, and this member has redeemed "
            "it 2 times",
            "details": {"limit": 2, "redeemed": 2},
        },
    )
    assert (await loyalty.account(member))["balance"] == 80
    assert (await loyalty.redeem(other, reward["id"])).status_code == 201
    for locale, reason in (("en", "limited to 2 per member"), ("fr", "limitée à 2 par membre")):
        listed = await loyalty.call(
            "GET", "/internal/rewards", params={"member_id": str(member), "locale": locale}
        )
        [found] = [r for r in listed.json() if r["id"] == reward["id"]]
        assert (found["eligible"], found["ineligible_reason"], found["redeemed_by_member"]) == (
            False,
            reason,
            2,
        )


async def test_the_per_member_limit_counts_what_merged_duplicates_redeemed(loyalty: Any) -> None:
    reward = await _reward(loyalty, per_member_limit=1)
    absorbed, survivor = await loyalty.funded_member(30), await loyalty.funded_member(30)
    assert (await loyalty.redeem(absorbed, reward["id"])).status_code == 201
    event = {
        "event_id": str(uuid.uuid4()),
        "type": "members.merged",
        "occurred_at": datetime.now(UTC).isoformat(),
        "payload": {
            "survivor_id": str(survivor),
            "absorbed_id": str(absorbed),
            "merge_id": str(uuid.uuid4()),
        },
    }
    merged = await loyalty.call("POST", "/internal/events", json={"events": [event]})
    assert merged.status_code == 200, merged.text
    refused = await loyalty.redeem(survivor, reward["id"])
    assert (refused.status_code, refused.json()["details"]) == (
        409,
        {"limit": 1, "redeemed": 1},
    )


async def test_concurrent_redemptions_by_one_member_stop_exactly_at_the_limit(
    loyalty: Any, replicas: list[Any]
) -> None:
    reward = await _reward(loyalty, per_member_limit=3)
    member = await loyalty.funded_member(100)  # enough for ten
    responses = await asyncio.gather(
        *(replicas[n % len(replicas)].redeem(member, reward["id"]) for n in range(10))
    )
    assert Counter(r.status_code for r in responses) == {201: 3, 409: 7}
    assert {r.json()["code"] for r in responses if r.status_code == 409} == {
        "REDEMPTION_LIMIT_REACHED"
    }
    assert (await loyalty.account(member))["balance"] == 70
    assert (
        await loyalty.scalar(
            "SELECT count(*) FROM loyalty.redemptions WHERE reward_id = :r", r=reward["id"]
        )
        == 3
    )


async def test_concurrent_redemptions_by_many_members_exceed_neither_stock_nor_limit(
    loyalty: Any, replicas: list[Any]
) -> None:
    reward = await _reward(loyalty, stock=5, per_member_limit=2)
    members = [await loyalty.funded_member(100) for _ in range(4)]
    requests = [(member, n) for member in members for n in range(4)]
    responses = await asyncio.gather(
        *(replicas[n % len(replicas)].redeem(member, reward["id"]) for member, n in requests)
    )
    won = Counter(
        member for (member, _), r in zip(requests, responses, strict=True) if r.status_code == 201
    )
    assert sum(won.values()) == 5
    assert max(won.values()) <= 2
    assert {r.json()["code"] for r in responses if r.status_code != 201} <= {
        "OUT_OF_STOCK",
        "REDEMPTION_LIMIT_REACHED",
    }
    assert Counter(r.status_code for r in responses) == {201: 5, 409: 11}
    assert (
        await loyalty.scalar("SELECT stock FROM loyalty.rewards WHERE id = :r", r=reward["id"]) == 0
    )
    for member in members:
        assert (await loyalty.account(member))["balance"] == 100 - 10 * won[member]
