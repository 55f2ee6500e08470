"""The experiences' job over an evening, in a database of its own so that its counts are exact:
offers expire when the window closes, the waitlist at the start, reservations not checked in
become no-shows when the door closes, and an attendance earn that could not be recorded at the
door is recorded once the rules allow it."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from services.common.actor import Actor, ActorKind
from services.common.db import create_engine
from services.loyalty import contract as loyalty
from services.loyalty.contract import Locale
from services.loyalty.experiences import contract, door, issue, manage, respond, signing, stats
from services.loyalty.experiences.contract import ResponseAction
from services.loyalty.experiences.jobs import run_experience_jobs
from services.loyalty.identity_events.use_cases import receive_identity_events
from services.loyalty.rulebook.book import RuleBook
from tests.conftest import KEY_ENCRYPTION_SECRET
from tests.integration.loyalty.conftest import VENUE, ensure_programme
from tests.integration.loyalty.experiences_support import preferences

STAFF = Actor(ActorKind.STAFF, "jobs-door", frozenset({str(VENUE)}))


def test_the_job_settles_an_evening_once_and_records_a_missing_attendance_earn(
    make_database: Any,
) -> None:
    asyncio.run(_evening(make_database()))


async def _evening(url: str) -> None:
    engine = create_engine(url, pool_size=4, application_name="jobs")
    await signing.open_door_key(engine, signing.derive_kek(KEY_ENCRYPTION_SECRET))
    book = RuleBook()
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=5)
    starts = base + timedelta(hours=3)
    try:
        members = [uuid.uuid4() for _ in range(4)]
        events = [
            loyalty.IdentityEvent(
                event_id=uuid.uuid4(),
                type="member.registered",
                occurred_at=base,
                payload={"member_id": str(m), "preferences": preferences()},
            )
            for m in members
        ]
        await receive_identity_events(engine, loyalty.EventBatch(events=events))
        body = contract.CreateExperience(
            key="evening",
            venue_id=VENUE,
            texts=contract.ExperienceTexts(
                title_en="Backstage", title_fr="Coulisses", description_en="A.", description_fr="B."
            ),
            starts_at=starts,
            ends_at=starts + timedelta(hours=2),
            seats=2,
            invitations_open_at=base,
            invitations_close_at=starts - timedelta(hours=1),
        )
        made, _ = await manage.create_experience(engine, book, STAFF, body, now=base)
        report = await issue.issue_invitations(
            engine, book, STAFF, made.id, contract.IssueInvitations(key="all"), now=base
        )
        invited = {i.member_id: i.invitation_id for i in report.invitations}
        assert (report.issued, report.not_reached) == (2, 2)  # as many as seats
        more = await issue.issue_invitations(
            engine, book, STAFF, made.id, contract.IssueInvitations(key="more"), now=base
        )
        invited |= {i.member_id: i.invitation_id for i in more.invitations}
        assert set(invited) == set(members)
        a, b, c, d = sorted(members, key=lambda m: str(invited[m]))
        for n, member in enumerate((a, b, c)):
            answer = contract.RespondToInvitation(member_id=member, action=ResponseAction.ACCEPT)
            await respond.respond_to_invitation(
                engine,
                Actor(ActorKind.MEMBER, str(member)),
                invited[member],
                answer,
                now=base + timedelta(minutes=n),
            )

        closed = await run_experience_jobs(engine, book, now=starts - timedelta(hours=1))
        assert closed.model_dump() == {"expired": 1, "no_shows": 0, "attendance_earns": 0}

        code = await _scalar(
            engine, "SELECT code FROM loyalty.invitations WHERE id = :i", i=invited[a]
        )
        gate = door.door_of(engine, book, STAFF, None, Locale.EN)
        entered = await door.redeem_invitation(
            gate, contract.RedeemInvitation(code=code), now=starts
        )
        assert entered.outcome.kind == "checked_in"
        assert entered.outcome.points is None  # no rules in force yet: the job records it

        started = await run_experience_jobs(engine, book, now=starts + timedelta(minutes=2))
        assert started.model_dump() == {"expired": 1, "no_shows": 0, "attendance_earns": 0}

        await ensure_programme(engine)
        after = await run_experience_jobs(engine, book, now=starts + timedelta(hours=1))
        assert after.model_dump() == {"expired": 0, "no_shows": 1, "attendance_earns": 1}
        again = await run_experience_jobs(engine, book, now=starts + timedelta(hours=2))
        assert again.model_dump() == {"expired": 0, "no_shows": 0, "attendance_earns": 0}

        states = {
            m: await _scalar(
                engine, "SELECT state FROM loyalty.invitations WHERE id = :i", i=invited[m]
            )
            for m in members
        }
        assert states == {a: "checked_in", b: "no_show", c: "expired", d: "expired"}
        points = await _scalar(
            engine,
            "SELECT earn_points FROM loyalty.invitations WHERE id = :i",
            i=invited[a],
        )
        assert points == 125
        told = await _scalar(
            engine, "SELECT count(*) FROM loyalty.outbox WHERE type = 'invitation.expired'"
        )
        assert told == 2
        figures = await stats.experience_figures(engine, STAFF, now=starts + timedelta(hours=2))
        (row,) = figures.experiences
        assert (row.figures.invited, row.figures.accepted, row.figures.expired) == (4, 2, 2)
        assert (row.figures.checked_in, row.figures.no_shows, row.figures.waitlisted) == (1, 1, 0)
        counters = await _scalar(
            engine,
            "SELECT seats_taken * 10 + waitlisted FROM loyalty.experiences WHERE id = :e",
            e=made.id,
        )
        assert counters == 20  # the no-show's seat stays counted; nobody waits
    finally:
        await engine.dispose()


async def _scalar(engine: Any, sql: str, **params: Any) -> Any:
    async with engine.connect() as conn:
        return await conn.scalar(sa.text(sql), params)
