"""The member's side of an invitation, against PostgreSQL: accepting with guests, the waitlist
and its promotion, declining, cancelling, offers that expire, the door pass, and rating."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import jwt
import pytest

from services.common.actor import SYSTEM
from services.common.problems import Problem
from services.loyalty.experiences import contract, respond
from services.loyalty.experiences.contract import ResponseAction
from tests.integration.loyalty.experiences_support import Kit, member_actor, now


@pytest.fixture
def kit(loyalty: Any) -> Kit:
    return Kit(loyalty)


async def test_a_member_accepts_with_guests_and_holds_a_door_pass_verifiable_with_the_published_key(
    kit: Kit,
) -> None:
    member = await kit.member()
    made, invited = await kit.invited(member, seats=4, guest_allowance=2)
    guests = [
        {"name": "Léa Martin", "email": "lea@example.org"},
        {"name": "Sam", "phone": "+33612345678"},
    ]
    response = await kit.respond(member, invited[member], "accept", guests)
    assert response.status_code == 200, response.text
    invitation = response.json()
    assert invitation["state"] == "accepted" and invitation["guest_seats"] == 2
    assert invitation["guests"] == [
        {"name": "Léa Martin", "email": "lea@example.org", "phone": None},
        {"name": "Sam", "email": None, "phone": "+33612345678"},
    ]
    door = invitation["door"]
    code = await kit.loyalty.scalar(
        "SELECT code FROM loyalty.invitations WHERE id = :i", i=invitation["id"]
    )
    assert door["code"] == f"{code[:4]}-{code[4:]}"
    assert (
        door["qr_svg"].startswith("<svg") and 'xmlns="http://www.w3.org/2000/svg"' in door["qr_svg"]
    )
    assert (door["valid_from"], door["valid_until"]) == (
        made["door_opens_at"],
        made["door_closes_at"],
    )
    keys = (await kit.loyalty.client.get("/.well-known/jwks.json")).json()["keys"]
    (key,) = [k for k in keys if k["kid"] == jwt.get_unverified_header(door["token"])["kid"]]
    claims = jwt.decode(
        door["token"],
        jwt.PyJWK(key, algorithm="EdDSA").key,
        algorithms=["EdDSA"],
        audience="door",
        issuer="loyalty",
        options={"verify_nbf": False},
    )
    assert claims["sub"] == invitation["id"] and claims["code"] == code
    assert claims["venue"] == str(kit.loyalty.VENUE) and claims["guests"] == 2
    experience = (await kit.call("GET", f"/internal/experiences/{made['id']}")).json()
    assert experience["seats_taken"] == 3


async def test_more_guests_than_the_allowance_are_refused_and_nothing_changes(kit: Kit) -> None:
    member = await kit.member()
    made, invited = await kit.invited(member, guest_allowance=1)
    response = await kit.respond(member, invited[member], "accept", [{"name": "A"}, {"name": "B"}])
    experience = (await kit.call("GET", f"/internal/experiences/{made['id']}")).json()
    assert experience["seats_taken"] == 0
    assert response.status_code == 422
    assert response.json() == {
        "code": "TOO_MANY_GUESTS",
        "message": "more guests than this experience allows",
        "details": {"state": "offered", "allowance": 1},
    }
    (invitation,) = await kit.invitations(member)
    assert invitation["state"] == "offered" and invitation["guests"] == []


async def test_when_full_an_acceptance_joins_the_waitlist_and_a_cancellation_promotes_it_in_order(
    kit: Kit,
) -> None:
    first, second, third = await kit.member(), await kit.member(), await kit.member()
    made, invited = await kit.invited(first, second, third, seats=2, guest_allowance=1)
    assert (await kit.respond(first, invited[first], "accept", [{"name": "G"}])).json()[
        "state"
    ] == "accepted"
    waiting = await kit.respond(second, invited[second], "accept")
    behind = await kit.respond(third, invited[third], "accept")
    assert (waiting.json()["state"], waiting.json()["waitlist_position"]) == ("waitlisted", 1)
    assert (behind.json()["state"], behind.json()["waitlist_position"]) == ("waitlisted", 2)
    assert waiting.json()["door"] is None
    cancelled = await kit.respond(first, invited[first], "cancel")
    assert cancelled.json()["state"] == "cancelled" and cancelled.json()["door"] is None
    states = {m: (await kit.invitations(m))[0]["state"] for m in (second, third)}
    assert states == {second: "accepted", third: "accepted"}
    experience = (await kit.call("GET", f"/internal/experiences/{made['id']}")).json()
    assert (experience["seats_taken"], experience["waitlisted"]) == (2, 0)
    promoted = await kit.loyalty.scalar(
        "SELECT count(*) FROM loyalty.outbox WHERE type = 'invitation.promoted' "
        "AND payload ->> 'experience_id' = :e",
        e=made["id"],
    )
    assert promoted == 2


async def test_the_head_of_the_waitlist_is_never_overtaken_by_a_smaller_party(kit: Kit) -> None:
    first, big, small = await kit.member(), await kit.member(), await kit.member()
    made, invited = await kit.invited(first, big, small, seats=2, guest_allowance=1)
    await kit.respond(first, invited[first], "accept")
    await kit.respond(big, invited[big], "accept", [{"name": "G"}])
    await kit.respond(small, invited[small], "accept")
    states = {m: (await kit.invitations(m))[0]["state"] for m in (big, small)}
    assert states == {big: "waitlisted", small: "waitlisted"}  # one seat free, the head needs two
    experience = (await kit.call("GET", f"/internal/experiences/{made['id']}")).json()
    assert (experience["seats_taken"], experience["waitlisted"]) == (1, 2)


async def test_a_member_declines_once_and_cannot_answer_again(kit: Kit) -> None:
    member = await kit.member()
    _, invited = await kit.invited(member)
    assert (await kit.respond(member, invited[member], "decline")).json()["state"] == "declined"
    again = await kit.respond(member, invited[member], "accept")
    assert (again.status_code, again.json()["code"]) == (409, "WRONG_STATE")
    guests = await kit.respond(member, invited[member], "decline", [{"name": "G"}])
    assert guests.status_code == 422


async def test_nobody_answers_someone_else_s_invitation(kit: Kit) -> None:
    member, stranger = await kit.member(), await kit.member()
    _, invited = await kit.invited(member)
    response = await kit.respond(stranger, invited[member], "accept")
    assert (response.status_code, response.json()["code"]) == (404, "INVITATION_NOT_FOUND")
    spoofed = await kit.loyalty.call(
        "POST",
        f"/internal/invitations/{invited[member]}/respond",
        actor=member_actor(stranger),
        json={"member_id": str(member), "action": "accept", "guests": []},
    )
    assert spoofed.status_code == 403
    listed = await kit.call(
        "GET", f"/internal/members/{member}/invitations", actor=member_actor(stranger)
    )
    assert listed.status_code == 403


async def test_an_offer_reads_expired_once_the_window_has_closed_and_can_no_longer_be_accepted(
    kit: Kit, loyalty: Any
) -> None:
    member = await kit.member()
    _, invited = await kit.invited(member)
    later = now() + timedelta(hours=1, seconds=1)
    (seen,) = await respond.member_invitations(loyalty.engine, SYSTEM, member, now=later)
    assert seen.state == "expired"
    body = contract.RespondToInvitation(member_id=member, action=ResponseAction.ACCEPT)
    with pytest.raises(Problem) as refused:
        await respond.respond_to_invitation(
            loyalty.engine, SYSTEM, uuid.UUID(invited[member]), body, now=later
        )
    assert refused.value.code == "OFFER_CLOSED"
    jobs = await kit.call("POST", "/internal/jobs/experiences", actor=kit.loyalty.ADMIN)
    assert jobs.status_code == 200  # nothing due yet at the real clock
    assert (
        await kit.loyalty.scalar(
            "SELECT state FROM loyalty.invitations WHERE id = :i", i=invited[member]
        )
        == "offered"
    )


async def test_members_in_french_read_the_experience_and_why_in_french(kit: Kit) -> None:
    member = await kit.member()
    await kit.invited(member)
    (invitation,) = await kit.invitations(member, locale="fr")
    assert invitation["experience"]["title"] == "Répétition ouverte"
    assert (
        invitation["why_chosen"]
        == invitation["why_chosen_fr"]
        == ("Cette invitation vous est proposée parce que vous avez réservé ce spectacle.")
    )
