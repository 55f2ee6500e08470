"""A member identity erased gets nothing new in loyalty: once ``member.erased`` is received, an
earn (also an attendance earn, or an earn for a duplicate merged into them), a redemption and a
check-in at the door are refused (``MEMBER_ERASED``, or the door's ``cancelled``), and the
ledger is left as it was; a replay of an earn recorded before is still answered."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.integration.loyalty.experiences_support import Kit


def erased_problem(member: uuid.UUID) -> dict[str, Any]:
    return {
        "code": "MEMBER_ERASED",
        "message": "this member was erased",
        "details": {"member_id": str(member)},
    }


async def erase(loyalty: Any, member: uuid.UUID, **more: Any) -> None:
    """Deliver identity's ``member.erased`` (and any other events given) as its relay does."""
    events = [
        {
            "event_id": str(uuid.uuid4()),
            "type": "member.erased",
            "occurred_at": datetime.now(UTC).isoformat(),
            "payload": {"member_id": str(member), "erased_at": datetime.now(UTC).isoformat()},
        },
        *more.get("then", []),
    ]
    response = await loyalty.call("POST", "/internal/events", json={"events": events})
    assert response.status_code == 200, response.text


async def entries(loyalty: Any, member: uuid.UUID) -> int:
    return int(
        await loyalty.scalar(
            "SELECT count(*) FROM loyalty.journal_entries WHERE member_id = :m", m=member
        )
    )


async def test_no_earn_is_recorded_for_an_erased_member_but_an_earlier_one_is_replayed(
    loyalty: Any,
) -> None:
    member, ticket = uuid.uuid4(), loyalty.ticket("30.00")
    first = await loyalty.earn(member, ticket, external_id=f"before-{member}")
    assert first.status_code == 201, first.text
    await erase(loyalty, member)
    refused = await loyalty.earn(member, loyalty.ticket("30.00"))
    assert (refused.status_code, refused.json()) == (410, erased_problem(member))
    replay = await loyalty.earn(member, ticket, external_id=f"before-{member}")
    assert replay.status_code == 200 and replay.json()["entry"] == first.json()["entry"]
    assert replay.json()["created"] is False
    assert await entries(loyalty, member) == 1
    assert (await loyalty.account(member))["balance"] == 30


async def test_a_member_erased_before_loyalty_ever_saw_them_earns_nothing_either(
    loyalty: Any,
) -> None:
    member = uuid.uuid4()
    await erase(loyalty, member)
    refused = await loyalty.earn(member, loyalty.ticket("12.00"))
    assert (refused.status_code, refused.json()) == (410, erased_problem(member))
    assert await entries(loyalty, member) == 0


async def test_an_earn_for_a_duplicate_merged_into_an_erased_member_is_refused(
    loyalty: Any,
) -> None:
    survivor, absorbed = uuid.uuid4(), uuid.uuid4()
    merged = {
        "event_id": str(uuid.uuid4()),
        "type": "members.merged",
        "occurred_at": datetime.now(UTC).isoformat(),
        "payload": {
            "member_id": str(survivor),
            "survivor_id": str(survivor),
            "absorbed_id": str(absorbed),
        },
    }
    response = await loyalty.call("POST", "/internal/events", json={"events": [merged]})
    assert response.status_code == 200, response.text
    await erase(loyalty, survivor)
    refused = await loyalty.earn(absorbed, loyalty.ticket("12.00"))
    assert (refused.status_code, refused.json()) == (410, erased_problem(survivor))


async def test_an_erased_member_redeems_nothing(loyalty: Any) -> None:
    member = await loyalty.funded_member(80)
    await erase(loyalty, member)
    refused = await loyalty.redeem(member, loyalty.programme.coffee_id)
    assert (refused.status_code, refused.json()) == (410, erased_problem(member))
    assert (await loyalty.account(member))["balance"] == 80
    assert await entries(loyalty, member) == 1


@pytest.fixture
def kit(loyalty: Any) -> Kit:
    return Kit(loyalty)


async def test_an_erased_member_s_invitation_no_longer_opens_the_door(kit: Kit) -> None:
    member = await kit.member()
    _, invited = await kit.invited(member)
    response = await kit.respond(member, invited[member], "accept", [])
    assert response.status_code == 200, response.text
    invitation = response.json()
    before = await entries(kit.loyalty, member)
    await erase(kit.loyalty, member)
    outcome = await kit.redeem({"code": invitation["door"]["code"]})
    assert outcome == {
        "kind": "cancelled",
        "invitation_id": invitation["id"],
        "message": "This invitation was cancelled.",
    }
    assert await entries(kit.loyalty, member) == before  # no attendance earn
    scans = await kit.loyalty.scalar(
        "SELECT string_agg(outcome, ',') FROM loyalty.door_scans WHERE invitation_id = :i",
        i=invitation["id"],
    )
    assert scans == "cancelled"
