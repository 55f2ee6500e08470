"""Issuing invitations within the guardrails, against PostgreSQL: who is invited, who is spared
and why, in which order, once per key, each invitation announced in the outbox; and the contact
preferences that identity's events bring."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from services.common.actor import SYSTEM
from services.common.problems import Problem
from services.loyalty import contract as loyalty_contract
from services.loyalty.experiences import contract, issue, manage, selection
from services.loyalty.journal.entries import request_hash
from services.loyalty.rulebook.book import RuleBook
from services.loyalty.rules.model import Locale
from tests.integration.loyalty.experiences_support import Kit, now

ZERO = {
    "NO_CONSENT": 0,
    "ALREADY_INVITED": 0,
    "DECLINED_BEFORE": 0,
    "CANCELLED_BEFORE": 0,
    "ALREADY_ATTENDED": 0,
    "ALREADY_BOOKED": 0,
    "NO_INTEREST_MATCH": 0,
    "CAP_REACHED": 0,
}


@pytest.fixture
def kit(loyalty: Any) -> Kit:
    return Kit(loyalty)


def production() -> str:
    return f"production-{uuid.uuid4().hex[:12]}"


async def _contact(kit: Kit, member_id: uuid.UUID) -> Any:
    async with kit.loyalty.engine.connect() as conn:
        return (
            await conn.execute(
                text("SELECT * FROM loyalty.member_contacts WHERE member_id = :m"), {"m": member_id}
            )
        ).first()


async def test_preferences_follow_identity_events_in_order_and_an_erasure_is_final(
    kit: Kit,
) -> None:
    member = uuid.uuid4()
    at = now()
    registered = {
        "member_id": str(member),
        "locale": "fr",
        "preferences": {
            "consents": {"email": True, "sms": False, "fax": True},
            "invitation_cap_per_30_days": 2,
            "quiet_hours": {"start": "22:00:00", "end": "08:00:00", "timezone": "Europe/Paris"},
            "interests": ["Opera"],
        },
    }
    await kit.event("member.registered", registered, at=at)
    later = {
        "member_id": str(member),
        "preferences": {**registered["preferences"], "consents": {"push": True}},
    }
    await kit.event("preferences.updated", later, at=at + timedelta(seconds=2))
    older = {
        "member_id": str(member),
        "preferences": {**registered["preferences"], "consents": {"sms": True}},
    }
    await kit.event("preferences.updated", older, at=at + timedelta(seconds=1))
    row = await _contact(kit, member)
    assert list(row.consents) == ["push"] and row.invitation_cap == 2
    assert (row.quiet_start, row.quiet_end, row.quiet_timezone) == (
        time(22),
        time(8),
        "Europe/Paris",
    )
    assert list(row.interests) == ["Opera"] and row.locale == "fr" and not row.erased
    await kit.event("member.erased", {"member_id": str(member)}, at=at + timedelta(seconds=3))
    await kit.event("preferences.updated", later, at=at + timedelta(seconds=4))
    row = await _contact(kit, member)
    assert row.erased and list(row.consents) == [] and row.quiet_start is None


async def test_an_issuance_invites_whom_it_may_and_reports_who_was_spared_and_why(
    kit: Kit,
) -> None:
    invited = await kit.member()
    silent = await kit.member(consents=())
    capped = await kit.member(cap=1)
    await kit.invited(capped)  # their one invitation of the month
    show = production()
    for member in (invited, silent, capped):
        await kit.book(member, show)
    made = await kit.create(
        production_id=show, eligibility={"conditions": [{"kind": "booked_production"}]}
    )
    response = await kit.issue(made["id"], key="first", seed="published-seed")
    assert response.status_code == 201, response.text
    report = response.json()
    assert (report["eligible"], report["issued"], report["held"]) == (3, 1, 0)
    assert (report["suppressed"], report["not_reached"]) == (2, 0)
    assert report["suppressed_by_reason"] == {**ZERO, "NO_CONSENT": 1, "CAP_REACHED": 1}
    assert report["suppressed_by_any_reason"] == {**ZERO, "NO_CONSENT": 1, "CAP_REACHED": 1}
    assert report["seed"] == "published-seed" and report["created"] is True
    assert report["order"] == selection.explain(Locale.EN)
    assert report["candidates"] >= 3 and report["issued_by"] == kit.loyalty.STAFF.label()
    (issued,) = report["invitations"]
    assert issued["member_id"] == str(invited) and issued["channel"] == "email"
    assert issued["deliver_after"] is None
    spared = {s["member_id"]: s["reasons"] for s in report["spared"]}
    assert spared == {str(silent): ["NO_CONSENT"], str(capped): ["CAP_REACHED"]}
    stored = await kit.call("GET", f"/internal/issuances/{report['id']}", params={"locale": "fr"})
    assert stored.status_code == 200
    assert stored.json() == {
        **report,
        "created": False,
        "order": selection.explain(Locale.FR),
    }
    listed = await kit.call("GET", f"/internal/experiences/{made['id']}/issuances")
    assert [r["id"] for r in listed.json()] == [report["id"]]
    outbox = await kit.loyalty.scalar(
        "SELECT count(*) FROM loyalty.outbox WHERE type = 'invitation.issued' "
        "AND payload ->> 'experience_id' = :e AND payload ->> 'member_id' = :m",
        e=made["id"],
        m=str(invited),
    )
    assert outbox == 1


async def test_the_same_key_answers_the_same_report_and_another_request_under_it_is_refused(
    kit: Kit,
) -> None:
    member = await kit.member()
    made, _ = await kit.invited(member)
    first = await kit.call("GET", f"/internal/experiences/{made['id']}/issuances")
    (report,) = first.json()
    again = await kit.issue(made["id"], key=report["key"], count=1)
    assert again.status_code == 200 and again.json()["id"] == report["id"]
    assert again.json()["created"] is False
    other = await kit.issue(made["id"], key=report["key"], count=2)
    assert (other.status_code, other.json()["code"]) == (409, "ISSUANCE_KEY_REUSED")
    invitations = await kit.loyalty.scalar(
        "SELECT count(*) FROM loyalty.invitations WHERE experience_id = :e", e=made["id"]
    )
    assert invitations == 1


async def test_nobody_is_invited_twice_and_a_decline_is_remembered(kit: Kit) -> None:
    first, second = await kit.member(), await kit.member()
    made, invited = await kit.invited(first, second)
    declined = await kit.respond(second, invited[second], "decline")
    assert declined.status_code == 200 and declined.json()["state"] == "declined"
    report = await kit.issued(made["id"])
    assert report["issued"] == 0
    assert report["suppressed_by_reason"] == {**ZERO, "ALREADY_INVITED": 1, "DECLINED_BEFORE": 1}


async def test_a_discovery_never_promotes_a_production_to_those_who_booked_or_attended_it(
    kit: Kit,
) -> None:
    regulars, show = production(), production()
    booked, attended, new = await kit.member(), await kit.member(), await kit.member()
    for member in (booked, attended, new):
        await kit.attend(member, regulars)
    await kit.book(booked, show)
    await kit.attend(attended, show)
    made = await kit.create(
        production_id=show,
        purpose="discovery",
        eligibility={"conditions": [{"kind": "attended_production", "production_id": regulars}]},
    )
    report = await kit.issued(made["id"])
    assert [i["member_id"] for i in report["invitations"]] == [str(new)]
    assert report["suppressed_by_reason"] == {**ZERO, "ALREADY_BOOKED": 1, "ALREADY_ATTENDED": 1}


async def test_an_experience_naming_interests_invites_only_members_sharing_one(kit: Kit) -> None:
    fan = await kit.member(interests=("baroque  OPERA",))
    other = await kit.member(interests=("jazz",))
    made, _ = await kit.invited(fan, interests=["Baroque opera"])
    reports = (await kit.call("GET", f"/internal/experiences/{made['id']}/issuances")).json()
    assert reports[0]["issued"] == 1
    show = made["production_id"]
    await kit.book(other, show)
    report = await kit.issued(made["id"])
    assert report["suppressed_by_reason"] == {**ZERO, "ALREADY_INVITED": 1, "NO_INTEREST_MATCH": 1}


async def test_members_are_placed_in_the_fair_order_and_those_past_the_count_are_not_reached(
    kit: Kit,
) -> None:
    show = production()
    busy, gold, silver = await kit.member(), await kit.member(), await kit.member()
    await kit.invited(busy)  # one exclusive invitation this year: placed last
    for member, amount in ((busy, "400"), (gold, "350"), (silver, "150")):
        response = await kit.loyalty.earn(
            member, {**kit.loyalty.ticket(amount), "production_id": show}
        )
        assert response.status_code == 201
    made = await kit.create(
        production_id=show, eligibility={"conditions": [{"kind": "booked_production"}]}
    )
    report = await kit.issued(made["id"], count=2)
    assert [(i["member_id"], i["position"]) for i in report["invitations"]] == [
        (str(gold), 1),
        (str(silver), 2),
    ]
    assert (report["issued"], report["not_reached"], report["suppressed"]) == (2, 1, 0)


async def test_a_tier_condition_invites_from_the_tier_and_says_why_in_both_languages(
    kit: Kit,
) -> None:
    show = production()
    gold, below = await kit.member(), await kit.member()
    for member, amount in ((gold, "320"), (below, "40")):
        response = await kit.loyalty.earn(
            member, {**kit.loyalty.ticket(amount), "production_id": show}
        )
        assert response.status_code == 201
    made = await kit.create(
        production_id=show,
        production_title="Tosca",
        eligibility={
            "conditions": [
                {"kind": "tier_at_least", "tier": "silver"},
                {"kind": "booked_production"},
            ]
        },
    )
    report = await kit.issued(made["id"])
    assert (report["eligible"], report["issued"]) == (1, 1)
    (invitation,) = await kit.invitations(gold)
    assert invitation["why_chosen_en"] == (
        "This invitation is offered to you because you are a member of the Gold tier "
        "(Silver and above) and you booked this production."
    )
    assert invitation["why_chosen_fr"] == (
        "Cette invitation vous est proposée parce que vous êtes membre du niveau Or "
        "(Argent et au-delà) et que vous avez réservé ce spectacle."
    )
    assert await kit.invitations(below) == []


async def test_at_night_an_invitation_is_held_until_the_programme_s_quiet_hours_end(
    kit: Kit, loyalty: Any
) -> None:
    paris = ZoneInfo("Europe/Paris")
    tomorrow = (datetime.now(paris) + timedelta(days=1)).date()
    night = datetime.combine(tomorrow, time(23, 30), tzinfo=paris).astimezone(UTC)
    member = await kit.member(quiet={})  # no hours of their own: the programme's apply
    own = await kit.member(
        quiet={"start": "23:00:00", "end": "06:30:00", "timezone": "Europe/Paris"}
    )
    show = production()
    await kit.book(member, show)
    await kit.book(own, show)
    book = RuleBook()
    body = contract.CreateExperience.model_validate(
        kit.experience_body(
            starts_at=night + timedelta(days=2),
            invitations_open_at=night.isoformat(),
            invitations_close_at=(night + timedelta(days=1)).isoformat(),
            production_id=show,
            eligibility={"conditions": [{"kind": "booked_production"}]},
        )
    )
    made, _ = await manage.create_experience(loyalty.engine, book, SYSTEM, body, now=night)
    report = await issue.issue_invitations(
        loyalty.engine, book, SYSTEM, made.id, contract.IssueInvitations(key="night"), now=night
    )
    assert (report.issued, report.held) == (2, 2)
    held = {i.member_id: i.deliver_after for i in report.invitations}
    morning = datetime.combine(tomorrow + timedelta(days=1), time(9), tzinfo=paris)
    early = datetime.combine(tomorrow + timedelta(days=1), time(6, 30), tzinfo=paris)
    assert held == {member: morning, own: early}
    outbox = await loyalty.scalar(
        "SELECT min(deliver_after) FROM loyalty.outbox WHERE payload ->> 'member_id' = :m",
        m=str(own),
    )
    assert outbox == early


async def test_invitations_are_issued_only_within_their_window_and_by_staff_of_the_venue(
    kit: Kit, loyalty: Any
) -> None:
    start = now() + timedelta(days=3)
    later = await kit.create(
        starts_at=start,
        invitations_open_at=(now() + timedelta(days=1)).isoformat(),
        invitations_close_at=(now() + timedelta(days=2)).isoformat(),
    )
    early = await kit.issue(later["id"])
    assert (early.status_code, early.json()["code"]) == (409, "INVITATIONS_NOT_OPEN")
    book = RuleBook()
    with pytest.raises(Problem) as closed:
        await issue.issue_invitations(
            loyalty.engine,
            book,
            SYSTEM,
            uuid.UUID(later["id"]),
            contract.IssueInvitations(key="late"),
            now=now() + timedelta(days=2),
        )
    assert closed.value.code == "INVITATIONS_CLOSED"
    theirs = await kit.create(actor=kit.loyalty.ADMIN, venue_id=str(kit.loyalty.OTHER_VENUE))
    refused = await kit.issue(theirs["id"])
    assert (refused.status_code, refused.json()["code"]) == (403, "WRONG_VENUE")


async def test_an_earn_names_its_production_and_keeps_its_fingerprint_when_it_names_none(
    kit: Kit,
) -> None:
    member = uuid.uuid4()
    event = {**kit.loyalty.ticket("12"), "production_id": "carmen-2026"}
    first = await kit.loyalty.earn(member, event, external_id=f"order-{member}")
    assert first.status_code == 201, first.text
    stored = await kit.loyalty.scalar(
        "SELECT production_id FROM loyalty.journal_entries WHERE id = :i",
        i=first.json()["entry"]["id"],
    )
    assert stored == "carmen-2026"
    other = {**event, "production_id": "tosca-2026"}
    refused = await kit.loyalty.earn(member, other, external_id=f"order-{member}")
    assert (refused.status_code, refused.json()["code"]) == (409, "IDEMPOTENCY_KEY_REUSED")
    plain = kit.loyalty.ticket("5")
    response = await kit.loyalty.earn(member, plain, external_id=f"plain-{member}")
    shape = loyalty_contract.RecordEarn.model_validate(
        {"member_id": str(member), "external_id": f"plain-{member}", "event": plain}
    ).model_dump(mode="json")
    del shape["event"]["production_id"]  # as earns were fingerprinted before they named one
    as_before = request_hash(shape)
    fingerprint = await kit.loyalty.scalar(
        "SELECT request_hash FROM loyalty.journal_entries WHERE id = :i",
        i=response.json()["entry"]["id"],
    )
    assert fingerprint == as_before
