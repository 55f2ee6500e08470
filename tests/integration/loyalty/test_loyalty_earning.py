"""Earning points through the loyalty service's internal API, against PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from services.common.actor import Actor, ActorKind


async def test_a_ticket_earns_a_point_per_euro_and_the_entry_says_which_rule_and_version(
    loyalty: Any,
) -> None:
    member = uuid.uuid4()
    response = await loyalty.earn(member, loyalty.ticket("45.90"))
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["created"] is True
    assert body["balance"] == 45
    entry = body["entry"]
    assert entry["kind"] == "earn"
    assert entry["points"] == 45
    assert entry["actor"] == loyalty.STAFF.label()
    assert entry["source"] == f"venue:{loyalty.VENUE}"
    (line,) = entry["lines"]
    assert line["rule_key"] == "tickets"
    assert line["rule_version"] == entry["rule_version"] >= 1
    assert line["points"] == 45
    assert "45" in line["reason"]


async def test_the_same_earn_sent_twice_gives_the_same_entry_once(loyalty: Any) -> None:
    member = uuid.uuid4()
    first = await loyalty.earn(
        member, loyalty.ticket("20", at=datetime.now(UTC)), external_id="order-1"
    )
    event = {**loyalty.ticket("20"), "occurred_at": first.json()["entry"]["occurred_at"]}
    again = await loyalty.earn(member, event, external_id="order-1")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["created"] is False
    assert again.json()["entry"]["id"] == first.json()["entry"]["id"]
    assert (await loyalty.account(member))["balance"] == 20


async def test_an_external_id_reused_for_another_event_is_a_conflict(loyalty: Any) -> None:
    member = uuid.uuid4()
    key = uuid.uuid4().hex
    assert (await loyalty.earn(member, loyalty.ticket("10"), external_id=key)).status_code == 201
    reused = await loyalty.earn(member, loyalty.ticket("99"), external_id=key)
    assert reused.status_code == 409
    assert reused.json()["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert (await loyalty.account(member))["balance"] == 10


async def test_each_caller_has_its_own_namespace_of_external_ids(loyalty: Any) -> None:
    member = uuid.uuid4()
    key = uuid.uuid4().hex
    by_venue = await loyalty.earn(member, loyalty.ticket("10"), external_id=key)
    by_partner = await loyalty.earn(
        member, {**loyalty.ticket("10"), "venue_id": None}, external_id=key, actor=loyalty.PARTNER
    )
    assert (by_venue.status_code, by_partner.status_code) == (201, 201)
    assert by_partner.json()["entry"]["source"] == f"partner:{loyalty.PARTNER.id}"
    assert (await loyalty.account(member))["balance"] == 20


async def test_staff_record_points_only_for_their_own_venue_and_members_never(loyalty: Any) -> None:
    member = uuid.uuid4()
    wrong = await loyalty.earn(member, loyalty.ticket("10", venue=loyalty.OTHER_VENUE))
    assert (wrong.status_code, wrong.json()["code"]) == (403, "WRONG_VENUE")
    selfish = await loyalty.earn(
        member, loyalty.ticket("10"), actor=Actor(ActorKind.MEMBER, str(member))
    )
    assert (selfish.status_code, selfish.json()["code"]) == (403, "FORBIDDEN")
    assert (
        await loyalty.scalar(
            "SELECT count(*) FROM loyalty.journal_entries WHERE member_id = :m", m=member
        )
        == 0
    )


async def test_events_in_the_future_or_too_old_are_refused_with_a_code(loyalty: Any) -> None:
    member = uuid.uuid4()
    future = await loyalty.earn(
        member, loyalty.ticket("10", at=datetime.now(UTC) + timedelta(hours=1))
    )
    old = await loyalty.earn(
        member, loyalty.ticket("10", at=datetime.now(UTC) - timedelta(days=400))
    )
    assert (future.status_code, future.json()["code"]) == (422, "EVENT_IN_FUTURE")
    assert (old.status_code, old.json()["code"]) == (422, "EVENT_TOO_OLD")


async def test_malformed_earns_are_refused_and_write_nothing(loyalty: Any) -> None:
    before = await loyalty.scalar("SELECT count(*) FROM loyalty.journal_entries")
    member = str(uuid.uuid4())
    bad_bodies = [
        {"member_id": "not-a-uuid", "external_id": "x", "event": loyalty.ticket("1")},
        {"member_id": member, "external_id": "", "event": loyalty.ticket("1")},
        {"member_id": member, "external_id": "x" * 101, "event": loyalty.ticket("1")},
        {
            "member_id": member,
            "external_id": "x",
            "event": {**loyalty.ticket("1"), "trigger": "lottery"},
        },
        {"member_id": member, "external_id": "x", "event": {**loyalty.ticket("1"), "amount": "-5"}},
        {
            "member_id": member,
            "external_id": "x",
            "event": {**loyalty.ticket("1"), "amount": "abc"},
        },
        {
            "member_id": member,
            "external_id": "x",
            "event": {**loyalty.ticket("1"), "currency": "euro"},
        },
        {
            "member_id": member,
            "external_id": "x",
            "event": {**loyalty.ticket("1"), "occurred_at": "2026-01-01T10:00:00"},
        },
        {"member_id": member, "external_id": "x", "event": loyalty.ticket("1"), "points": 1000},
    ]
    for body in bad_bodies:
        response = await loyalty.call("POST", "/internal/earn", json=body)
        assert response.status_code == 422, body
        assert response.json()["code"] == "INVALID_INPUT", response.text
    assert await loyalty.scalar("SELECT count(*) FROM loyalty.journal_entries") == before


async def test_a_preview_equals_the_award(loyalty: Any) -> None:
    member = uuid.uuid4()
    await loyalty.earn(member, {**loyalty.ticket("1"), "trigger": "attendance", "category": None})
    event = {**loyalty.ticket("1"), "trigger": "attendance", "category": None}
    preview = await loyalty.call(
        "POST", "/internal/earn/simulate", json={"member_id": str(member), "event": event}
    )
    award = await loyalty.earn(member, event)
    assert preview.status_code == 200, preview.text
    assert preview.json()["total"] == award.json()["entry"]["points"] == 25
    assert [(ln["rule_key"], ln["points"]) for ln in preview.json()["lines"]] == [
        (ln["rule_key"], ln["points"]) for ln in award.json()["entry"]["lines"]
    ]


async def test_a_first_visit_is_rewarded_once(loyalty: Any) -> None:
    member = uuid.uuid4()
    visit = {**loyalty.ticket("1"), "trigger": "attendance", "category": None}
    first = await loyalty.earn(member, visit)
    second = await loyalty.earn(member, {**visit, "occurred_at": datetime.now(UTC).isoformat()})
    assert first.json()["entry"]["points"] == 125
    assert second.json()["entry"]["points"] == 25


async def test_a_daily_cap_is_never_exceeded(loyalty: Any) -> None:
    member = uuid.uuid4()
    workshop = {**loyalty.ticket("30"), "category": "workshop"}
    points = [(await loyalty.earn(member, workshop)).json()["entry"]["points"] for _ in range(3)]
    assert points == [40, 40, 0]


async def test_history_pages_newest_first_with_cursors(loyalty: Any) -> None:
    member = uuid.uuid4()
    for amount in ("1", "2", "3", "4", "5"):
        assert (await loyalty.earn(member, loyalty.ticket(amount))).status_code == 201
    page1 = await loyalty.account(member, first=2)
    page2 = await loyalty.account(member, first=2, after=page1["history"]["end_cursor"])
    page3 = await loyalty.account(member, first=2, after=page2["history"]["end_cursor"])
    seen = [e["points"] for p in (page1, page2, page3) for e in p["history"]["entries"]]
    assert seen == [5, 4, 3, 2, 1]
    assert page1["history"]["has_next_page"] and not page3["history"]["has_next_page"]
    bad = await loyalty.call("GET", f"/internal/members/{member}/account", params={"after": "zz"})
    assert (bad.status_code, bad.json()["code"], bad.json()["message"]) == (
        422,
        "INVALID_INPUT",
        "the cursor is not valid",
    )
