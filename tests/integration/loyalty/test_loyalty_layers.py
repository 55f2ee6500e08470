"""Checks made in more than one layer, each reached on its own, so that loosening any one of
them fails a test: a reward's stock (the catalogue's eligibility, the conditional update that
takes an item, the database's constraint) and a venue's scope (the loyalty service refuses staff
acting for a venue that their token does not name; identity's side is in its own layer tests)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from services.common.actor import SYSTEM, Actor, ActorKind
from services.loyalty import contract
from services.loyalty.rewards import queries
from services.loyalty.rewards.admin import create_reward
from services.loyalty.rewards.catalogue import Ineligible, ineligibility

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


async def _reward(loyalty: Any, stock: int | None) -> uuid.UUID:
    reward, _ = await create_reward(
        loyalty.engine,
        SYSTEM,
        contract.CreateReward(
            key=f"layers-{uuid.uuid4().hex[:10]}",
            title_en="Poster",
            title_fr="Affiche",
            description_en="A poster.",
            description_fr="Une affiche.",
            cost=10,
            stock=stock,
        ),
    )
    return reward.id


async def _row(loyalty: Any, reward_id: uuid.UUID) -> queries.RewardRow:
    async with loyalty.engine.connect() as conn:
        row = await queries.reward(conn, reward_id)
    assert row is not None
    return row


async def _stock(loyalty: Any, reward_id: uuid.UUID) -> int | None:
    return await loyalty.scalar("SELECT stock FROM loyalty.rewards WHERE id = :r", r=reward_id)


# ---- stock -------------------------------------------------------------------------------------


async def test_the_catalogue_refuses_a_reward_whose_stock_is_gone_and_offers_the_last_item(
    loyalty: Any,
) -> None:
    last, gone = await _reward(loyalty, 1), await _reward(loyalty, 0)
    assert ineligibility(await _row(loyalty, last), None, None, 0, contract.Locale.EN, NOW) is None
    refused = ineligibility(await _row(loyalty, gone), None, None, 0, contract.Locale.EN, NOW)
    assert refused == Ineligible(contract.ProblemCode.OUT_OF_STOCK, "out of stock")
    french = ineligibility(await _row(loyalty, gone), None, None, 0, contract.Locale.FR, NOW)
    assert french == Ineligible(contract.ProblemCode.OUT_OF_STOCK, "épuisée")


async def test_a_member_sees_an_empty_reward_as_out_of_stock_before_trying(loyalty: Any) -> None:
    member = await loyalty.funded_member(5)  # too few points for either: stock decides alone
    last, gone = await _reward(loyalty, 1), await _reward(loyalty, 0)
    response = await loyalty.call("GET", "/internal/rewards", params={"member_id": str(member)})
    assert response.status_code == 200, response.text
    shown = {r["id"]: (r["eligible"], r["ineligible_reason"]) for r in response.json()}
    assert shown[str(gone)] == (False, "out of stock")
    assert shown[str(last)] == (True, None)


async def test_an_empty_reward_is_refused_as_out_of_stock_before_the_points_are_counted(
    loyalty: Any,
) -> None:
    member = await loyalty.funded_member(5)  # could not afford it either
    gone = await _reward(loyalty, 0)
    response = await loyalty.redeem(member, gone)
    assert (response.status_code, response.json()["code"], response.json()["message"]) == (
        409,
        "OUT_OF_STOCK",
        "this reward is out of stock",
    )


async def test_taking_an_item_succeeds_while_one_is_left_and_never_below_zero(loyalty: Any) -> None:
    reward = await _reward(loyalty, 2)
    async with loyalty.engine.begin() as conn:
        taken = [await queries.take_stock(conn, reward) for _ in range(3)]
    assert taken == [True, True, False]
    assert await _stock(loyalty, reward) == 0


async def test_the_database_refuses_a_negative_stock(loyalty: Any) -> None:
    reward = await _reward(loyalty, 0)
    with pytest.raises(DBAPIError) as refused:
        async with loyalty.engine.begin() as conn:
            await conn.execute(
                sa.text("UPDATE loyalty.rewards SET stock = stock - 1 WHERE id = :r"), {"r": reward}
            )
    assert refused.value.orig is not None
    assert refused.value.orig.sqlstate == "23514"  # check_violation
    assert "stock_never_negative" in str(refused.value.orig)
    assert await _stock(loyalty, reward) == 0


async def test_the_last_item_goes_to_one_redemption_only(loyalty: Any) -> None:
    reward = await _reward(loyalty, 1)
    first, second = await loyalty.funded_member(10), await loyalty.funded_member(10)
    assert (await loyalty.redeem(first, reward)).status_code == 201
    again = await loyalty.redeem(second, reward)
    assert (again.status_code, again.json()["code"]) == (409, "OUT_OF_STOCK")
    assert (await loyalty.account(second))["balance"] == 10
    assert await _stock(loyalty, reward) == 0


# ---- venue scope -------------------------------------------------------------------------------


async def test_staff_record_points_only_for_a_venue_their_token_names(loyalty: Any) -> None:
    member = uuid.uuid4()
    staff = Actor(ActorKind.STAFF, str(uuid.uuid4()), frozenset({str(loyalty.VENUE)}))
    elsewhere = await loyalty.earn(
        member, loyalty.ticket("30", venue=loyalty.OTHER_VENUE), actor=staff
    )
    assert (elsewhere.status_code, elsewhere.json()["code"], elsewhere.json()["message"]) == (
        403,
        "WRONG_VENUE",
        "you do not work for that venue",
    )
    assert (
        await loyalty.scalar(
            "SELECT count(*) FROM loyalty.journal_entries WHERE member_id = :m", m=member
        )
        == 0
    )
    # the same staff at their own venue, and staff of both venues at the other one
    assert (await loyalty.earn(member, loyalty.ticket("30"), actor=staff)).status_code == 201
    both = Actor(
        ActorKind.STAFF, staff.id, frozenset({str(loyalty.VENUE), str(loyalty.OTHER_VENUE)})
    )
    there = await loyalty.earn(member, loyalty.ticket("30", venue=loyalty.OTHER_VENUE), actor=both)
    assert there.status_code == 201, there.text
    assert (await loyalty.account(member))["balance"] == 60


async def test_staff_without_a_venue_are_asked_for_one(loyalty: Any) -> None:
    event = {**loyalty.ticket("30")}
    event.pop("venue_id")
    response = await loyalty.earn(uuid.uuid4(), event)
    assert (response.status_code, response.json()["code"], response.json()["message"]) == (
        422,
        "INVALID_INPUT",
        "venue_id is required when staff record points",
    )
