"""Properties of the pure core of experiences (DESIGN.md, principles 2 and 4):

- whatever the preferences and history, no invitation is issued that breaks a guardrail, and no
  member is spared without a true reason (checked against an oracle written apart);
- a held invitation is held exactly while quiet hours last, in any time zone, on any night;
- the fair order is a total, deterministic order, whatever order the candidates come in;
- through any sequence of answers, releases, promotions and scans, seats taken never exceed
  seats, a check-in always follows an acceptance, an invitation is checked in at most once, and
  the waitlist is promoted in its order.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, time, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from services.loyalty.experiences import guardrails, lifecycle, selection
from services.loyalty.experiences.guardrails import (
    ContactPreferences,
    Hold,
    Issue,
    ProgrammeSettings,
    Prospect,
    Suppressed,
    Suppression,
)
from services.loyalty.experiences.lifecycle import Invitation, Moved, Refused, Seats
from services.loyalty.experiences.model import (
    Channel,
    Experience,
    InvitationState,
    MemberHistory,
    PastInvitation,
    Performance,
    Purpose,
)
from services.loyalty.experiences.quiet_hours import QuietHours, quiet_until

ZONES = ["Europe/Paris", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata", "UTC"]
PRODUCTIONS = ["tosca", "aida", "carmen"]
INTERESTS = ["opera", "Dance", "jazz ", "baroque  music"]
THIS = UUID(int=1)
OTHERS = [UUID(int=2), UUID(int=3)]
MEMBER = UUID(int=100)

# Instants through 2026, crowded around the nights the clocks change in Europe and America.
CHANGES = [
    datetime(2026, 3, 8, 7, tzinfo=UTC),
    datetime(2026, 3, 29, 1, tzinfo=UTC),
    datetime(2026, 10, 4, 15, tzinfo=UTC),
    datetime(2026, 10, 25, 1, tzinfo=UTC),
    datetime(2026, 11, 1, 6, tzinfo=UTC),
]
instants = st.one_of(
    st.datetimes(datetime(2026, 1, 1), datetime(2026, 12, 31), timezones=st.just(UTC)),
    st.builds(
        lambda change, seconds: change + timedelta(seconds=seconds),
        st.sampled_from(CHANGES),
        st.integers(-30 * 3600, 30 * 3600),
    ),
)
clock = st.builds(time, st.integers(0, 23), st.sampled_from([0, 15, 30, 45]))
quiet_hours = st.builds(QuietHours, clock, clock, st.sampled_from(ZONES))
channels = st.frozensets(st.sampled_from(list(Channel)))


@st.composite
def prospects(draw: st.DrawFn) -> Prospect:
    at = draw(instants)
    experience = Experience(
        id=THIS,
        venue_id="opera",
        starts_at=at + timedelta(days=30),
        ends_at=at + timedelta(days=30, hours=2),
        seats=10,
        offers_close_at=at + timedelta(days=20),
        purpose=draw(st.sampled_from(list(Purpose))),
        production_id=draw(st.sampled_from([None, *PRODUCTIONS])),
        interests=draw(st.frozensets(st.sampled_from(INTERESTS), max_size=2)),
    )
    ages = st.timedeltas(timedelta(0), timedelta(days=45))
    performances = st.lists(
        st.builds(
            lambda p, age: Performance(at - age, p), st.sampled_from([None, *PRODUCTIONS]), ages
        ),
        max_size=3,
    )
    history = MemberHistory(
        MEMBER,
        bookings=tuple(draw(performances)),
        attendances=tuple(draw(performances)),
        invitations=tuple(
            draw(
                st.lists(
                    st.builds(
                        lambda e, age, s: PastInvitation(e, at - age, s),
                        st.sampled_from([THIS, *OTHERS]),
                        st.one_of(ages, st.just(timedelta(days=30))),
                        st.sampled_from(list(InvitationState)),
                    ),
                    max_size=6,
                )
            )
        ),
    )
    preferences = ContactPreferences(
        consents=draw(channels),
        invitation_cap_per_30_days=draw(st.one_of(st.none(), st.integers(0, 6))),
        quiet_hours=draw(st.one_of(st.none(), quiet_hours)),
        interests=draw(st.frozensets(st.sampled_from([*INTERESTS, "JAZZ", "film"]), max_size=3)),
    )
    programme = ProgrammeSettings(
        invitation_cap_per_30_days=draw(st.integers(0, 6)),
        quiet_hours=draw(st.one_of(st.none(), quiet_hours)),
        channels=tuple(
            draw(st.lists(st.sampled_from(list(Channel)), min_size=1, max_size=4, unique=True))
        ),
    )
    return Prospect(experience, history, preferences, programme, at)


# ---- an oracle for the guardrails, written apart from them -----------------------------------


def quiet_at(window: QuietHours, instant: datetime) -> bool:
    wall = instant.astimezone(ZoneInfo(window.timezone))
    minutes = wall.hour * 60 + wall.minute + (wall.second + wall.microsecond / 1e6) / 60
    start = window.start.hour * 60 + window.start.minute
    end = window.end.hour * 60 + window.end.minute
    if start <= end:
        return start <= minutes < end
    return minutes >= start or minutes < end


def expected_reasons(p: Prospect) -> list[Suppression]:
    reasons = []
    if not set(p.settings.channels) & p.preferences.consents:
        reasons.append(Suppression.NO_CONSENT)
    before = [i.state for i in p.history.invitations if i.experience_id == p.experience.id]
    if InvitationState.DECLINED in before:
        reasons.append(Suppression.DECLINED_BEFORE)
    elif InvitationState.CANCELLED in before:
        reasons.append(Suppression.CANCELLED_BEFORE)
    elif before:
        reasons.append(Suppression.ALREADY_INVITED)
    production = p.experience.production_id
    if p.experience.purpose is Purpose.DISCOVERY and production:
        if production in {a.production_id for a in p.history.attendances}:
            reasons.append(Suppression.ALREADY_ATTENDED)
        elif production in {b.production_id for b in p.history.bookings}:
            reasons.append(Suppression.ALREADY_BOOKED)
    wanted = {" ".join(i.lower().split()) for i in p.experience.interests}
    held = {" ".join(i.lower().split()) for i in p.preferences.interests}
    if wanted and not wanted & held:
        reasons.append(Suppression.NO_INTEREST_MATCH)
    caps = [p.settings.invitation_cap_per_30_days, p.preferences.invitation_cap_per_30_days]
    recent = [i for i in p.history.invitations if p.at - i.issued_at < timedelta(days=30)]
    if len(recent) >= min(c for c in caps if c is not None):
        reasons.append(Suppression.CAP_REACHED)
    return reasons


@settings(max_examples=400)
@given(prospects())
def test_no_invitation_breaks_a_guardrail_and_no_suppression_is_spurious(p: Prospect) -> None:
    decision = guardrails.decide(p)
    reasons = expected_reasons(p)
    if isinstance(decision, Suppressed):
        assert list(decision.reasons) == reasons
        return
    assert reasons == []
    first_consented = next(c for c in p.settings.channels if c in p.preferences.consents)
    assert decision.channel is first_consented
    window = p.preferences.quiet_hours or p.settings.quiet_hours
    if isinstance(decision, Issue):
        assert window is None or not quiet_at(window, p.at)
    else:
        assert isinstance(decision, Hold) and window is not None
        assert quiet_at(window, p.at)
        # a window of nearly a day whose end the clock jumps over lasts until the next day's end
        assert p.at < decision.deliver_after <= p.at + timedelta(hours=49)
        assert not quiet_at(window, decision.deliver_after)


@settings(max_examples=400)
@given(quiet_hours, instants)
def test_a_hold_lasts_exactly_as_long_as_the_quiet_hours(window: QuietHours, at: datetime) -> None:
    until = quiet_until(window, at)
    if until is None:
        assert not quiet_at(window, at)
        return
    assert quiet_at(window, at) and not quiet_at(window, until)
    zone = ZoneInfo(window.timezone)
    if at.astimezone(zone).utcoffset() == until.astimezone(zone).utcoffset():
        # no change of clocks in between: quiet all along, up to the last microsecond
        steps = 12
        for n in range(steps):
            assert quiet_at(window, at + (until - at) * n / steps)
        assert quiet_at(window, until - timedelta(microseconds=1))


def test_the_oracle_agrees_with_a_worked_example() -> None:
    night = QuietHours(time(22), time(8), "Europe/Paris")
    assert quiet_at(night, datetime(2026, 6, 10, 20, tzinfo=UTC)) is True
    assert quiet_at(night, datetime(2026, 6, 11, 6, tzinfo=UTC)) is False


# ---- the fair order --------------------------------------------------------------------------

candidates = st.lists(
    st.builds(
        selection.Candidate,
        st.integers(0, 10**6).map(lambda n: UUID(int=n)),
        st.integers(0, 3),
        st.integers(-1, 3),
    ),
    max_size=25,
    unique_by=lambda c: c.member_id,
)


@given(candidates, st.text(max_size=20), st.data())
def test_the_fair_order_is_total_deterministic_and_blind_to_input_order(
    given_candidates: list[selection.Candidate], seed: str, data: st.DataObject
) -> None:
    placed = selection.fair_order(given_candidates, seed)
    shuffled = data.draw(st.permutations(given_candidates))
    assert selection.fair_order(shuffled, seed) == placed
    assert [p.position for p in placed] == list(range(1, len(given_candidates) + 1))
    assert sorted(p.candidate.member_id for p in placed) == sorted(
        c.member_id for c in given_candidates
    )
    for a, b in itertools.pairwise(placed):
        first, second = a.candidate, b.candidate
        assert (first.recent_invitations, -first.tier_rank, a.draw) < (
            second.recent_invitations,
            -second.tier_rank,
            b.draw,
        )
        assert a.draw == selection.draw(seed, first.member_id)


# ---- the lifecycle, through any sequence of events -------------------------------------------

T0 = datetime(2026, 6, 1, tzinfo=UTC)
STATE = InvitationState
which = st.integers(0, 7)
strays = st.integers(0, 4).map(lambda k: k == 0)  # one attempt in five at any invitation
rarely = st.integers(0, 2).map(lambda k: k == 0)
HOUR = timedelta(hours=1)


class Lifecycle(RuleBasedStateMachine):
    """Invitations to one experience, driven by members, staff and the clock in any order."""

    @initialize(
        seats=st.integers(1, 5),
        allowance=st.integers(0, 2),
        first_answers=st.lists(st.integers(0, 2), max_size=8),
    )
    def open_experience(self, seats: int, allowance: int, first_answers: list[int]) -> None:
        """Open the experience, offer it to eight members, and let some accept at once with
        ``first_answers`` guests each (so that seats fill and the waitlist forms early)."""
        self.experience = Experience(
            id=THIS,
            venue_id="opera",
            # a compact timeline, so that every phase is reached in a few steps: offers close
            # after 6 hours, the door opens after 10, the start after 12, the door closes at 13
            starts_at=T0 + timedelta(hours=12),
            ends_at=T0 + timedelta(hours=14),
            seats=seats,
            offers_close_at=T0 + timedelta(hours=6),
            guest_allowance=allowance,
        )
        self.now = T0
        self.invitations: dict[UUID, Invitation] = {
            UUID(int=n): Invitation(UUID(int=n), UUID(int=100 + n), STATE.OFFERED, T0)
            for n in range(8)
        }
        self.counted = Seats(seats)
        self.history: dict[UUID, list[InvitationState]] = {
            i: [STATE.OFFERED] for i in self.invitations
        }
        self.check_ins: dict[UUID, int] = dict.fromkeys(self.invitations, 0)
        for n, guests in enumerate(first_answers):
            invitation = self.invitations[UUID(int=n)]
            self.apply(
                lifecycle.accept(
                    invitation, self.experience, self.counted, guests=min(guests, allowance), at=T0
                )
            )

    def pick(self, n: int, states: set[InvitationState], stray: bool) -> Invitation | None:
        """The ``n``-th invitation in one of ``states``, or with ``stray`` of any state, so that
        most attempts can succeed and some cannot; ``None`` when there is none to pick."""
        pool = [i for i in self.invitations.values() if stray or i.state in states]
        return sorted(pool, key=lambda i: i.id)[n % len(pool)] if pool else None

    def apply(self, outcome: lifecycle.Outcome) -> None:
        if isinstance(outcome, Refused):
            return
        invitation = outcome.invitation
        before = self.invitations[invitation.id]
        assert before.state not in lifecycle.FINAL or (
            before.state is STATE.CHECKED_IN and invitation.state is STATE.CHECKED_IN
        ), f"{before.state} is final"
        self.invitations[invitation.id] = invitation
        self.counted = self.counted.after(outcome)
        if invitation.state is not before.state:
            self.history[invitation.id].append(invitation.state)
        if invitation.state is STATE.CHECKED_IN and before.state is not STATE.CHECKED_IN:
            self.check_ins[invitation.id] += 1

    def promote(self) -> None:
        queue = lifecycle.waitlist_order(self.invitations.values())
        result = lifecycle.promote(self.experience, self.counted, queue, at=self.now)
        assert [p.id for p in result.promoted] == [q.id for q in queue[: len(result.promoted)]]
        for promoted in result.promoted:
            self.apply(Moved(promoted, taken=promoted.party, waiting=-1))
        assert self.counted == result.seats

    @rule(minutes=st.integers(0, 90))
    def time_passes(self, minutes: int) -> None:
        self.now += timedelta(minutes=minutes)

    @rule()
    def time_reaches_the_next_edge(self) -> None:
        """Offers closing, the door opening, the start, the door closing: each edge and the
        microsecond before it, in turn."""
        e = self.experience
        edges = [e.offers_close_at, e.door_opens_at, e.starts_at, e.door_closes_at]
        moments = sorted({m for edge in edges for m in (edge - timedelta(microseconds=1), edge)})
        self.now = next((m for m in moments if m > self.now), self.now)

    @precondition(lambda self: self.now < self.experience.offers_close_at + HOUR)
    @rule(n=which, stray=strays, guests=st.integers(0, 4))
    def member_accepts(self, n: int, stray: bool, guests: int) -> None:
        waiting_before = self.counted.waiting
        invitation = self.pick(n, {STATE.OFFERED}, stray)
        if invitation is None:
            return
        if not stray:  # most members ask for no more guests than allowed
            guests %= self.experience.guest_allowance + 1
        outcome = lifecycle.accept(
            invitation, self.experience, self.counted, guests=guests, at=self.now
        )
        if isinstance(outcome, Moved) and waiting_before:
            assert outcome.invitation.state is STATE.WAITLISTED  # nobody overtakes the queue
        self.apply(outcome)

    @precondition(lambda self: self.now < self.experience.offers_close_at + HOUR)
    @rule(n=which, stray=strays, minded=rarely)
    def member_declines(self, n: int, stray: bool, minded: bool) -> None:
        invitation = self.pick(n, {STATE.OFFERED}, stray)
        if invitation is None or not minded:  # most members do not decline
            return
        self.apply(lifecycle.decline(invitation, self.experience, at=self.now))

    @rule(n=which, stray=strays, by_programme=st.booleans(), minded=rarely)
    def someone_cancels(self, n: int, stray: bool, by_programme: bool, minded: bool) -> None:
        invitation = self.pick(n, {STATE.ACCEPTED}, stray)
        if invitation is None or not minded:  # most reservations are kept
            return
        outcome = lifecycle.cancel(
            invitation, self.experience, at=self.now, by_programme=by_programme
        )
        self.apply(outcome)
        self.promote()

    @rule()
    def seats_are_offered_to_the_waitlist(self) -> None:
        self.promote()

    @precondition(lambda self: self.now >= self.experience.offers_close_at - HOUR)
    @rule(n=which, stray=strays)
    def the_clock_expires(self, n: int, stray: bool) -> None:
        invitation = self.pick(n, {STATE.OFFERED, STATE.WAITLISTED, STATE.ACCEPTED}, stray)
        if invitation is None:
            return
        self.apply(lifecycle.expire(invitation, self.experience, at=self.now))
        self.apply(lifecycle.no_show(self.invitations[invitation.id], self.experience, at=self.now))

    @precondition(
        lambda self: (
            self.experience.door_opens_at - HOUR <= self.now < self.experience.door_closes_at + HOUR
        )
    )
    @rule(
        n=which,
        stray=strays,
        venue=st.sampled_from(["opera", "opera", "opera", "theatre"]),
        guests=st.one_of(st.none(), st.integers(0, 4)),
    )
    def staff_scan(self, n: int, stray: bool, venue: str, guests: int | None) -> None:
        before = self.pick(n, {STATE.ACCEPTED, STATE.CHECKED_IN}, stray)
        if before is None:
            return
        outcome = lifecycle.check_in(
            before, self.experience, at=self.now, staff_id="s1", staff_venue_id=venue, guests=guests
        )
        if isinstance(outcome, Moved):
            assert before.state is STATE.ACCEPTED
            assert self.experience.door_opens_at <= self.now < self.experience.door_closes_at
        elif before.state is STATE.CHECKED_IN and venue == "opera":
            assert outcome == Refused(
                lifecycle.Refusal.ALREADY_CHECKED_IN, STATE.CHECKED_IN, before.checked_in_at, "s1"
            )
        self.apply(outcome)

    @precondition(lambda self: self.now >= self.experience.door_opens_at)
    @rule(n=which, stray=strays, score=st.integers(-1, 11))
    def member_rates(self, n: int, stray: bool, score: int) -> None:
        before = self.pick(n, {STATE.CHECKED_IN}, stray)
        if before is None:
            return
        outcome = lifecycle.rate(before, score=score, at=self.now)
        if isinstance(outcome, Moved):
            assert before.rating is None and 0 <= score <= 10
        self.apply(outcome)

    @invariant()
    def seats_taken_never_exceed_seats(self) -> None:
        assert self.counted == lifecycle.seats(self.experience, self.invitations.values())
        assert 0 <= self.counted.taken <= self.experience.seats
        assert self.counted.waiting >= 0

    @invariant()
    def a_check_in_follows_an_acceptance_and_happens_once(self) -> None:
        for invitation_id, states in self.history.items():
            assert self.check_ins[invitation_id] <= 1
            if STATE.CHECKED_IN in states:
                assert states.index(STATE.ACCEPTED) < states.index(STATE.CHECKED_IN)
                assert self.check_ins[invitation_id] == 1

    @invariant()
    def guests_stay_within_the_allowance(self) -> None:
        for invitation in self.invitations.values():
            assert 0 <= invitation.guests <= self.experience.guest_allowance


TestLifecycle = Lifecycle.TestCase
TestLifecycle.settings = settings(max_examples=150, stateful_step_count=50)
