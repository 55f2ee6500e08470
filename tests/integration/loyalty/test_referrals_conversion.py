"""Conversions through loyalty's internal API on PostgreSQL: the referee joins (identity's
event) and takes part (an earn), in either order and however often each is told; the referrer
is rewarded and the referee welcomed exactly once, each entry saying why; a self-referral found
out later, by a link or a merge, is voided and what it gave is taken back through the ledger."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.common.actor import Actor, ActorKind
from services.loyalty import contract
from services.loyalty.earning.earn import earn_points
from services.loyalty.experiences import door
from services.loyalty.experiences.jobs import EARN_GRACE, run_experience_jobs
from services.loyalty.rulebook.book import RuleBook
from tests.integration.loyalty.experiences_support import preferences
from tests.integration.loyalty.referrals_support import (
    REFERRAL_POINTS,
    STAFF,
    VENUE,
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


async def test_a_purchase_cut_off_after_its_earn_converts_when_the_box_office_sends_it_again(
    referrals: Programme,
) -> None:
    referrer, friend, referral_id = await _referred(referrals)
    await referrals.joins(friend)
    event = {
        "trigger": "purchase",
        "occurred_at": datetime.now(UTC).isoformat(),
        "amount": "20",
        "currency": "EUR",
        "venue_id": str(VENUE),
    }
    body = {"member_id": str(friend.id), "external_id": uuid.uuid4().hex, "event": event}
    # the first request wrote the earn, then lost its connection before telling referrals
    await earn_points(referrals.engine, RuleBook(), STAFF, contract.RecordEarn.model_validate(body))
    assert (await referrals.referral(referral_id))["status"] == "joined"
    again = await referrals.call("POST", "/internal/earn", actor=STAFF, json=body)
    assert again.status_code == 200, again.text
    assert (again.json()["created"], again.json()["entry"]["points"]) == (False, 20)
    assert (await referrals.referral(referral_id))["status"] == "converted"
    assert await referrals.balance(referrer.id) == REFERRAL_POINTS
    assert await referrals.balance(friend.id) == 20 + WELCOME_POINTS
    third = await referrals.call("POST", "/internal/earn", actor=STAFF, json=body)
    assert third.status_code == 200, third.text
    assert await referrals.balance(referrer.id) == REFERRAL_POINTS
    assert len(_referral_entries(await referrals.entries(referrer.id))) == 1


async def _checked_in_at_an_evening(referrals: Programme, friend: Person) -> dict[str, Any]:
    """``friend``, invited to an evening at the venue (the only one with consent here), accepts
    and is scanned at the door: the door's answer."""
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
    texts = {"title_en": "Rehearsal", "title_fr": "Répétition", "description_en": "A."}
    body = {
        "key": uuid.uuid4().hex,
        "venue_id": str(VENUE),
        "texts": texts | {"description_fr": "B."},
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(hours=2)).isoformat(),
        "seats": 1,
        "invitations_open_at": (start - timedelta(hours=2)).isoformat(),
        "invitations_close_at": start.isoformat(),
    }
    made = await referrals.ok("POST", "/internal/experiences", actor=STAFF, json=body)
    report = await referrals.ok(
        "POST",
        f"/internal/experiences/{made['id']}/issuances",
        actor=STAFF,
        json={"key": uuid.uuid4().hex, "count": 1},
    )
    [invited] = report["invitations"]
    assert invited["member_id"] == str(friend.id)
    member = Actor(ActorKind.MEMBER, str(friend.id))
    accepted = await referrals.ok(
        "POST",
        f"/internal/invitations/{invited['invitation_id']}/respond",
        actor=member,
        json={"member_id": str(friend.id), "action": "accept", "guests": []},
    )
    scan = {"token": accepted["door"]["token"], "venue_id": str(VENUE)}
    response = await referrals.call("POST", "/internal/door/redeem", actor=STAFF, json=scan)
    return {"status": response.status_code, "invitation": invited["invitation_id"]}


async def test_a_check_in_cut_off_before_referrals_heard_of_its_attendance_converts_by_the_job(
    referrals: Programme, monkeypatch: pytest.MonkeyPatch
) -> None:
    referrer, friend, referral_id = await _referred(referrals)
    payload = {
        "member_id": str(friend.id),
        "locale": "en",
        "identifier_hashes": {"email": friend.email, "phone": friend.phone},
        "preferences": preferences(),
    }
    await referrals.event("member.registered", payload)
    assert (await referrals.referral(referral_id))["status"] == "joined"
    told = door.referrals.after_earn

    async def cut_off(*args: Any) -> None:
        monkeypatch.setattr(door.referrals, "after_earn", told)
        raise ConnectionResetError("the connection was lost")

    # the door writes the check-in and its attendance earn, then loses its connection
    monkeypatch.setattr(door.referrals, "after_earn", cut_off)
    scanned = await _checked_in_at_an_evening(referrals, friend)
    assert scanned["status"] == 500
    assert (await referrals.referral(referral_id))["status"] == "joined"
    later = datetime.now(UTC) + EARN_GRACE + timedelta(seconds=1)
    report = await run_experience_jobs(referrals.engine, RuleBook(), now=later)
    assert report.attendance_earns == 1
    assert (await referrals.referral(referral_id))["status"] == "converted"
    assert await referrals.balance(referrer.id) == REFERRAL_POINTS
    assert await referrals.balance(friend.id) == 25 + WELCOME_POINTS
    again = await run_experience_jobs(referrals.engine, RuleBook(), now=later)
    assert again.attendance_earns == 0
    invitation = await referrals.scalar(
        "SELECT earn_points FROM loyalty.invitations WHERE id = CAST(:i AS uuid)",
        i=scanned["invitation"],
    )
    assert invitation == 25


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
