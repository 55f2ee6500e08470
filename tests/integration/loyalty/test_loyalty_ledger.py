"""Reversals, redemptions, pending points, expiry and merges, against PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from services.common.actor import SYSTEM
from services.loyalty import contract
from services.loyalty.accounts import view
from services.loyalty.earning.earn import earn_points
from services.loyalty.earning.jobs import run_point_jobs
from services.loyalty.rewards.admin import create_reward
from services.loyalty.rulebook.book import RuleBook


async def _reverse(loyalty: Any, external_id: str, reason: str = "refund", **extra: Any):
    body = {"external_id": external_id, "venue_id": str(loyalty.VENUE), "reason": reason, **extra}
    return await loyalty.call("POST", "/internal/reversals", json=body)


async def test_a_full_reversal_takes_back_the_whole_award_once(loyalty: Any) -> None:
    member = uuid.uuid4()
    await loyalty.earn(member, loyalty.ticket("60"), external_id="rev-full-" + member.hex)
    first = await _reverse(loyalty, "rev-full-" + member.hex)
    replay = await _reverse(loyalty, "rev-full-" + member.hex)
    other = await _reverse(loyalty, "rev-full-" + member.hex, reason="another reason")
    assert first.status_code == 201, first.text
    assert first.json()["points_reversed"] == 60
    assert first.json()["entry"]["reverses_entry_id"] is not None
    assert (replay.status_code, replay.json()["created"]) == (200, False)
    assert (other.status_code, other.json()["code"]) == (409, "ALREADY_REVERSED")
    assert (await loyalty.account(member))["balance"] == 0


async def test_a_partial_refund_takes_back_the_points_of_the_refunded_part(loyalty: Any) -> None:
    member = uuid.uuid4()
    key = "rev-part-" + member.hex
    await loyalty.earn(member, loyalty.ticket("45"), external_id=key)
    response = await _reverse(loyalty, key, refunded_amount="20")
    assert response.json()["points_reversed"] == 20
    assert (await loyalty.account(member))["balance"] == 25


async def test_a_refund_above_the_amount_paid_is_refused_and_changes_nothing(loyalty: Any) -> None:
    member = uuid.uuid4()
    key = "rev-over-" + member.hex
    await loyalty.earn(member, loyalty.ticket("45"), external_id=key)
    too_much = await _reverse(loyalty, key, refunded_amount="45.01")
    assert too_much.status_code == 422
    assert (too_much.json()["code"], too_much.json()["message"]) == (
        "INVALID_INPUT",
        "the refunded amount exceeds the original amount",
    )
    assert (await loyalty.account(member))["balance"] == 45
    # the whole amount, exactly, is a full refund
    whole = await _reverse(loyalty, key, refunded_amount="45")
    assert (whole.status_code, whole.json()["points_reversed"]) == (201, 45)
    assert (await loyalty.account(member))["balance"] == 0


async def test_a_reversal_never_drives_a_balance_below_zero(loyalty: Any) -> None:
    member = await loyalty.funded_member(60)
    key = uuid.uuid4().hex
    await loyalty.earn(member, loyalty.ticket("10"), external_id=key)
    assert (await loyalty.redeem(member, loyalty.programme.coffee_id)).status_code == 201
    response = await _reverse(loyalty, key)
    body = response.json()
    # 20 points were left after the coffee: the 10 of the ticket come back, none are short
    assert (body["points_reversed"], body["shortfall"], body["balance"]) == (10, 0, 10)
    response = await loyalty.redeem(member, loyalty.programme.coffee_id)
    assert response.json()["code"] == "NOT_ENOUGH_POINTS"


async def test_a_reversal_of_spent_points_records_the_shortfall(loyalty: Any) -> None:
    member = uuid.uuid4()
    key = uuid.uuid4().hex
    await loyalty.earn(member, loyalty.ticket("55"), external_id=key)
    assert (await loyalty.redeem(member, loyalty.programme.coffee_id)).status_code == 201
    body = (await _reverse(loyalty, key)).json()
    assert (body["points_reversed"], body["shortfall"], body["balance"]) == (5, 50, 0)
    assert body["entry"]["summary"] == "Reversal (refund): -5 points"
    note = await loyalty.scalar(
        "SELECT explanation -> 'note' ->> 'en' FROM loyalty.journal_entries WHERE id = :e",
        e=uuid.UUID(body["entry"]["id"]),
    )
    assert note == "50 points had already been spent and were not taken back."


async def test_an_unknown_earn_cannot_be_reversed(loyalty: Any) -> None:
    response = await _reverse(loyalty, "never-recorded")
    assert (response.status_code, response.json()["code"]) == (404, "EARN_NOT_FOUND")


async def test_a_redemption_returns_a_voucher_and_replays_by_key(loyalty: Any) -> None:
    member = await loyalty.funded_member(120)
    first = await loyalty.redeem(member, loyalty.programme.coffee_id, key="k1")
    again = await loyalty.redeem(member, loyalty.programme.coffee_id, key="k1")
    assert first.status_code == 201, first.text
    voucher = first.json()["voucher_code"]
    assert len(voucher) == 14 and voucher.count("-") == 2
    assert (again.status_code, again.json()["voucher_code"]) == (200, voucher)
    assert again.json()["balance"] == 70
    short = await loyalty.redeem(member, loyalty.programme.coffee_id)
    await loyalty.redeem(member, loyalty.programme.coffee_id)
    assert short.status_code == 201
    broke = await loyalty.redeem(member, loyalty.programme.coffee_id)
    assert (broke.status_code, broke.json()["code"]) == (409, "NOT_ENOUGH_POINTS")
    assert broke.json()["details"] == {"needed": 50, "available": 20}


async def test_a_member_redeems_only_for_themselves(loyalty: Any) -> None:
    member = await loyalty.funded_member(100)
    body = {
        "member_id": str(member),
        "reward_id": str(loyalty.programme.coffee_id),
        "idempotency_key": "x",
    }
    response = await loyalty.call("POST", "/internal/redemptions", json=body)  # staff
    assert (response.status_code, response.json()["code"], response.json()["message"]) == (
        403,
        "FORBIDDEN",
        "only members redeem rewards",
    )


async def test_limited_stock_and_tier_eligibility_are_enforced(loyalty: Any) -> None:
    reward, _ = await create_reward(
        loyalty.engine,
        SYSTEM,
        contract.CreateReward(
            key=f"poster-{uuid.uuid4().hex[:8]}",
            title_en="Poster",
            title_fr="Affiche",
            description_en="A poster.",
            description_fr="Une affiche.",
            cost=10,
            stock=1,
        ),
    )
    member = await loyalty.funded_member(100)
    assert (await loyalty.redeem(member, reward.id)).status_code == 201
    gone = await loyalty.redeem(member, reward.id)
    assert (gone.status_code, gone.json()["code"]) == (409, "OUT_OF_STOCK")
    vip, _ = await create_reward(
        loyalty.engine,
        SYSTEM,
        contract.CreateReward(
            key=f"vip-{uuid.uuid4().hex[:8]}",
            title_en="VIP",
            title_fr="VIP",
            description_en="For gold members.",
            description_fr="Pour les membres or.",
            cost=10,
            min_tier="gold",
        ),
    )
    silver = await loyalty.funded_member(150)
    refused = await loyalty.redeem(silver, vip.id)
    assert (refused.status_code, refused.json()["code"]) == (409, "NOT_ELIGIBLE")
    gold = await loyalty.funded_member(300)
    assert (await loyalty.redeem(gold, vip.id)).status_code == 201


async def test_pending_points_become_spendable_after_their_delay(loyalty: Any) -> None:
    member = uuid.uuid4()
    cafe = {**loyalty.ticket("30"), "category": "cafe"}
    body = (await loyalty.earn(member, cafe)).json()
    assert (body["balance"], body["pending"]) == (0, 60)
    account = await loyalty.account(member)
    assert [r["points"] for r in account["pending_releases"]] == [60]
    early = await loyalty.redeem(member, loyalty.programme.coffee_id)
    assert early.json()["code"] == "NOT_ENOUGH_POINTS"
    report = await run_point_jobs(loyalty.engine, now=datetime.now(UTC) + timedelta(days=4))
    assert report.released_points >= 60
    after = await loyalty.account(member)
    assert (after["balance"], after["pending"]) == (60, 0)
    assert after["history"]["entries"][0]["kind"] == "release"


async def test_points_expire_oldest_first(loyalty: Any) -> None:
    member = uuid.uuid4()
    book = RuleBook()
    now = datetime.now(UTC)
    for days_ago, amount, key in ((170, "30", "old"), (10, "20", "new")):
        await earn_points(
            loyalty.engine,
            book,
            loyalty.STAFF,
            contract.RecordEarn(
                member_id=member,
                external_id=f"exp-{key}-{member.hex}",
                event=contract.EarnEvent.model_validate(
                    loyalty.ticket(amount, at=now - timedelta(days=days_ago))
                ),
            ),
        )
    # twelve months after the old earn, only the old lot has expired
    later = now + timedelta(days=365 - 170 + 1)
    await run_point_jobs(loyalty.engine, now=later)
    account = await view.account(loyalty.engine, book, member, now=later)
    assert account.balance == 20
    assert account.history.entries[0].kind == "expire"
    assert account.history.entries[0].points == -30


async def _merge(
    loyalty: Any,
    absorbed: uuid.UUID,
    survivor: uuid.UUID,
    merge_id: uuid.UUID,
    event_id: uuid.UUID | None = None,
):
    event = {
        "event_id": str(event_id or uuid.uuid4()),
        "type": "members.merged",
        "occurred_at": datetime.now(UTC).isoformat(),
        "payload": {
            "member_id": str(survivor),
            "survivor_id": str(survivor),
            "absorbed_id": str(absorbed),
            "merge_id": str(merge_id),
        },
    }
    response = await loyalty.call(
        "POST", "/internal/events", json={"events": [event]}, actor=SYSTEM
    )
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_merge_moves_balance_and_history_to_the_survivor_exactly_once(loyalty: Any) -> None:
    survivor = await loyalty.funded_member(30)
    absorbed = await loyalty.funded_member(70)
    merge_id, event_id = uuid.uuid4(), uuid.uuid4()
    assert await _merge(loyalty, absorbed, survivor, merge_id, event_id) == {
        "received": 1,
        "duplicates": 0,
    }
    assert await _merge(loyalty, absorbed, survivor, merge_id, event_id) == {
        "received": 0,
        "duplicates": 1,
    }
    await _merge(loyalty, absorbed, survivor, merge_id)  # same merge, redelivered as a new event
    account = await loyalty.account(survivor)
    assert account["balance"] == 100
    kinds = [e["kind"] for e in account["history"]["entries"]]
    assert kinds.count("merge") == 1 and kinds.count("earn") == 2
    # the absorbed id now resolves to the survivor
    await loyalty.earn(absorbed, loyalty.ticket("5"))
    assert (await loyalty.account(survivor))["balance"] == 105
    assert (await loyalty.account(absorbed))["member_id"] == str(survivor)


async def test_a_chain_of_merges_ends_on_the_last_survivor(loyalty: Any) -> None:
    a = await loyalty.funded_member(10)
    b = await loyalty.funded_member(10)
    c = await loyalty.funded_member(10)
    await _merge(loyalty, a, b, uuid.uuid4())
    await _merge(loyalty, b, c, uuid.uuid4())
    assert (await loyalty.account(c))["balance"] == 30
    assert (await loyalty.account(a))["member_id"] == str(c)


async def test_ledger_rows_cannot_be_changed_or_deleted(loyalty: Any) -> None:
    member = await loyalty.funded_member(10)
    for sql in (
        "UPDATE loyalty.journal_entries SET points = 1000 WHERE member_id = :m",
        "DELETE FROM loyalty.journal_entries WHERE member_id = :m",
        "UPDATE loyalty.postings SET delta = 1000 WHERE entry_id IN "
        "(SELECT id FROM loyalty.journal_entries WHERE member_id = :m)",
        "TRUNCATE loyalty.postings CASCADE",
    ):
        async with loyalty.engine.connect() as conn:
            with pytest.raises(DBAPIError) as refused:
                await conn.execute(sa.text(sql), {"m": member})
            assert refused.value.orig.sqlstate == "23001"  # type: ignore[union-attr]


async def test_an_unbalanced_entry_is_refused_at_commit(loyalty: Any) -> None:
    member = await loyalty.funded_member(10)
    async with loyalty.engine.connect() as conn:
        account = await conn.scalar(
            sa.text("SELECT id FROM loyalty.accounts WHERE member_id = :m AND kind = 'available'"),
            {"m": member},
        )
        entry = await conn.scalar(
            sa.text("SELECT id FROM loyalty.journal_entries WHERE member_id = :m"), {"m": member}
        )
        await conn.execute(
            sa.text(
                "INSERT INTO loyalty.postings (entry_id, account_id, delta) VALUES (:e, :a, 5)"
            ),
            {"e": entry, "a": account},
        )
        with pytest.raises(DBAPIError) as refused:
            await conn.commit()
        assert refused.value.orig.sqlstate == "23514"  # type: ignore[union-attr]
    assert (await loyalty.account(member))["balance"] == 10


async def test_a_member_balance_can_never_go_below_zero_in_the_database(loyalty: Any) -> None:
    member = await loyalty.funded_member(10)
    async with loyalty.engine.connect() as conn:
        with pytest.raises(DBAPIError) as refused:
            await conn.execute(
                sa.text(
                    "UPDATE loyalty.accounts SET balance = -1 WHERE member_id = :m AND kind = 'available'"
                ),
                {"m": member},
            )
        assert refused.value.orig.sqlstate == "23514"  # type: ignore[union-attr]


async def test_the_liability_is_what_members_hold(loyalty: Any) -> None:
    await loyalty.funded_member(10)
    response = await loyalty.call("GET", "/internal/liability", actor=loyalty.ADMIN)
    held = await loyalty.scalar(
        "SELECT coalesce(sum(balance), 0) FROM loyalty.accounts WHERE member_id IS NOT NULL"
    )
    body = response.json()
    assert body["outstanding"] == held > 0
    assert (
        body["outstanding"]
        == body["issued"] - body["reversed"] - body["redeemed"] - body["expired"]
    )
    refused = await loyalty.call("GET", "/internal/liability")
    assert (refused.status_code, refused.json()["code"], refused.json()["message"]) == (
        403,
        "FORBIDDEN",
        "admins only",
    )
