"""Races: real concurrent requests into the loyalty service, each on its own connection, spread
over several replicas so that they meet in PostgreSQL (a replica queues a member's earns)."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from typing import Any

from services.common.actor import SYSTEM
from services.loyalty import contract
from services.loyalty.rewards.admin import create_reward


async def test_fifty_concurrent_redemptions_beyond_the_balance_accept_exactly_those_that_fit(
    loyalty: Any, replicas: list[Any]
) -> None:
    member = await loyalty.funded_member(1000)  # the coffee costs 50: twenty fit
    responses = await asyncio.gather(
        *(
            replicas[n % len(replicas)].redeem(member, loyalty.programme.coffee_id)
            for n in range(50)
        )
    )
    statuses = Counter(r.status_code for r in responses)
    codes = Counter(r.json().get("code") for r in responses if r.status_code != 201)
    assert statuses == {201: 20, 409: 30}
    assert codes == {"NOT_ENOUGH_POINTS": 30}
    assert (await loyalty.account(member))["balance"] == 0
    assert len({r.json()["voucher_code"] for r in responses if r.status_code == 201}) == 20
    assert (
        await loyalty.scalar(
            "SELECT count(*) FROM loyalty.redemptions WHERE member_id = :m", m=member
        )
        == 20
    )


async def test_the_same_earn_sent_twenty_times_at_once_makes_one_entry(
    loyalty: Any, replicas: list[Any]
) -> None:
    member = uuid.uuid4()
    event = loyalty.ticket("37")
    responses = await asyncio.gather(
        *(
            replicas[n % len(replicas)].earn(member, event, external_id="race-" + member.hex)
            for n in range(20)
        )
    )
    assert Counter(r.status_code for r in responses) == {201: 1, 200: 19}
    assert len({r.json()["entry"]["id"] for r in responses}) == 1
    assert (
        await loyalty.scalar(
            "SELECT count(*) FROM loyalty.journal_entries WHERE member_id = :m", m=member
        )
        == 1
    )
    assert (await loyalty.account(member))["balance"] == 37


async def test_concurrent_earns_for_one_member_lose_nothing(
    loyalty: Any, replicas: list[Any]
) -> None:
    member = uuid.uuid4()
    amounts = list(range(1, 31))
    responses = await asyncio.gather(
        *(replicas[a % len(replicas)].earn(member, loyalty.ticket(str(a))) for a in amounts)
    )
    assert all(r.status_code == 201 for r in responses), [r.text for r in responses]
    assert (await loyalty.account(member))["balance"] == sum(amounts)


async def test_concurrent_caps_are_never_exceeded(loyalty: Any, replicas: list[Any]) -> None:
    member = uuid.uuid4()
    workshop = {**loyalty.ticket("30"), "category": "workshop"}
    responses = await asyncio.gather(
        *(replicas[n % len(replicas)].earn(member, workshop) for n in range(10))
    )
    assert sorted(r.json()["entry"]["points"] for r in responses) == [0] * 8 + [40, 40]


async def test_limited_stock_is_never_oversold_under_concurrency(loyalty: Any) -> None:
    reward, _ = await create_reward(
        loyalty.engine,
        SYSTEM,
        contract.CreateReward(
            key=f"signed-{uuid.uuid4().hex[:8]}",
            title_en="Signed poster",
            title_fr="Affiche signée",
            description_en="Signed by the cast.",
            description_fr="Signée par la troupe.",
            cost=10,
            stock=5,
        ),
    )
    members = [await loyalty.funded_member(10) for _ in range(15)]
    responses = await asyncio.gather(*(loyalty.redeem(m, reward.id) for m in members))
    assert Counter(r.status_code for r in responses) == {201: 5, 409: 10}
    assert {r.json()["code"] for r in responses if r.status_code == 409} == {"OUT_OF_STOCK"}
    assert await loyalty.scalar("SELECT stock FROM loyalty.rewards WHERE id = :r", r=reward.id) == 0


async def test_concurrent_reversals_of_one_earn_happen_once(
    loyalty: Any, replicas: list[Any]
) -> None:
    member = uuid.uuid4()
    key = "rev-race-" + member.hex
    await loyalty.earn(member, loyalty.ticket("80"), external_id=key)
    body = {"external_id": key, "venue_id": str(loyalty.VENUE)}
    responses = await asyncio.gather(
        *(
            replicas[n % len(replicas)].call(
                "POST", "/internal/reversals", json={**body, "reason": f"refund {n}"}
            )
            for n in range(10)
        )
    )
    assert Counter(r.status_code for r in responses) == {201: 1, 409: 9}
    assert (await loyalty.account(member))["balance"] == 0
