"""The contact guardrails by worked examples, each at its edge, and the decision that applies
them all in their stated order."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from uuid import UUID

import pytest

from services.loyalty.experiences import guardrails
from services.loyalty.experiences.guardrails import (
    ContactPreferences,
    Hold,
    Issue,
    ProgrammeSettings,
    Prospect,
    Suppressed,
    Suppression,
)
from services.loyalty.experiences.model import (
    Channel,
    Experience,
    InvitationState,
    MemberHistory,
    PastInvitation,
    Performance,
    Purpose,
)
from services.loyalty.experiences.quiet_hours import QuietHours

NOW = datetime(2026, 6, 10, 10, 0, tzinfo=UTC)  # 12:00 in Paris
EVENING = datetime(2026, 6, 10, 21, 0, tzinfo=UTC)  # 23:00 in Paris
EXPERIENCE = Experience(
    id=UUID(int=1),
    venue_id="opera",
    starts_at=datetime(2026, 7, 1, 18, 0, tzinfo=UTC),
    ends_at=datetime(2026, 7, 1, 20, 0, tzinfo=UTC),
    seats=20,
    offers_close_at=datetime(2026, 6, 28, tzinfo=UTC),
    production_id="tosca",
)
DISCOVERY = replace(EXPERIENCE, purpose=Purpose.DISCOVERY)
MEMBER = UUID(int=100)
OTHER_EXPERIENCE = UUID(int=2)
WELCOMING = ContactPreferences(consents=frozenset({Channel.EMAIL, Channel.PUSH}))
SETTINGS = ProgrammeSettings(invitation_cap_per_30_days=4)
NIGHT = QuietHours(time(22), time(8), "Europe/Paris")


def invited(*ages: timedelta, experience: UUID = OTHER_EXPERIENCE) -> MemberHistory:
    """A member who received invitations ``ages`` before ``NOW``."""
    return MemberHistory(
        MEMBER,
        invitations=tuple(
            PastInvitation(experience, NOW - age, InvitationState.OFFERED) for age in ages
        ),
    )


def prospect(
    history: MemberHistory | None = None,
    preferences: ContactPreferences = WELCOMING,
    settings: ProgrammeSettings = SETTINGS,
    experience: Experience = EXPERIENCE,
    at: datetime = NOW,
) -> Prospect:
    return Prospect(experience, history or MemberHistory(MEMBER), preferences, settings, at)


# ---- consent ---------------------------------------------------------------------------------


def test_a_member_who_consented_to_no_channel_is_not_written_to() -> None:
    assert guardrails.consent(ContactPreferences(), SETTINGS) is Suppression.NO_CONSENT


def test_consent_to_a_channel_invitations_do_not_use_is_no_consent() -> None:
    post_only = ContactPreferences(consents=frozenset({Channel.POST}))
    assert guardrails.consent(post_only, SETTINGS) is Suppression.NO_CONSENT


def test_the_programmes_most_preferred_consented_channel_is_used() -> None:
    assert guardrails.consent(WELCOMING, SETTINGS) is None
    assert guardrails.channel_for(WELCOMING, SETTINGS) is Channel.PUSH
    email_first = ProgrammeSettings(channels=(Channel.EMAIL, Channel.PUSH))
    assert guardrails.channel_for(WELCOMING, email_first) is Channel.EMAIL


# ---- frequency cap ---------------------------------------------------------------------------


def test_below_the_cap_the_member_may_be_invited() -> None:
    three = invited(timedelta(days=1), timedelta(days=10), timedelta(days=29))
    assert guardrails.frequency_cap(three, WELCOMING, SETTINGS, NOW) is None


def test_at_exactly_the_cap_the_member_is_spared() -> None:
    four = invited(*(timedelta(days=d) for d in (1, 10, 20, 29)))
    assert guardrails.frequency_cap(four, WELCOMING, SETTINGS, NOW) is Suppression.CAP_REACHED


def test_an_invitation_exactly_30_days_old_no_longer_counts() -> None:
    history = invited(timedelta(days=30), *(timedelta(days=d) for d in (1, 2, 3)))
    assert guardrails.frequency_cap(history, WELCOMING, SETTINGS, NOW) is None


def test_an_invitation_one_microsecond_younger_than_30_days_still_counts() -> None:
    history = invited(timedelta(days=30, microseconds=-1), *(timedelta(days=d) for d in (1, 2, 3)))
    assert guardrails.frequency_cap(history, WELCOMING, SETTINGS, NOW) is Suppression.CAP_REACHED


def test_thirty_days_are_720_hours_even_across_a_change_of_clocks() -> None:
    # noon in Paris on 15 March, then noon in Paris on 14 April: 30 calendar days, 719 hours
    issued = datetime(2026, 3, 15, 11, 0, tzinfo=UTC)
    at = datetime(2026, 4, 14, 10, 0, tzinfo=UTC)
    history = MemberHistory(
        MEMBER,
        invitations=tuple(
            PastInvitation(OTHER_EXPERIENCE, when, InvitationState.DECLINED)
            for when in (issued, at - timedelta(days=1))
        ),
    )
    two = ProgrammeSettings(invitation_cap_per_30_days=2)
    assert guardrails.frequency_cap(history, WELCOMING, two, at) is Suppression.CAP_REACHED
    assert guardrails.frequency_cap(history, WELCOMING, two, at + timedelta(hours=1)) is None


def test_every_invitation_counts_whatever_became_of_it() -> None:
    states = [InvitationState.DECLINED, InvitationState.CANCELLED, InvitationState.EXPIRED]
    history = MemberHistory(
        MEMBER,
        invitations=tuple(
            PastInvitation(OTHER_EXPERIENCE, NOW - timedelta(days=n + 1), s)
            for n, s in enumerate(states)
        ),
    )
    three = ProgrammeSettings(invitation_cap_per_30_days=3)
    assert guardrails.frequency_cap(history, WELCOMING, three, NOW) is Suppression.CAP_REACHED


def test_the_stricter_of_the_members_cap_and_the_programmes_applies() -> None:
    own_two = ContactPreferences(consents=WELCOMING.consents, invitation_cap_per_30_days=2)
    own_ten = ContactPreferences(consents=WELCOMING.consents, invitation_cap_per_30_days=10)
    assert guardrails.effective_cap(own_two, SETTINGS) == 2
    assert guardrails.effective_cap(own_ten, SETTINGS) == 4
    assert guardrails.effective_cap(WELCOMING, SETTINGS) == 4
    two = invited(timedelta(days=1), timedelta(days=2))
    assert guardrails.frequency_cap(two, own_two, SETTINGS, NOW) is Suppression.CAP_REACHED
    assert guardrails.frequency_cap(two, own_ten, SETTINGS, NOW) is None


def test_a_cap_of_zero_means_never() -> None:
    never = ContactPreferences(consents=WELCOMING.consents, invitation_cap_per_30_days=0)
    assert guardrails.frequency_cap(MemberHistory(MEMBER), never, SETTINGS, NOW) is (
        Suppression.CAP_REACHED
    )


def test_a_programme_cap_of_zero_pauses_every_invitation() -> None:
    paused = ProgrammeSettings(invitation_cap_per_30_days=0)
    assert guardrails.frequency_cap(MemberHistory(MEMBER), WELCOMING, paused, NOW) is (
        Suppression.CAP_REACHED
    )


def test_caps_cannot_be_negative_and_invitations_need_a_channel() -> None:
    with pytest.raises(ValueError, match=r"^a cap cannot be negative$"):
        ContactPreferences(invitation_cap_per_30_days=-1)
    with pytest.raises(ValueError, match=r"^a cap cannot be negative$"):
        ProgrammeSettings(invitation_cap_per_30_days=-1)
    with pytest.raises(ValueError, match=r"^invitations need at least one channel$"):
        ProgrammeSettings(channels=())


# ---- never before ----------------------------------------------------------------------------


def with_past(*states: InvitationState, experience: UUID = EXPERIENCE.id) -> MemberHistory:
    return MemberHistory(
        MEMBER,
        invitations=tuple(PastInvitation(experience, NOW - timedelta(days=40), s) for s in states),
    )


@pytest.mark.parametrize(
    ("state", "reason"),
    [
        (InvitationState.OFFERED, Suppression.ALREADY_INVITED),
        (InvitationState.ACCEPTED, Suppression.ALREADY_INVITED),
        (InvitationState.EXPIRED, Suppression.ALREADY_INVITED),
        (InvitationState.WAITLISTED, Suppression.ALREADY_INVITED),
        (InvitationState.CHECKED_IN, Suppression.ALREADY_INVITED),
        (InvitationState.DECLINED, Suppression.DECLINED_BEFORE),
        (InvitationState.CANCELLED, Suppression.CANCELLED_BEFORE),
    ],
)
def test_a_member_is_never_invited_twice_to_one_experience(
    state: InvitationState, reason: Suppression
) -> None:
    assert guardrails.never_before(with_past(state), EXPERIENCE) is reason


def test_declining_is_reported_before_cancelling_and_cancelling_before_being_invited() -> None:
    both = with_past(InvitationState.EXPIRED, InvitationState.CANCELLED, InvitationState.DECLINED)
    assert guardrails.never_before(both, EXPERIENCE) is Suppression.DECLINED_BEFORE
    cancelled = with_past(InvitationState.EXPIRED, InvitationState.CANCELLED)
    assert guardrails.never_before(cancelled, EXPERIENCE) is Suppression.CANCELLED_BEFORE


def test_invitations_to_other_experiences_do_not_count() -> None:
    other = with_past(InvitationState.DECLINED, experience=OTHER_EXPERIENCE)
    assert guardrails.never_before(other, EXPERIENCE) is None


# ---- never promote what the member has -------------------------------------------------------


def seen(booked: tuple[str, ...] = (), attended: tuple[str, ...] = ()) -> MemberHistory:
    at = NOW - timedelta(days=5)
    return MemberHistory(
        MEMBER,
        bookings=tuple(Performance(at, p) for p in booked),
        attendances=tuple(Performance(at, p) for p in attended),
    )


def test_a_discovery_experience_is_not_offered_to_who_booked_its_production() -> None:
    assert guardrails.not_booked_or_attended(seen(booked=("tosca",)), DISCOVERY) is (
        Suppression.ALREADY_BOOKED
    )


def test_a_discovery_experience_is_not_offered_to_who_attended_its_production() -> None:
    both = seen(booked=("tosca",), attended=("tosca",))
    assert guardrails.not_booked_or_attended(both, DISCOVERY) is Suppression.ALREADY_ATTENDED


def test_other_productions_do_not_matter() -> None:
    assert guardrails.not_booked_or_attended(seen(("carmen",), ("aida",)), DISCOVERY) is None


def test_for_ticket_holders_holding_a_ticket_is_the_point() -> None:
    assert EXPERIENCE.purpose is Purpose.TICKET_HOLDERS
    both = seen(booked=("tosca",), attended=("tosca",))
    assert guardrails.not_booked_or_attended(both, EXPERIENCE) is None


def test_a_discovery_experience_without_a_production_promotes_nothing() -> None:
    free = replace(DISCOVERY, production_id=None)
    assert guardrails.not_booked_or_attended(seen(("tosca",), ("tosca",)), free) is None


# ---- interests -------------------------------------------------------------------------------


def likes(*interests: str) -> ContactPreferences:
    return ContactPreferences(consents=WELCOMING.consents, interests=frozenset(interests))


def test_an_experience_naming_no_interest_suits_everyone() -> None:
    assert guardrails.interest_match(likes(), EXPERIENCE) is None


def test_one_shared_interest_is_enough_whatever_the_case_and_spaces() -> None:
    opera = replace(EXPERIENCE, interests=frozenset({"Baroque  Opera", "dance"}))
    assert guardrails.interest_match(likes(" baroque opera ", "jazz"), opera) is None


def test_no_shared_interest_spares_the_member() -> None:
    opera = replace(EXPERIENCE, interests=frozenset({"opera"}))
    assert guardrails.interest_match(likes("jazz"), opera) is Suppression.NO_INTEREST_MATCH
    assert guardrails.interest_match(likes(), opera) is Suppression.NO_INTEREST_MATCH


def test_interests_are_compared_trimmed_collapsed_and_case_folded() -> None:
    assert guardrails.normalise_interest("  Musique   de CHAMBRE ") == "musique de chambre"


# ---- the decision ----------------------------------------------------------------------------


def test_the_guardrails_are_applied_in_the_stated_order() -> None:
    assert [name for name, _ in guardrails.ORDER] == [
        "consent",
        "never_before",
        "not_booked_or_attended",
        "interest_match",
        "frequency_cap",
    ]


def test_a_member_who_passes_every_guardrail_by_day_is_invited_at_once() -> None:
    assert guardrails.decide(prospect()) == Issue(Channel.PUSH)


def test_a_member_who_passes_in_their_quiet_hours_is_held_until_they_end() -> None:
    quiet = replace(WELCOMING, quiet_hours=NIGHT)
    decision = guardrails.decide(prospect(preferences=quiet, at=EVENING))
    assert decision == Hold(Channel.PUSH, datetime(2026, 6, 11, 6, 0, tzinfo=UTC))


def test_the_programmes_quiet_hours_apply_to_a_member_who_set_none() -> None:
    programme = replace(SETTINGS, quiet_hours=NIGHT)
    decision = guardrails.decide(prospect(settings=programme, at=EVENING))
    assert decision == Hold(Channel.PUSH, datetime(2026, 6, 11, 6, 0, tzinfo=UTC))


def test_the_members_own_quiet_hours_win_over_the_programmes() -> None:
    own = replace(WELCOMING, quiet_hours=QuietHours(time(23, 30), time(7), "Europe/Paris"))
    programme = replace(SETTINGS, quiet_hours=NIGHT)
    assert guardrails.decide(prospect(preferences=own, settings=programme, at=EVENING)) == (
        Issue(Channel.PUSH)
    )


def test_a_suppressed_member_lists_every_failing_reason_the_first_reported() -> None:
    history = MemberHistory(
        MEMBER,
        bookings=(Performance(NOW - timedelta(days=3), "tosca"),),
        invitations=tuple(
            PastInvitation(OTHER_EXPERIENCE, NOW - timedelta(days=d), InvitationState.OFFERED)
            for d in (1, 2, 3, 4)
        ),
    )
    opera = replace(DISCOVERY, interests=frozenset({"opera"}))
    decision = guardrails.decide(
        prospect(history, ContactPreferences(), experience=opera, at=EVENING)
    )
    assert decision == Suppressed(
        (
            Suppression.NO_CONSENT,
            Suppression.ALREADY_BOOKED,
            Suppression.NO_INTEREST_MATCH,
            Suppression.CAP_REACHED,
        )
    )
    assert isinstance(decision, Suppressed) and decision.reason is Suppression.NO_CONSENT


def test_a_suppressed_member_is_not_held_even_in_quiet_hours() -> None:
    quiet = ContactPreferences(quiet_hours=NIGHT)
    assert guardrails.decide(prospect(preferences=quiet, at=EVENING)) == Suppressed(
        (Suppression.NO_CONSENT,)
    )


def test_a_suppression_always_has_a_reason() -> None:
    with pytest.raises(ValueError, match=r"^a suppression has a reason$"):
        Suppressed(())


def test_suppression_codes_are_stable() -> None:
    assert [s.value for s in Suppression] == [
        "NO_CONSENT",
        "ALREADY_INVITED",
        "DECLINED_BEFORE",
        "CANCELLED_BEFORE",
        "ALREADY_ATTENDED",
        "ALREADY_BOOKED",
        "NO_INTEREST_MATCH",
        "CAP_REACHED",
    ]
