"""Conversions through loyalty's internal API on PostgreSQL: the referee joins (identity's
event) and takes part (an earn), in either order and however often each is told; the referrer
is rewarded and the referee welcomed exactly once, each entry saying why; a self-referral found
out later, by a link or a merge, is voided and what it gave is taken back through the ledger."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from tests.integration.loyalty.referrals_support import (
    REFERRAL_POINTS,
    WELCOME_POINTS,
    Person,
    Programme,
    partner,
    referrals,
    referrals_database_url,
)

__all__ = ["referrals", "referrals_database_url"]


async def _referred(referrals: Programme) -> tuple[Person, Person, str]:
    """A member, and a friend a partner referred by their email: (referrer, friend, id)."""
    referrer = Person.new()
    await referrals.joins(referrer)
    code = await referrals.code(referrer.id)
    friend = Person.new()
    response = await referrals.register(partner(), code, friend.referee())
    assert response.status_code == 201, response.text
    return referrer, friend, response.json()["referral"]["id"]


def _referral_entries(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in entries if e["external_id"].startswith("referral:")]


async def test_a_referee_who_joins_and_buys_rewards_the_referrer_once_with_an_entry_that_says_why(
    referrals: Programme,
) -> None:
    referrer, friend, referral_id = await _referred(referrals)
    await referrals.joins(friend)
    assert (await referrals.referral(referral_id))["status"] == "joined"
    assert await referrals.balance(referrer.id) == 0
    await referrals.earn(friend.id, amount="20")
    await referrals.earn(friend.id, amount="15")  # a second purchase converts nothing more
    row = await referrals.referral(referral_id)
    assert row["status"] == "converted" and row["referee_id"] == friend.id
    assert await referrals.balance(referrer.id) == REFERRAL_POINTS
    assert await referrals.balance(friend.id) == 20 + 15 + WELCOME_POINTS
    [reward] = _referral_entries(await referrals.entries(referrer.id))
    assert reward["external_id"] == f"referral:{referral_id}:referrer"
    assert reward["summary"] == f"Referral: +{REFERRAL_POINTS} points"
    assert [(ln["rule_key"], ln["points"], ln["reason"]) for ln in reward["lines"]] == [
        (
            "bring-a-friend",
            REFERRAL_POINTS,
            "Bring a friend (rules v1): when someone you referred joins and takes part: "
            f"{REFERRAL_POINTS} points",
        )
    ]
    assert reward["actor"] == "system:referrals"
    [welcome] = _referral_entries(await referrals.entries(friend.id))
    assert welcome["external_id"] == f"referral:{referral_id}:referee"
    assert welcome["summary"] == f"Welcome: +{WELCOME_POINTS} points"
    assert [ln["rule_key"] for ln in welcome["lines"]] == ["welcome-friend"]


async def test_a_purchase_told_before_the_registration_converts_when_the_registration_arrives(
    referrals: Programme,
) -> None:
    referrer, friend, referral_id = await _referred(referrals)
    await referrals.earn(friend.id, trigger="attendance")  # loyalty hears of them by the earn
    assert (await referrals.referral(referral_id))["status"] == "pending"
    await referrals.joins(friend)
    assert (await referrals.referral(referral_id))["status"] == "converted"
    assert await referrals.balance(referrer.id) == REFERRAL_POINTS


async def test_registrations_and_earns_told_twice_and_at_once_reward_exactly_once(
    referrals: Programme,
) -> None:
    referrer, friend, referral_id = await _referred(referrals)
    event = uuid.uuid4()
    await asyncio.gather(
        referrals.joins(friend, event_id=event),
        referrals.joins(friend, event_id=event),
        referrals.joins(friend),
        referrals.earn(friend.id),
        referrals.earn(friend.id),
        referrals.joins(friend),
    )
    await referrals.joins(friend)
    assert (await referrals.referral(referral_id))["status"] == "converted"
    assert await referrals.balance(referrer.id) == REFERRAL_POINTS
    assert len(_referral_entries(await referrals.entries(referrer.id))) == 1
    assert len(_referral_entries(await referrals.entries(friend.id))) == 1
    effects = await referrals.scalar(
        "SELECT count(*) FROM loyalty.referral_effects"
        " WHERE referral_id = CAST(:r AS uuid) AND done_at IS NOT NULL",
        r=referral_id,
    )
    assert effects == 2


async def test_a_signup_or_birthday_does_not_qualify_and_joining_alone_converts_nothing(
    referrals: Programme,
) -> None:
    referrer, friend, referral_id = await _referred(referrals)
    await referrals.joins(friend)
    await referrals.earn(friend.id, trigger="birthday")
    assert (await referrals.referral(referral_id))["status"] == "joined"
    assert await referrals.balance(referrer.id) == 0


async def test_the_referrer_linking_the_referees_email_voids_the_referral_and_takes_back_both_entries(
    referrals: Programme,
) -> None:
    referrer, friend, referral_id = await _referred(referrals)
    await referrals.joins(friend)
    await referrals.earn(friend.id, amount="10")
    assert await referrals.balance(referrer.id) == REFERRAL_POINTS
    await referrals.links(referrer.id, "email", friend.email)
    row = await referrals.referral(referral_id)
    assert row["status"] == "voided" and row["voided_at"] is not None
    assert await referrals.balance(referrer.id) == 0
    assert await referrals.balance(friend.id) == 10
    entries = await referrals.entries(referrer.id)
    reversal = next(e for e in entries if e["kind"] == "reverse")
    assert reversal["external_id"] == f"reversal:referral:{referral_id}:referrer"
    assert reversal["summary"] == (
        f"Reversal (self-referral / auto-parrainage): -{REFERRAL_POINTS} points"
    )
    await referrals.links(referrer.id, "email", friend.email)  # told again: nothing more
    assert await referrals.balance(referrer.id) == 0


async def test_merging_the_referee_into_the_referrer_voids_even_before_conversion(
    referrals: Programme,
) -> None:
    referrer, friend, referral_id = await _referred(referrals)
    await referrals.joins(friend)
    await referrals.merges(referrer.id, friend.id)
    assert (await referrals.referral(referral_id))["status"] == "voided"
    await referrals.earn(referrer.id)
    await referrals.earn(friend.id)
    assert await referrals.balance(referrer.id) == 40  # the two purchases, no reward
    assert _referral_entries(await referrals.entries(referrer.id)) == []


async def test_a_merge_after_conversion_takes_the_reward_back_from_the_survivor(
    referrals: Programme,
) -> None:
    referrer, friend, referral_id = await _referred(referrals)
    await referrals.joins(friend)
    await referrals.earn(friend.id, amount="5")
    await referrals.merges(friend.id, referrer.id)  # the referrer's account is the duplicate
    assert (await referrals.referral(referral_id))["status"] == "voided"
    assert await referrals.balance(friend.id) == 5  # reward and welcome both taken back


async def test_a_referee_who_joins_with_another_email_then_links_the_referred_one_converts(
    referrals: Programme,
) -> None:
    referrer, friend, referral_id = await _referred(referrals)
    other = Person(friend.id, "0" * 64, "1" * 64)  # registered with other identifiers
    await referrals.joins(other)
    assert (await referrals.referral(referral_id))["status"] == "pending"
    await referrals.links(friend.id, "email", friend.email)
    assert (await referrals.referral(referral_id))["status"] == "joined"
    await referrals.earn(friend.id)
    assert await referrals.balance(referrer.id) == REFERRAL_POINTS


async def test_someone_who_was_a_member_before_the_referral_does_not_join_it_by_a_link(
    referrals: Programme,
) -> None:
    veteran = Person.new()
    await referrals.joins(veteran)
    referrer = Person.new()
    await referrals.joins(referrer)
    newcomer = Person.new()
    response = await referrals.register(
        partner(), await referrals.code(referrer.id), newcomer.referee()
    )
    referral_id = response.json()["referral"]["id"]
    await referrals.links(veteran.id, "email", newcomer.email)
    assert (await referrals.referral(referral_id))["status"] == "pending"
