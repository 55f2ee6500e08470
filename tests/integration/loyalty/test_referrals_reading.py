"""Reading referrals against PostgreSQL: a partner's own with its figures and pages, a member's
people brought in (how far each got, never who) and the ambassadors' board by quality."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from services.common.actor import Actor, ActorKind
from services.loyalty.referrals import contract as rc
from services.loyalty.referrals.use_cases import register_referral
from services.loyalty.rulebook.book import RuleBook
from tests.integration.loyalty.referrals_support import (
    ADMIN,
    REFERRAL_POINTS,
    Person,
    Programme,
    consent,
    partner,
    referrals,
    referrals_database_url,
)

__all__ = ["referrals", "referrals_database_url"]


async def _member(referrals: Programme) -> tuple[Person, str]:
    person = Person.new()
    await referrals.joins(person)
    return person, await referrals.code(person.id)


async def _refer(referrals: Programme, actor: Actor, code: str, friend: Person, **kw: Any) -> str:
    response = await referrals.register(actor, code, friend.referee(), **kw)
    assert response.status_code == 201, response.text
    return str(response.json()["referral"]["id"])


async def test_a_member_reads_how_far_each_person_they_brought_got_and_what_it_gave(
    referrals: Programme,
) -> None:
    referrer, code = await _member(referrals)
    by = partner()
    lapsed = Person.new()
    assert by.id is not None
    lapsed_decision = await register_referral(
        referrals.engine,
        RuleBook(),
        by,
        rc.RegisterReferral(
            code=code,
            reference="long-ago",
            referee=rc.RefereeIdentity(email_hash=lapsed.email),
            consent=rc.Consent.model_validate(consent(datetime.now(UTC) - timedelta(days=40))),
        ),
        now=datetime.now(UTC) - timedelta(days=31),
    )
    assert lapsed_decision.accepted, lapsed_decision
    waiting, joined, converted, voided = (Person.new() for _ in range(4))
    for friend in (waiting, joined, converted, voided):
        await _refer(referrals, by, code, friend)
    for friend in (joined, converted, voided):
        await referrals.joins(friend)
    for friend in (converted, voided):
        await referrals.earn(friend.id)
    await referrals.merges(referrer.id, voided.id)
    mine = await referrals.ok(
        "GET",
        f"/internal/members/{referrer.id}/referrals",
        actor=Actor(ActorKind.MEMBER, str(referrer.id)),
        params={"locale": "fr"},
    )
    assert [(r["channel"], r["status"], r["status_text"], r["points"]) for r in mine] == [
        ("partner", "voided", "Annulé : la personne parrainée s'est révélée être vous-même.", 0),
        (
            "partner",
            "converted",
            "A adhéré et participé : vous avez été récompensé.",
            REFERRAL_POINTS,
        ),
        ("partner", "joined", "A adhéré ; en attente de sa première activité qualifiante.", 0),
        ("partner", "pending", "En attente de son adhésion.", 0),
        ("partner", "expired", "Expiré : pas d'adhésion dans les 30 jours.", 0),
    ]
    assert all(set(r) == set(rc.MemberReferral.model_fields) for r in mine)
    other = Actor(ActorKind.MEMBER, str(waiting.id))
    refused = await referrals.call("GET", f"/internal/members/{referrer.id}/referrals", actor=other)
    assert (refused.status_code, refused.json()["code"]) == (403, "FORBIDDEN")


async def test_a_partner_pages_through_its_own_referrals_with_its_figures(
    referrals: Programme,
) -> None:
    by, stranger = partner(), partner()
    friends = [Person.new() for _ in range(5)]
    ids = [
        await _refer(referrals, by, (await _member(referrals))[1], f, reference=f"p-{n}")
        for n, f in enumerate(friends)
    ]
    await _refer(referrals, stranger, (await _member(referrals))[1], Person.new())
    await referrals.joins(friends[0])
    await referrals.earn(friends[0].id)
    await referrals.joins(friends[1])
    seen: list[str] = []
    after = None
    while True:
        params = {"first": 2, **({"after": after} if after else {})}
        page = await referrals.ok("GET", "/internal/partner/referrals", actor=by, params=params)
        seen += [r["id"] for r in page["referrals"]]
        assert page["figures"] == {
            "registered": 5,
            "pending": 3,
            "joined": 1,
            "converted": 1,
            "voided": 0,
            "expired": 0,
            "conversion_percent": 20,
        }
        if not page["has_next_page"]:
            break
        after = page["end_cursor"]
    assert seen == list(reversed(ids))
    bad = await referrals.call(
        "GET", "/internal/partner/referrals", actor=by, params={"after": "not-a-cursor"}
    )
    assert (bad.status_code, bad.json()["code"]) == (422, "INVALID_INPUT")


async def test_the_ambassadors_board_ranks_by_who_stayed_attended_and_came_back(
    referrals: Programme,
) -> None:
    by = partner()
    (keen, keen_code), (fair, fair_code), (gone, gone_code) = [
        await _member(referrals) for _ in range(3)
    ]
    regular, once, buyer, erased = (Person.new() for _ in range(4))
    for code, friend in (
        (keen_code, regular),
        (keen_code, buyer),
        (fair_code, once),
        (gone_code, erased),
    ):
        await _refer(referrals, by, code, friend)
        await referrals.joins(friend)
    await referrals.earn(regular.id, trigger="attendance")
    await referrals.earn(regular.id, trigger="attendance", at=datetime.now(UTC) - timedelta(days=2))
    await referrals.earn(buyer.id)
    await referrals.earn(once.id, trigger="attendance")
    await referrals.earn(erased.id, trigger="attendance")
    await referrals.event(
        "member.erased", {"member_id": str(erased.id), "erased_at": datetime.now(UTC).isoformat()}
    )
    itself = await referrals.register(by, keen_code, keen.referee(keen.id))
    assert itself.json()["rejection"] == "NOT_ELIGIBLE"  # a self-referral, said so to admins
    board = await referrals.ok("GET", "/internal/ambassadors", actor=ADMIN, params={"first": 10})
    lines = [
        a
        for a in board["ambassadors"]
        if a["member_id"] in {str(keen.id), str(fair.id), str(gone.id)}
    ]
    assert [
        (
            a["member_id"],
            a["score"],
            a["referees"],
            a["stayed"],
            a["attended"],
            a["returned"],
            a["quality_percent"],
            a["summary"],
        )
        for a in lines
    ] == [
        (
            str(keen.id),
            12,
            2,
            2,
            1,
            1,
            60,
            "12 points from 2 people brought in: 2 still members, 1 attended, 1 came back (quality 60%).",
        ),
        (
            str(fair.id),
            5,
            1,
            1,
            1,
            0,
            50,
            "5 points from 1 person brought in: 1 still a member, 1 attended, 0 came back (quality 50%).",
        ),
        (
            str(gone.id),
            3,
            1,
            0,
            1,
            0,
            30,
            "3 points from 1 person brought in: 0 still members, 1 attended, 0 came back (quality 30%).",
        ),
    ]
    assert {"reason": "SELF_REFERRAL", "count": 1} in board["rejections"]
    refused = await referrals.call("GET", "/internal/ambassadors", actor=by)
    assert (refused.status_code, refused.json()["code"]) == (403, "FORBIDDEN")


async def test_the_public_rulebook_states_the_referral_terms_in_both_languages(
    referrals: Programme,
) -> None:
    english = await referrals.ok("GET", "/internal/rulebook", params={"locale": "en"})
    french = await referrals.ok("GET", "/internal/rulebook", params={"locale": "fr"})
    assert english["policies"][-5:] == [
        "A referral counts when the person you brought joins within 30 days and then makes a "
        "purchase or attends a performance or event.",
        "The first referral of a person within 30 days is the one that counts.",
        "At most 4 referrals per member in 30 days.",
        "The person referred must have agreed to be contacted, at most 365 days before.",
        "A referral of yourself, even found out later, is cancelled and its reward taken back.",
    ]
    assert french["policies"][-3] == "Au plus 4 parrainages par membre en 30 jours."
