"""Experiences managed by venue staff and admins, through the loyalty service's internal API."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest

from services.common.actor import Actor, ActorKind
from tests.integration.loyalty.experiences_support import Kit, member_actor, now


@pytest.fixture
def kit(loyalty: Any) -> Kit:
    return Kit(loyalty)


async def test_staff_create_an_experience_of_their_venue_and_the_same_key_again_answers_it(
    kit: Kit,
) -> None:
    body = kit.experience_body(
        seats=12,
        guest_allowance=2,
        production_id="tosca-2026",
        production_title="Tosca",
        purpose="discovery",
        interests=["  Opera ", "Italian  singing"],
        eligibility={"conditions": [{"kind": "tier_at_least", "tier": "gold"}]},
    )
    first = await kit.call("POST", "/internal/experiences", json=body)
    again = await kit.call("POST", "/internal/experiences", json=body, params={"locale": "fr"})
    assert (first.status_code, again.status_code) == (201, 200)
    made = first.json()
    assert again.json()["id"] == made["id"]
    assert made["title"] == "Open rehearsal" and again.json()["title"] == "Répétition ouverte"
    assert made["seats"] == 12 and made["seats_taken"] == 0 and made["waitlisted"] == 0
    assert made["interests"] == ["Opera", "Italian singing"]
    assert made["purpose"] == "discovery" and made["production_title"] == "Tosca"
    assert made["eligibility_text"] == "Open to members of the Gold tier and above."
    assert again.json()["eligibility_text"] == "Ouvert aux membres du niveau Or et au-delà."
    assert made["created_by"] == kit.loyalty.STAFF.label()
    starts = made["starts_at"]
    assert made["door_opens_at"] < starts < made["door_closes_at"]


async def test_the_same_key_with_other_content_is_refused(kit: Kit) -> None:
    body = kit.experience_body()
    assert (await kit.call("POST", "/internal/experiences", json=body)).status_code == 201
    response = await kit.call("POST", "/internal/experiences", json={**body, "seats": 3})
    assert response.status_code == 409
    assert response.json()["code"] == "EXPERIENCE_KEY_TAKEN"


async def test_staff_of_another_venue_and_members_cannot_create_one(kit: Kit) -> None:
    body = kit.experience_body(venue_id=str(kit.loyalty.OTHER_VENUE))
    response = await kit.call("POST", "/internal/experiences", json=body)
    assert (response.status_code, response.json()["code"]) == (403, "WRONG_VENUE")
    member = member_actor(uuid.uuid4())
    response = await kit.call("POST", "/internal/experiences", actor=member, json=body)
    assert (response.status_code, response.json()["code"]) == (403, "FORBIDDEN")
    admin = await kit.call("POST", "/internal/experiences", actor=kit.loyalty.ADMIN, json=body)
    assert admin.status_code == 201


async def test_a_schedule_out_of_order_is_refused_with_every_reason(kit: Kit) -> None:
    start = now() + timedelta(hours=3)
    body = kit.experience_body(
        starts_at=start,
        invitations_open_at=(start + timedelta(hours=1)).isoformat(),
        invitations_close_at=(start + timedelta(minutes=30)).isoformat(),
    )
    response = await kit.call("POST", "/internal/experiences", json=body)
    assert response.status_code == 422
    problem = response.json()
    assert problem["code"] == "INVALID_SCHEDULE"
    assert problem["details"]["errors"] == [
        "invitations open before they close",
        "offers close at the start at the latest",
    ]


async def test_a_past_experience_cannot_be_created(kit: Kit) -> None:
    start = now() - timedelta(minutes=1)
    body = kit.experience_body(
        starts_at=start,
        invitations_open_at=(start - timedelta(days=1)).isoformat(),
        invitations_close_at=start.isoformat(),
    )
    response = await kit.call("POST", "/internal/experiences", json=body)
    assert response.json()["details"]["errors"] == ["an experience starts in the future"]


async def test_conditions_that_hold_for_nobody_are_refused_before_saving(kit: Kit) -> None:
    body = kit.experience_body(
        eligibility={
            "conditions": [
                {"kind": "tier_at_least", "tier": "diamond"},
                {"kind": "booked_production"},
            ]
        }
    )
    response = await kit.call("POST", "/internal/experiences", json=body)
    assert response.status_code == 422
    assert response.json()["code"] == "INVALID_ELIGIBILITY"
    assert response.json()["details"]["errors"] == [
        "conditions.0: unknown tier 'diamond'",
        "conditions.1: the experience accompanies no production",
    ]


async def test_an_update_changes_only_the_fields_sent(kit: Kit) -> None:
    made = await kit.create()
    response = await kit.call(
        "PATCH",
        f"/internal/experiences/{made['id']}",
        json={"seats": 4, "production_id": "figaro", "production_title": "Figaro"},
    )
    assert response.status_code == 200, response.text
    changed = response.json()
    assert (changed["seats"], changed["production_id"]) == (4, "figaro")
    assert changed["title"] == made["title"] and changed["starts_at"] == made["starts_at"]
    cleared = await kit.call(
        "PATCH", f"/internal/experiences/{made['id']}", json={"production_id": None}
    )
    assert cleared.json()["production_id"] is None
    refused = await kit.call("PATCH", f"/internal/experiences/{made['id']}", json={"seats": None})
    assert (refused.status_code, refused.json()["message"]) == (422, "seats cannot be cleared")


async def test_seats_never_fall_below_the_seats_taken(kit: Kit) -> None:
    member = await kit.member()
    made, invited = await kit.invited(member, seats=5, guest_allowance=2)
    guests = [{"name": "Ana"}, {"name": "Ben", "email": "ben@example.org"}]
    accepted = await kit.respond(member, invited[member], "accept", guests)
    assert accepted.status_code == 200, accepted.text
    response = await kit.call("PATCH", f"/internal/experiences/{made['id']}", json={"seats": 2})
    assert response.status_code == 409
    assert response.json()["code"] == "SEATS_BELOW_TAKEN"
    assert response.json()["details"] == {"seats_taken": 3}
    exact = await kit.call("PATCH", f"/internal/experiences/{made['id']}", json={"seats": 3})
    assert exact.json()["seats"] == 3 and exact.json()["seats_taken"] == 3


async def test_cancelling_cancels_every_live_invitation_and_tells_each_member(kit: Kit) -> None:
    first, second = await kit.member(), await kit.member()
    made, invited = await kit.invited(first, second, seats=3)
    await kit.respond(first, invited[first], "accept")
    response = await kit.call(
        "POST", f"/internal/experiences/{made['id']}/cancel", json={"reason": "The soloist is ill."}
    )
    assert response.status_code == 200, response.text
    cancelled = response.json()
    assert cancelled["cancel_reason"] == "The soloist is ill." and cancelled["seats_taken"] == 0
    for member in (first, second):
        (invitation,) = await kit.invitations(member)
        assert invitation["state"] == "cancelled" and invitation["experience"]["cancelled"]
        assert invitation["door"] is None
    events = await kit.loyalty.scalar(
        "SELECT count(*) FROM loyalty.outbox WHERE type = 'invitation.cancelled' "
        "AND payload ->> 'experience_id' = :e AND payload ->> 'reason' = 'The soloist is ill.'",
        e=made["id"],
    )
    assert events == 2
    again = await kit.call(
        "POST", f"/internal/experiences/{made['id']}/cancel", json={"reason": "Twice."}
    )
    assert again.status_code == 200 and again.json()["cancel_reason"] == "The soloist is ill."
    update = await kit.call("PATCH", f"/internal/experiences/{made['id']}", json={"seats": 9})
    assert (update.status_code, update.json()["code"]) == (409, "EXPERIENCE_CANCELLED")


async def test_staff_list_only_their_venues_and_admins_every_venue(kit: Kit) -> None:
    ours = await kit.create()
    theirs = await kit.create(actor=kit.loyalty.ADMIN, venue_id=str(kit.loyalty.OTHER_VENUE))
    staff = {e["id"] for e in (await kit.call("GET", "/internal/experiences")).json()}
    admin = await kit.call("GET", "/internal/experiences", actor=kit.loyalty.ADMIN)
    assert ours["id"] in staff and theirs["id"] not in staff
    assert {ours["id"], theirs["id"]} <= {e["id"] for e in admin.json()}
    other = await kit.call(
        "GET", "/internal/experiences", params={"venue_id": str(kit.loyalty.OTHER_VENUE)}
    )
    assert (other.status_code, other.json()["code"]) == (403, "WRONG_VENUE")
    one = await kit.call("GET", f"/internal/experiences/{theirs['id']}")
    assert (one.status_code, one.json()["code"]) == (403, "WRONG_VENUE")
    unknown = await kit.call("GET", f"/internal/experiences/{uuid.uuid4()}")
    assert (unknown.status_code, unknown.json()["code"]) == (404, "EXPERIENCE_NOT_FOUND")
    partner = Actor(ActorKind.PARTNER, "p")
    refused = await kit.call("GET", "/internal/experiences", actor=partner)
    assert refused.status_code == 403
