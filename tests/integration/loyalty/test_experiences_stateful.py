"""A stateful property test of the invitation lifecycle against PostgreSQL.

Hypothesis drives acceptances (with guests), declines, cancellations, check-ins at the door,
ratings, the passing of time and the experiences' job over one experience whose members were
all invited, and after every step checks the database against a simple model: every
invitation in the state the model says; seats taken never above seats and equal to the parties
holding seats; the waitlist in the order members joined it, never overtaken; a check-in only
of an accepted invitation, at most once (one check-in scan, one attendance earn).
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from services.common.actor import Actor, ActorKind
from services.common.db import create_engine
from services.common.problems import Problem
from services.loyalty import contract as loyalty
from services.loyalty.contract import Locale
from services.loyalty.earning.earn import earn_points
from services.loyalty.experiences import contract, door, issue, manage, respond, signing
from services.loyalty.experiences.contract import ResponseAction
from services.loyalty.experiences.jobs import run_experience_jobs
from services.loyalty.identity_events.use_cases import receive_identity_events
from services.loyalty.rulebook.book import RuleBook
from tests.conftest import KEY_ENCRYPTION_SECRET
from tests.integration.loyalty.conftest import VENUE, ensure_programme
from tests.integration.loyalty.experiences_support import preferences

MEMBERS = 5
STAFF = Actor(ActorKind.STAFF, "stateful-door", frozenset({str(VENUE)}))
HOLDS = ("accepted", "checked_in", "no_show")


class InvitationMachine(RuleBasedStateMachine):
    database_url: str = ""

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.engine = create_engine(self.database_url, pool_size=2, application_name="stateful")
        self.run(signing.open_door_key(self.engine, signing.derive_kek(KEY_ENCRYPTION_SECRET)))
        self.book = RuleBook()
        # the evening lies in the past of the real clock, so attendance earns are accepted
        self.now = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=5)
        self.members = [uuid.uuid4() for _ in range(MEMBERS)]
        self.state: dict[uuid.UUID, str] = {}
        self.guests: dict[uuid.UUID, int] = {}
        self.queue: list[uuid.UUID] = []
        self.rated: set[uuid.UUID] = set()
        self.invitation: dict[uuid.UUID, uuid.UUID] = {}
        self.code: dict[uuid.UUID, str] = {}

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    def teardown(self) -> None:
        self.run(self.engine.dispose())
        self.loop.close()

    # ---- setting the evening up --------------------------------------------------------------

    @initialize(seats=st.integers(1, 4), allowance=st.integers(0, 2))
    def start(self, seats: int, allowance: int) -> None:
        self.seats, self.allowance = seats, allowance
        show = f"stateful-{uuid.uuid4().hex[:10]}"
        events = [
            loyalty.IdentityEvent(
                event_id=uuid.uuid4(),
                type="member.registered",
                occurred_at=self.now,
                payload={"member_id": str(m), "preferences": preferences()},
            )
            for m in self.members
        ]
        self.run(receive_identity_events(self.engine, loyalty.EventBatch(events=events)))
        for member in self.members:
            booking = loyalty.RecordEarn(
                member_id=member,
                external_id=uuid.uuid4().hex,
                event=loyalty.EarnEvent(
                    trigger=loyalty.Trigger.PURCHASE,
                    occurred_at=self.now - timedelta(minutes=1),
                    venue_id=VENUE,
                    production_id=show,
                ),
            )
            self.run(earn_points(self.engine, self.book, STAFF, booking))
        self.starts = self.now + timedelta(hours=3)
        body = contract.CreateExperience(
            key=uuid.uuid4().hex,
            venue_id=VENUE,
            texts=contract.ExperienceTexts(
                title_en="Backstage",
                title_fr="Coulisses",
                description_en="Visit.",
                description_fr="Visite.",
            ),
            starts_at=self.starts,
            ends_at=self.starts + timedelta(hours=1),
            seats=seats,
            guest_allowance=allowance,
            production_id=show,
            eligibility=contract.Eligibility(conditions=(contract.BookedProduction(),)),
            invitations_open_at=self.now,
            invitations_close_at=self.starts - timedelta(hours=1),
        )
        made, _ = self.run(
            manage.create_experience(self.engine, self.book, STAFF, body, now=self.now)
        )
        self.experience = made
        report = self.run(
            issue.issue_invitations(
                self.engine,
                self.book,
                STAFF,
                made.id,
                contract.IssueInvitations(key="all", count=MEMBERS),
                now=self.now,
            )
        )
        assert report.issued == MEMBERS
        for issued in report.invitations:
            self.invitation[issued.member_id] = issued.invitation_id
            self.state[issued.member_id] = "offered"
            self.guests[issued.member_id] = 0
        for member, invitation_id in self.invitation.items():
            self.code[member] = self.run(
                self._scalar("SELECT code FROM loyalty.invitations WHERE id = :i", i=invitation_id)
            )

    async def _scalar(self, sql: str, **params: Any) -> Any:
        async with self.engine.connect() as conn:
            return await conn.scalar(sa.text(sql), params)

    # ---- the model ---------------------------------------------------------------------------

    def taken(self) -> int:
        return sum(1 + self.guests[m] for m, s in self.state.items() if s in HOLDS)

    def promote(self) -> None:
        while self.queue and self.now < self.starts:
            head = self.queue[0]
            if 1 + self.guests[head] > self.seats - self.taken():
                break
            self.queue.pop(0)
            self.state[head] = "accepted"

    def _answer(self, member: uuid.UUID, action: ResponseAction, guests: int = 0) -> str | None:
        body = contract.RespondToInvitation(
            member_id=member,
            action=action,
            guests=[contract.GuestIn(name=f"G{n}") for n in range(guests)],
        )
        actor = Actor(ActorKind.MEMBER, str(member))
        try:
            self.run(
                respond.respond_to_invitation(
                    self.engine, actor, self.invitation[member], body, now=self.now
                )
            )
        except Problem as problem:
            return str(problem.code)
        return None

    # ---- rules -------------------------------------------------------------------------------

    @rule(n=st.integers(0, MEMBERS - 1), guests=st.integers(0, 3))
    def accept(self, n: int, guests: int) -> None:
        member = self.members[n]
        refused = self._answer(member, ResponseAction.ACCEPT, guests)
        if self.state[member] != "offered":
            expected: str | None = "WRONG_STATE"
        elif self.now >= self.starts - timedelta(hours=1):
            expected = "OFFER_CLOSED"
        elif guests > self.allowance:
            expected = "TOO_MANY_GUESTS"
        else:
            expected = None
            self.guests[member] = guests
            if not self.queue and 1 + guests <= self.seats - self.taken():
                self.state[member] = "accepted"
            else:
                self.state[member] = "waitlisted"
                self.queue.append(member)
        assert refused == expected

    @rule(n=st.integers(0, MEMBERS - 1))
    def decline(self, n: int) -> None:
        member = self.members[n]
        refused = self._answer(member, ResponseAction.DECLINE)
        if self.state[member] != "offered":
            assert refused == "WRONG_STATE"
        elif self.now >= self.starts - timedelta(hours=1):
            assert refused == "OFFER_CLOSED"
        else:
            assert refused is None
            self.state[member] = "declined"

    @rule(n=st.integers(0, MEMBERS - 1))
    def cancel(self, n: int) -> None:
        member = self.members[n]
        refused = self._answer(member, ResponseAction.CANCEL)
        if self.state[member] not in ("offered", "waitlisted", "accepted"):
            assert refused == "WRONG_STATE"
        elif self.now >= self.starts:
            assert refused == "TOO_LATE"
        else:
            assert refused is None
            if member in self.queue:
                self.queue.remove(member)
            self.state[member] = "cancelled"
            self.promote()

    @rule(n=st.integers(0, MEMBERS - 1))
    def scan(self, n: int) -> None:
        member = self.members[n]
        gate = door.door_of(self.engine, self.book, STAFF, None, Locale.EN)
        found = self.run(
            door.redeem_invitation(
                gate, contract.RedeemInvitation(code=self.code[member]), now=self.now
            )
        )
        opens, closes = self.starts - timedelta(hours=2), self.starts + timedelta(hours=1)
        state = self.state[member]
        if state == "checked_in":
            expected = "already_checked_in"
        elif state == "cancelled":
            expected = "cancelled"
        elif state != "accepted":
            expected = "not_accepted"
        elif not opens <= self.now < closes:
            expected = "outside_window"
        else:
            expected = "checked_in"
            self.state[member] = "checked_in"
        assert found.outcome.kind == expected

    @rule(n=st.integers(0, MEMBERS - 1), score=st.integers(0, 10))
    def rate(self, n: int, score: int) -> None:
        member = self.members[n]
        body = contract.RateExperience(member_id=member, score=score)
        actor = Actor(ActorKind.MEMBER, str(member))
        try:
            self.run(
                respond.rate_experience(
                    self.engine, actor, self.invitation[member], body, now=self.now
                )
            )
            refused = None
        except Problem as problem:
            refused = str(problem.code)
        if self.state[member] != "checked_in":
            assert refused == "NOT_ATTENDED"
        elif member in self.rated:
            assert refused == "ALREADY_RATED"
        else:
            assert refused is None
            self.rated.add(member)

    @rule(minutes=st.sampled_from([10, 45, 90]))
    def tick(self, minutes: int) -> None:
        self.now += timedelta(minutes=minutes)

    @rule()
    def job(self) -> None:
        self.run(run_experience_jobs(self.engine, self.book, now=self.now))
        for member, state in self.state.items():
            if state == "offered" and self.now >= self.starts - timedelta(hours=1):
                self.state[member] = "expired"
            elif state == "waitlisted" and self.now >= self.starts:
                self.state[member] = "expired"
                self.queue.remove(member)
            elif state == "accepted" and self.now >= self.starts + timedelta(hours=1):
                self.state[member] = "no_show"

    # ---- what must always hold ---------------------------------------------------------------

    @invariant()
    def the_database_agrees_with_the_model(self) -> None:
        if not self.state:
            return
        self.run(self._check())

    async def _check(self) -> None:
        async with self.engine.connect() as conn:
            rows = (
                await conn.execute(
                    sa.text(
                        "SELECT member_id, state, guests, accepted_at, queued_at, id "
                        "FROM loyalty.invitations WHERE experience_id = :e"
                    ),
                    {"e": self.experience.id},
                )
            ).all()
            counters = (
                await conn.execute(
                    sa.text(
                        "SELECT seats, seats_taken, waitlisted FROM loyalty.experiences WHERE id = :e"
                    ),
                    {"e": self.experience.id},
                )
            ).one()
            scans = dict(
                (
                    await conn.execute(
                        sa.text(
                            "SELECT invitation_id, count(*) FROM loyalty.door_scans "
                            "WHERE outcome = 'checked_in' GROUP BY invitation_id"
                        )
                    )
                ).all()
            )
            earns = dict(
                (
                    await conn.execute(
                        sa.text(
                            "SELECT external_id, count(*) FROM loyalty.journal_entries "
                            "WHERE external_id = ANY(:ids) GROUP BY external_id"
                        ),
                        {"ids": [f"experience-invitation:{r.id}" for r in rows]},
                    )
                ).all()
            )
        assert {r.member_id: r.state for r in rows} == self.state
        held = sum(1 + r.guests for r in rows if r.state in HOLDS)
        assert counters.seats_taken == held == self.taken() <= counters.seats
        waiting = sorted(
            (r for r in rows if r.state == "waitlisted"), key=lambda r: (r.queued_at, r.id)
        )
        assert [r.member_id for r in waiting] == self.queue
        assert counters.waitlisted == len(self.queue)
        for r in rows:
            earned = earns.get(f"experience-invitation:{r.id}")
            if r.state == "checked_in":
                assert r.accepted_at is not None
                assert (scans.get(r.id), earned) == (1, 1)
            else:
                assert r.id not in scans and earned is None


def test_the_invitation_lifecycle_agrees_with_a_simple_model_after_every_step(
    make_database: Any,
) -> None:
    url = make_database()

    async def prepare() -> None:
        engine = create_engine(url, pool_size=2, application_name="stateful-setup")
        try:
            await ensure_programme(engine)
        finally:
            await engine.dispose()

    asyncio.run(prepare())
    InvitationMachine.database_url = url
    run_state_machine_as_test(
        InvitationMachine,
        settings=settings(
            max_examples=20,
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
