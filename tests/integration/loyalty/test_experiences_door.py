"""The door, against PostgreSQL: every outcome of a redemption, the attendance earn, the
throttle on failed guesses, the scan log, offline batches, ratings and the figures."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import pytest

from services.common.actor import Actor, ActorKind
from services.loyalty.experiences import door_codes
from tests.integration.loyalty.experiences_support import Kit, member_actor, now


@pytest.fixture
def kit(loyalty: Any) -> Kit:
    return Kit(loyalty)


def staff(*venues: uuid.UUID) -> Actor:
    return Actor(ActorKind.STAFF, str(uuid.uuid4()), frozenset(str(v) for v in venues))


async def accepted(
    kit: Kit, guests: int = 1, **overrides: Any
) -> tuple[uuid.UUID, dict[str, Any], dict[str, Any]]:
    """A member who accepted with ``guests``: the member, the experience and their invitation."""
    member = await kit.member()
    made, invited = await kit.invited(member, guest_allowance=max(guests, 1), **overrides)
    response = await kit.respond(
        member, invited[member], "accept", [{"name": f"Guest {n}"} for n in range(guests)]
    )
    assert response.status_code == 200, response.text
    return member, made, response.json()


async def test_a_member_is_checked_in_once_with_their_guests_and_earns_for_attending(
    kit: Kit,
) -> None:
    member, made, invitation = await accepted(kit, guests=1)
    code = invitation["door"]["code"]
    outcome = await kit.redeem({"code": code.lower().replace("-", " ")})
    assert outcome["kind"] == "checked_in", outcome
    assert outcome["message"] == "Welcome! Checked in, with 1 guest."
    assert outcome["member_id"] == str(member) and outcome["guests_expected"] == 1
    assert (outcome["tier"], outcome["tier_name"]) == (None, None)  # 30 points: no tier yet
    assert outcome["points"] == 125  # attendance 25, first visit 100
    entry = await kit.loyalty.scalar(
        "SELECT production_id FROM loyalty.journal_entries WHERE source = :s AND external_id = :x",
        s=f"venue:{kit.loyalty.VENUE}",
        x=f"experience-invitation:{invitation['id']}",
    )
    assert entry == made["production_id"]
    again = await kit.redeem({"code": code}, actor=staff(kit.loyalty.VENUE))
    assert again["kind"] == "already_checked_in"
    assert again["checked_in_by"] == kit.loyalty.STAFF.label()
    assert again["checked_in_at"] == outcome["checked_in_at"] and again["guests_expected"] == 1
    assert again["message"].startswith("Already checked in at ") and again["message"].endswith(
        ", with 1 guest."
    )
    (seen,) = await kit.invitations(member)
    assert (seen["state"], seen["guests_checked_in"], seen["door"]) == ("checked_in", 1, None)
    scans = await kit.loyalty.scalar(
        "SELECT string_agg(outcome, ',' ORDER BY id) FROM loyalty.door_scans WHERE invitation_id = :i",
        i=invitation["id"],
    )
    assert scans == "checked_in,already_checked_in"
    assert (await kit.loyalty.account(member))["balance"] == 30 + 125


async def test_a_signed_pass_checks_in_and_a_forged_one_is_unreadable(kit: Kit) -> None:
    _, _, invitation = await accepted(kit, guests=0)
    token = invitation["door"]["token"]
    assert (await kit.redeem({"token": token}))["kind"] == "checked_in"
    head, claims, signature = token.split(".")
    forged = f"{head}.{claims}.{signature[:-4]}AAAA"
    outcome = await kit.redeem({"token": forged})
    assert outcome == {
        "kind": "unreadable",
        "problem": "TOKEN_INVALID",
        "message": "This QR code is not a pass of the programme.",
    }


async def test_staff_of_another_venue_learn_only_that_it_is_another_venue(kit: Kit) -> None:
    _, _, invitation = await accepted(kit)
    elsewhere = staff(kit.loyalty.OTHER_VENUE)
    outcome = await kit.redeem({"code": invitation["door"]["code"]}, actor=elsewhere)
    assert outcome == {"kind": "wrong_venue", "message": "This invitation is for another venue."}
    fr = await kit.loyalty.call(
        "POST",
        "/internal/door/redeem",
        actor=elsewhere,
        params={"locale": "fr"},
        json={"code": invitation["door"]["code"]},
    )
    assert fr.json()["outcome"]["message"] == "Cette invitation est pour un autre lieu."


async def test_outside_the_door_window_the_member_is_not_checked_in(kit: Kit) -> None:
    _, made, invitation = await accepted(kit, starts_at=now() + timedelta(hours=5))
    outcome = await kit.redeem({"code": invitation["door"]["code"]})
    assert outcome["kind"] == "outside_window"
    assert (outcome["door_opens_at"], outcome["door_closes_at"]) == (
        made["door_opens_at"],
        made["door_closes_at"],
    )
    assert outcome["message"].startswith("The door is open for this experience from ")
    assert (
        await kit.loyalty.scalar(
            "SELECT state FROM loyalty.invitations WHERE id = :i", i=invitation["id"]
        )
        == "accepted"
    )


async def test_a_cancelled_or_unanswered_invitation_does_not_open_the_door(kit: Kit) -> None:
    member, _, invitation = await accepted(kit)
    await kit.respond(member, invitation["id"], "cancel")
    code = invitation["door"]["code"]
    cancelled = await kit.redeem({"code": code})
    assert cancelled == {
        "kind": "cancelled",
        "invitation_id": invitation["id"],
        "message": "This invitation was cancelled.",
    }
    other = await kit.member()
    _, invited = await kit.invited(other)
    raw = await kit.loyalty.scalar(
        "SELECT code FROM loyalty.invitations WHERE id = :i", i=invited[other]
    )
    offered = await kit.redeem({"code": raw})
    assert offered == {
        "kind": "not_accepted",
        "invitation_id": invited[other],
        "state": "offered",
        "message": "This invitation holds no seat: it is not answered yet.",
    }


async def test_codes_that_are_not_found_or_mistyped_say_so(kit: Kit) -> None:
    unknown = door_codes.new_code().display()
    assert await kit.redeem({"code": unknown}, actor=staff(kit.loyalty.VENUE)) == {
        "kind": "not_found",
        "message": "No invitation has this code.",
    }
    valid = door_codes.new_code().value
    swapped = valid[1] + valid[0] + valid[2:] if valid[0] != valid[1] else valid[:7] + "2"
    mistyped = await kit.redeem({"code": swapped}, actor=staff(kit.loyalty.VENUE))
    assert mistyped["kind"] == "unreadable" and mistyped["problem"] == "CODE_CHECK_FAILED"
    ambiguous = await kit.redeem({"code": "O0O0-1111"}, actor=staff(kit.loyalty.VENUE))
    assert ambiguous == {
        "kind": "unreadable",
        "problem": "CODE_AMBIGUOUS_CHARACTER",
        "message": "Codes never contain 0, O, 1, I or L: check the code.",
    }


async def test_failed_guesses_are_throttled_per_staff_account_counting_every_attempt(
    kit: Kit, replicas: list[Any]
) -> None:
    _, _, invitation = await accepted(kit)
    guesser = staff(kit.loyalty.VENUE)
    outcomes = await asyncio.gather(
        *(
            kit.redeem({"code": door_codes.new_code().value}, actor=guesser, client=replicas[n % 4])
            for n in range(50)
        )
    )
    assert Counter(o["kind"] for o in outcomes) == {"not_found": 10, "throttled": 40}
    blocked = await kit.redeem({"code": invitation["door"]["code"]}, actor=guesser)
    assert blocked["kind"] == "throttled" and 0 < blocked["retry_after_seconds"] <= 600
    assert blocked["message"].startswith("Too many codes not found: try again in ")
    colleague = await kit.redeem(
        {"code": invitation["door"]["code"]}, actor=staff(kit.loyalty.VENUE)
    )
    assert colleague["kind"] == "checked_in"
    by_token = await kit.redeem({"token": invitation["door"]["token"]}, actor=guesser)
    assert by_token["kind"] == "already_checked_in"  # a signed pass is no guess


async def test_a_code_that_finds_an_invitation_is_not_counted_as_a_guess(kit: Kit) -> None:
    _, _, invitation = await accepted(kit)
    scanner = staff(kit.loyalty.VENUE)
    for _ in range(9):
        assert (await kit.redeem({"code": door_codes.new_code().value}, actor=scanner))[
            "kind"
        ] == "not_found"
    assert (await kit.redeem({"code": invitation["door"]["code"]}, actor=scanner))[
        "kind"
    ] == "checked_in"
    assert (await kit.redeem({"code": door_codes.new_code().value}, actor=scanner))[
        "kind"
    ] == "not_found"
    assert (await kit.redeem({"code": door_codes.new_code().value}, actor=scanner))[
        "kind"
    ] == "throttled"


async def test_the_venue_is_inferred_only_for_staff_of_one_venue(kit: Kit) -> None:
    _, _, invitation = await accepted(kit)
    both = staff(kit.loyalty.VENUE, kit.loyalty.OTHER_VENUE)
    body = {"code": invitation["door"]["code"]}
    response = await kit.loyalty.call("POST", "/internal/door/redeem", actor=both, json=body)
    assert (response.status_code, response.json()["code"]) == (422, "VENUE_REQUIRED")
    named = {**body, "venue_id": str(kit.loyalty.VENUE)}
    assert (await kit.redeem(named, actor=both))["kind"] == "checked_in"
    admin = await kit.loyalty.call(
        "POST", "/internal/door/redeem", actor=kit.loyalty.ADMIN, json=body
    )
    assert admin.status_code == 403
    two = await kit.loyalty.call(
        "POST", "/internal/door/redeem", json={**body, "token": invitation["door"]["token"]}
    )
    assert two.status_code == 422


def _batch(device: str, scans: list[tuple[str, str, datetime]]) -> dict[str, Any]:
    return {
        "device_id": device,
        "scans": [
            {"scan_id": scan_id, kind: value, "scanned_at": at.isoformat()}
            for scan_id, (kind, value), at in ((s[0], s[1].split("=", 1), s[2]) for s in scans)
        ],
    }


async def test_an_offline_batch_settles_each_scan_once_and_sent_again_changes_nothing(
    kit: Kit,
) -> None:
    (m1, _, first), (m2, _, second) = await accepted(kit), await accepted(kit, guests=0)
    at = now() - timedelta(minutes=2)
    body = _batch(
        "door-phone-1",
        [
            ("s1", f"token={first['door']['token']}", at),
            ("s2", f"code={second['door']['code']}", at + timedelta(seconds=5)),
            ("s3", f"code={first['door']['code']}", at + timedelta(seconds=9)),
            ("s4", f"code={door_codes.new_code().value}", at + timedelta(seconds=12)),
        ],
    )
    response = await kit.call("POST", "/internal/door/redeem-batch", json=body)
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [(r["scan_id"], r["outcome"]["kind"], r["replayed"]) for r in results] == [
        ("s1", "checked_in", False),
        ("s2", "checked_in", False),
        ("s3", "already_checked_in", False),
        ("s4", "not_found", False),
    ]
    assert results[0]["outcome"]["checked_in_at"] == at.isoformat().replace("+00:00", "Z")
    before = await kit.loyalty.scalar(
        "SELECT count(*) FROM loyalty.door_scans WHERE device_id = 'door-phone-1'"
    )
    again = (await kit.call("POST", "/internal/door/redeem-batch", json=body)).json()["results"]
    assert [r["replayed"] for r in again] == [True] * 4
    assert [r["outcome"] for r in again] == [r["outcome"] for r in results]
    assert [r["outcome"]["points"] for r in again[:2]] == [125, 125]  # attendance, first visit
    after = await kit.loyalty.scalar(
        "SELECT count(*) FROM loyalty.door_scans WHERE device_id = 'door-phone-1'"
    )
    assert before == after == 4
    for member in (m1, m2):
        earns = await kit.loyalty.scalar(
            "SELECT count(*) FROM loyalty.journal_entries WHERE member_id = :m "
            "AND external_id LIKE 'experience-invitation:%'",
            m=member,
        )
        assert earns == 1


async def test_members_who_came_rate_the_evening_once_and_the_figures_show_it_all(kit: Kit) -> None:
    came, _, invitation = await accepted(kit, guests=1, seats=5)
    experience_id = invitation["experience"]["id"]
    absent = await kit.member()
    await kit.book(
        absent,
        (await kit.call("GET", f"/internal/experiences/{experience_id}")).json()["production_id"],
    )
    report = await kit.issued(experience_id)
    assert report["issued"] == 1
    not_yet = await kit.loyalty.call(
        "POST",
        f"/internal/invitations/{invitation['id']}/rating",
        actor=member_actor(came),
        json={"member_id": str(came), "score": 9},
    )
    assert (not_yet.status_code, not_yet.json()["code"]) == (409, "NOT_ATTENDED")
    assert (await kit.redeem({"code": invitation["door"]["code"]}))["kind"] == "checked_in"
    rated = await kit.loyalty.call(
        "POST",
        f"/internal/invitations/{invitation['id']}/rating",
        actor=member_actor(came),
        json={"member_id": str(came), "score": 9, "comment": "Unforgettable."},
    )
    assert rated.status_code == 201 and rated.json()["score"] == 9
    twice = await kit.loyalty.call(
        "POST",
        f"/internal/invitations/{invitation['id']}/rating",
        actor=member_actor(came),
        json={"member_id": str(came), "score": 3},
    )
    assert (twice.status_code, twice.json()["code"]) == (409, "ALREADY_RATED")
    (absent_invitation,) = await kit.invitations(absent)
    await kit.respond(absent, absent_invitation["id"], "decline")
    figures = (await kit.call("GET", "/internal/experience-figures")).json()
    (row,) = [e for e in figures["experiences"] if e["experience_id"] == experience_id]
    assert row["figures"] == {
        "invited": 2,
        "accepted": 1,
        "declined": 1,
        "expired": 0,
        "cancelled": 0,
        "waitlisted": 0,
        "checked_in": 1,
        "no_shows": 0,
        "guests": 1,
        "guests_checked_in": 1,
        "suppressions": {
            "NO_CONSENT": 0,
            "ALREADY_INVITED": 1,
            "DECLINED_BEFORE": 0,
            "CANCELLED_BEFORE": 0,
            "ALREADY_ATTENDED": 0,
            "ALREADY_BOOKED": 0,
            "NO_INTEREST_MATCH": 0,
            "CAP_REACHED": 0,
        },
        "ratings": 1,
        "promoters": 1,
        "passives": 0,
        "detractors": 0,
        "score": "100.0",
    }
    venues = {v["venue_id"] for v in figures["venues"]}
    assert venues == {str(kit.loyalty.VENUE)}
    elsewhere = await kit.loyalty.call(
        "GET", "/internal/experience-figures", actor=staff(kit.loyalty.OTHER_VENUE)
    )
    assert all(e["experience_id"] != experience_id for e in elsewhere.json()["experiences"])
