"""Races at the door and for seats: real concurrent requests, each on its own connection,
spread over several replicas of the loyalty service so that they meet in PostgreSQL."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest

from tests.integration.loyalty.experiences_support import Kit, now


@pytest.fixture
def kit(loyalty: Any) -> Kit:
    return Kit(loyalty)


async def test_a_hundred_concurrent_redemptions_of_one_code_check_in_exactly_once(
    kit: Kit, replicas: list[Any]
) -> None:
    member = await kit.member()
    _, invited = await kit.invited(member)
    invitation = (await kit.respond(member, invited[member], "accept")).json()
    code = invitation["door"]["code"]
    outcomes = await asyncio.gather(
        *(kit.redeem({"code": code}, client=replicas[n % len(replicas)]) for n in range(100))
    )
    kinds = Counter(o["kind"] for o in outcomes)
    assert kinds == {"checked_in": 1, "already_checked_in": 99}
    (winner,) = [o for o in outcomes if o["kind"] == "checked_in"]
    assert {o["checked_in_at"] for o in outcomes} == {winner["checked_in_at"]}
    assert {o["checked_in_by"] for o in outcomes if "checked_in_by" in o} == {
        kit.loyalty.STAFF.label()
    }
    logged = await kit.loyalty.scalar(
        "SELECT count(*) FROM loyalty.door_scans WHERE invitation_id = :i", i=invitation["id"]
    )
    earns = await kit.loyalty.scalar(
        "SELECT count(*) FROM loyalty.journal_entries WHERE external_id = :x",
        x=f"experience-invitation:{invitation['id']}",
    )
    assert (logged, earns) == (100, 1)


async def test_twice_as_many_concurrent_acceptances_as_seats_fill_exactly_the_seats(
    kit: Kit, replicas: list[Any]
) -> None:
    members = [await kit.member() for _ in range(16)]
    made, invited = await kit.invited(*members, seats=8, guest_allowance=0)
    responses = await asyncio.gather(
        *(
            kit.respond(m, invited[m], "accept", client=replicas[n % len(replicas)])
            for n, m in enumerate(members)
        )
    )
    assert all(r.status_code == 200 for r in responses)
    states = Counter(r.json()["state"] for r in responses)
    assert states == {"accepted": 8, "waitlisted": 8}
    places = sorted(
        r.json()["waitlist_position"] for r in responses if r.json()["waitlist_position"]
    )
    assert places == list(range(1, 9))
    experience = (await kit.call("GET", f"/internal/experiences/{made['id']}")).json()
    assert (experience["seats_taken"], experience["waitlisted"]) == (8, 8)
    held = await kit.loyalty.scalar(
        "SELECT sum(1 + guests) FROM loyalty.invitations WHERE experience_id = :e "
        "AND state = 'accepted'",
        e=made["id"],
    )
    assert held == 8


async def test_concurrent_cancellations_promote_the_waitlist_in_order_without_overfilling(
    kit: Kit, replicas: list[Any]
) -> None:
    members = [await kit.member() for _ in range(8)]
    made, invited = await kit.invited(*members, seats=4, guest_allowance=0)
    for member in members:  # one after the other: the waitlist's order is known
        await kit.respond(member, invited[member], "accept")
    holders, waiting = members[:4], members[4:]
    await asyncio.gather(
        *(
            kit.respond(m, invited[m], "cancel", client=replicas[n % len(replicas)])
            for n, m in enumerate(holders[:2])
        )
    )
    states = [(await kit.invitations(m))[0]["state"] for m in waiting]
    assert states == ["accepted", "accepted", "waitlisted", "waitlisted"]
    experience = (await kit.call("GET", f"/internal/experiences/{made['id']}")).json()
    assert (experience["seats_taken"], experience["waitlisted"]) == (4, 2)


async def test_the_same_offline_batch_sent_twice_at_once_settles_each_scan_once(
    kit: Kit, replicas: list[Any]
) -> None:
    member = await kit.member()
    _, invited = await kit.invited(member)
    invitation = (await kit.respond(member, invited[member], "accept")).json()
    body = {
        "device_id": f"phone-{invitation['id']}",
        "scans": [
            {
                "scan_id": "a",
                "token": invitation["door"]["token"],
                "scanned_at": (now() - timedelta(minutes=1)).isoformat(),
            },
            {"scan_id": "b", "code": invitation["door"]["code"], "scanned_at": now().isoformat()},
        ],
    }
    responses = await asyncio.gather(
        *(
            replicas[n].call(
                "POST", "/internal/door/redeem-batch", actor=kit.loyalty.STAFF, json=body
            )
            for n in range(4)
        )
    )
    firsts = Counter(
        (r["scan_id"], r["outcome"]["kind"], r["replayed"])
        for response in responses
        for r in response.json()["results"]
    )
    assert firsts == {
        ("a", "checked_in", False): 1,
        ("a", "checked_in", True): 3,
        ("b", "already_checked_in", False): 1,
        ("b", "already_checked_in", True): 3,
    }
    logged = await kit.loyalty.scalar(
        "SELECT count(*) FROM loyalty.door_scans WHERE device_id = :d", d=body["device_id"]
    )
    assert logged == 2
