"""Properties of referrals over any order and repetition of events: each referee converts at
most once, a self-referral never keeps a reward, every reward is a conversion, and retries stay
within their bounds."""

from __future__ import annotations

import random
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from services.loyalty.referrals import attribution, backoff, codes, conversion
from services.loyalty.referrals.attribution import (
    Accepted,
    Candidate,
    History,
    PriorReferral,
    Rejection,
)
from services.loyalty.referrals.backoff import GiveUp, RetryAt, RetryPolicy
from services.loyalty.referrals.conversion import (
    Effect,
    IdentifierLinked,
    MembersMerged,
    Progress,
    Qualified,
    RefereeJoined,
    ReferralEvent,
    ReverseConversion,
    RewardReferrer,
    Status,
    WelcomeReferee,
)
from services.loyalty.referrals.model import (
    Consent,
    ConsentMethod,
    FromPartner,
    Referee,
    Referral,
    ReferralPolicy,
)
from services.loyalty.rules.model import Trigger

T0 = datetime(2026, 3, 1, tzinfo=UTC)
POLICY = ReferralPolicy()
REFERRER, REFERRER_TWIN = uuid.UUID(int=1), uuid.UUID(int=2)
REFEREE, REFEREE_TWIN, STRANGER = uuid.UUID(int=7), uuid.UUID(int=8), uuid.UUID(int=9)
EMAIL = "ines@example.org"


def referral(referrer: uuid.UUID = REFERRER, n: int = 1) -> Referral:
    return Referral(
        id=uuid.UUID(int=1000 + n),
        referrer_id=referrer,
        referee=Referee(email=EMAIL),
        source=FromPartner(uuid.UUID(int=50), f"ref-{n}"),
        consent=Consent(ConsentMethod.ONLINE_FORM, T0),
        registered_at=T0,
    )


def fold(r: Referral, events: list[ReferralEvent]) -> tuple[Progress, tuple[Effect, ...]]:
    return conversion.fold(POLICY, conversion.start(r), events)


def rewards(effects: tuple[Effect, ...]) -> int:
    return sum(isinstance(e, RewardReferrer) for e in effects)


def reversals(effects: tuple[Effect, ...]) -> int:
    return sum(isinstance(e, ReverseConversion) for e in effects)


hours = st.integers(min_value=0, max_value=24 * 40)
triggers = st.sampled_from(list(Trigger))
qualifying_events = st.builds(
    lambda member, trigger, h, n: Qualified(member, trigger, T0 + timedelta(hours=h), f"e{n}"),
    st.sampled_from([REFEREE, REFEREE_TWIN, STRANGER]),
    triggers,
    hours,
    st.integers(0, 5),
)


@st.composite
def delivered(draw: st.DrawFn, events: list[ReferralEvent]) -> list[ReferralEvent]:
    """The events in any order, each delivered one to three times."""
    copies = [e for e in events for _ in range(draw(st.integers(1, 3)))]
    return draw(st.permutations(copies))


@given(st.data(), hours, st.lists(qualifying_events, max_size=5))
def test_a_referee_converts_at_most_once_whatever_the_order_and_repetition(
    data: st.DataObject, joined_hour: int, qualifying: list[Qualified]
) -> None:
    joined = RefereeJoined(REFEREE, T0 + timedelta(hours=joined_hour))
    events = data.draw(delivered([joined, *qualifying]))
    progress, effects = fold(referral(), events)
    in_window = joined.at < T0 + POLICY.attribution_window
    qualifies = any(
        q.member_id == REFEREE and q.trigger in POLICY.qualifying_triggers for q in qualifying
    )
    converts = in_window and qualifies
    assert Counter(type(e).__name__ for e in effects) == Counter(
        {"RewardReferrer": 1, "WelcomeReferee": 1, "NotifyPartner": 1} if converts else {}
    )
    expected = Status.CONVERTED if converts else Status.JOINED if in_window else Status.EXPIRED
    assert progress.status is expected
    # the same events once each, in the order they happened, give the same outcome
    happened: list[ReferralEvent] = [joined, *qualifying]
    in_order = sorted(happened, key=lambda e: e.at)
    assert fold(referral(), in_order)[0].status is expected


@given(st.data(), hours, hours, triggers)
def test_one_joining_and_one_event_give_the_same_whole_result_in_any_order_and_repetition(
    data: st.DataObject, joined_hour: int, event_hour: int, trigger: Trigger
) -> None:
    joined = RefereeJoined(REFEREE, T0 + timedelta(hours=joined_hour))
    event = Qualified(REFEREE, trigger, T0 + timedelta(hours=event_hour), "earn-1")
    expected = fold(referral(), [joined, event])
    assert fold(referral(), data.draw(delivered([joined, event]))) == expected
    # and replaying everything afterwards changes nothing and repeats nothing
    replayed = conversion.fold(POLICY, expected[0], data.draw(delivered([joined, event])))
    assert replayed == (expected[0], ())


uniting_events = st.sampled_from(
    [
        [MembersMerged(REFERRER, REFEREE, T0 + timedelta(days=2))],
        [MembersMerged(REFEREE, REFERRER, T0 + timedelta(days=2))],
        [IdentifierLinked(REFERRER, f"email:{EMAIL}", T0 + timedelta(days=2))],
        [
            IdentifierLinked(REFERRER_TWIN, f"email:{EMAIL}", T0 + timedelta(days=2)),
            MembersMerged(REFERRER, REFERRER_TWIN, T0 + timedelta(days=3)),
        ],
        [  # the referee absorbed into her twin, the twin then into the referrer
            MembersMerged(REFEREE_TWIN, REFEREE, T0 + timedelta(days=2)),
            MembersMerged(REFERRER, REFEREE_TWIN, T0 + timedelta(days=3)),
        ],
        [  # the referrer and the referee both absorbed into the referrer's twin
            MembersMerged(REFERRER_TWIN, REFERRER, T0 + timedelta(days=2)),
            MembersMerged(REFERRER_TWIN, REFEREE, T0 + timedelta(days=3)),
        ],
    ]
)
unrelated_events = st.lists(
    st.sampled_from(
        [
            IdentifierLinked(STRANGER, f"email:{EMAIL}", T0 + timedelta(days=1)),
            IdentifierLinked(REFERRER, "phone:+33612345678", T0 + timedelta(days=1)),
            MembersMerged(STRANGER, uuid.UUID(int=99), T0 + timedelta(days=1)),
        ]
    ),
    max_size=3,
)


@given(st.data(), hours, st.lists(qualifying_events, max_size=4), uniting_events, unrelated_events)
def test_a_self_referral_never_keeps_a_reward_whatever_is_linked_or_merged_before_or_after(
    data: st.DataObject,
    joined_hour: int,
    qualifying: list[Qualified],
    uniting: list[ReferralEvent],
    unrelated: list[ReferralEvent],
) -> None:
    joined = RefereeJoined(REFEREE, T0 + timedelta(hours=joined_hour))
    events = data.draw(delivered([joined, *qualifying, *uniting, *unrelated]))
    progress = conversion.start(referral())
    rewarded = 0
    for n, event in enumerate(events):
        progress, effects = conversion.apply(POLICY, progress, event)
        rewarded += rewards(effects) - reversals(effects)
        assert 0 <= rewarded <= 1
        if all(u in events[: n + 1] for u in uniting):
            assert rewarded == 0  # from the moment the two are one, nothing is kept
    assert rewarded == 0
    assert progress.status in (Status.VOIDED, Status.EXPIRED)


@given(st.data(), hours, st.lists(qualifying_events, max_size=4), unrelated_events)
def test_a_referral_without_self_referral_is_never_voided(
    data: st.DataObject,
    joined_hour: int,
    qualifying: list[Qualified],
    unrelated: list[ReferralEvent],
) -> None:
    joined = RefereeJoined(REFEREE, T0 + timedelta(hours=joined_hour))
    progress, effects = fold(referral(), data.draw(delivered([joined, *qualifying, *unrelated])))
    assert progress.status is not Status.VOIDED
    assert reversals(effects) == 0


@given(
    st.lists(
        st.tuples(
            st.sampled_from([REFERRER, REFERRER_TWIN]),
            st.lists(st.sampled_from(["join", "late-join", "buy", "self"]), max_size=4),
        ),
        max_size=8,
    ),
    st.randoms(use_true_random=False),
)
def test_a_referrers_net_rewards_equal_their_conversions(
    plans: list[tuple[uuid.UUID, list[str]]], rng: random.Random
) -> None:
    """Many referrals, each with its own referee and events; rewards and welcomes are counted
    per referrer, net of reversals, against the referrals left converted."""
    net: Counter[uuid.UUID] = Counter()
    welcomes: Counter[uuid.UUID] = Counter()
    converted: Counter[uuid.UUID] = Counter()
    for n, (referrer, steps) in enumerate(plans):
        referee = uuid.UUID(int=10_000 + n)
        by_step: dict[str, ReferralEvent] = {
            "join": RefereeJoined(referee, T0 + timedelta(days=1)),
            "late-join": RefereeJoined(referee, T0 + timedelta(days=31)),
            "buy": Qualified(referee, Trigger.PURCHASE, T0 + timedelta(days=2), f"buy-{n}"),
            "self": MembersMerged(referrer, referee, T0 + timedelta(days=3)),
        }
        events = [by_step[s] for s in steps]
        rng.shuffle(events)
        r = referral(referrer, n)
        progress, effects = fold(r, events)
        for effect in effects:
            if isinstance(effect, RewardReferrer):
                net[effect.referrer_id] += 1
            elif isinstance(effect, ReverseConversion):
                net[referrer] -= 1
                welcomes[referrer] -= 1
            elif isinstance(effect, WelcomeReferee):
                welcomes[referrer] += 1
        if progress.status is Status.CONVERTED:
            converted[progress.referrer_id] += 1
    assert +net == converted
    assert +welcomes == converted


@given(
    st.lists(
        st.tuples(
            st.sampled_from([REFERRER, REFERRER_TWIN, STRANGER]),
            st.integers(0, 24 * 90),
        ),
        min_size=1,
        max_size=8,
    ),
    st.integers(0, 24 * 120),
    st.data(),
)
def test_of_all_the_referrals_of_one_person_at_most_one_converts(
    registrations: list[tuple[uuid.UUID, int]], joined_hour: int, data: st.DataObject
) -> None:
    """Registrations judged by attribution one after the other (history from the accepted ones,
    the referee a member from their joining on); then everything the referee does reaches every
    accepted referral: only the one ``attributed`` names converts."""
    joined_at = T0 + timedelta(hours=joined_hour)
    accepted: list[Referral] = []
    for n, (referrer, hour) in enumerate(sorted(registrations, key=lambda r: r[1])):
        at = T0 + timedelta(hours=hour)
        history = History(
            referee_member_ids=frozenset({REFEREE}) if joined_at <= at else frozenset(),
            prior_referrals=tuple(PriorReferral(r.id, r.registered_at) for r in accepted),
            referrer_recent=sum(r.referrer_id == referrer for r in accepted),
        )
        candidate = Candidate(
            referrer,
            Referee(email=EMAIL),
            FromPartner(uuid.UUID(int=50), f"ref-{n}"),
            Consent(ConsentMethod.VERBAL, at),
            at,
        )
        decision = attribution.decide(POLICY, candidate, history, referral_id=uuid.UUID(int=n))
        if isinstance(decision, Accepted):
            accepted.append(decision.referral)
        else:
            assert decision.reason in (Rejection.ALREADY_MEMBER, Rejection.DUPLICATE_REFERRAL)
    events: list[ReferralEvent] = [
        RefereeJoined(REFEREE, joined_at),
        Qualified(REFEREE, Trigger.ATTENDANCE, joined_at + timedelta(hours=1), "came"),
    ]
    winners = []
    for r in accepted:
        progress, effects = fold(r, data.draw(delivered(events)))
        if progress.status is Status.CONVERTED:
            winners.append(r.id)
        assert rewards(effects) == (progress.status is Status.CONVERTED)
    priors = [PriorReferral(r.id, r.registered_at) for r in accepted]
    credited = attribution.attributed(POLICY, priors, joined_at)
    assert winners == ([] if credited is None else [credited])


@given(st.integers(0, codes.CODE_SPACE - 1))
def test_every_random_value_gives_a_code_that_reads_back_in_any_spelling(value: int) -> None:
    code = codes.code_from_random(value)
    assert codes.parse(code.display.lower()) == code
    assert codes.parse(f" {code.value[:2]} {code.value[2:5]}-{code.value[5:]} ") == code


@given(st.integers(0, codes.CODE_SPACE - 1), st.integers(0, 7), st.sampled_from(codes.ALPHABET))
def test_every_single_mistyped_character_is_caught(value: int, at: int, typo: str) -> None:
    code = codes.code_from_random(value)
    mistyped = code.value[:at] + typo + code.value[at + 1 :]
    check_failed = codes.InvalidCode(codes.CodeProblem.CHECK_FAILED)
    assert codes.parse(mistyped) == (code if mistyped == code.value else check_failed)


@given(st.integers(0, codes.CODE_SPACE - 1), st.integers(0, 7), st.integers(0, 7))
def test_every_swap_of_two_different_characters_is_caught(value: int, i: int, j: int) -> None:
    code = codes.code_from_random(value)
    chars = list(code.value)
    chars[i], chars[j] = chars[j], chars[i]
    swapped = "".join(chars)
    check_failed = codes.InvalidCode(codes.CodeProblem.CHECK_FAILED)
    assert codes.parse(swapped) == (code if swapped == code.value else check_failed)


retry_policies = st.builds(
    lambda first, factor, extra, give_up, attempts: RetryPolicy(
        first_delay=timedelta(seconds=first),
        factor=factor,
        max_delay=timedelta(seconds=first + extra),
        give_up_after=timedelta(seconds=give_up),
        max_attempts=attempts,
    ),
    st.integers(1, 3600),
    st.integers(1, 4),
    st.integers(0, 6 * 3600),
    st.integers(1, 48 * 3600),
    st.integers(1, 40),
)


@given(retry_policies, st.integers(1, 200))
def test_the_ceilings_never_decrease_and_never_pass_the_maximum_delay(
    policy: RetryPolicy, n: int
) -> None:
    assert policy.first_delay <= backoff.ceiling(policy, n) <= backoff.ceiling(policy, n + 1)
    assert backoff.ceiling(policy, n + 1) <= policy.max_delay


@given(
    retry_policies,
    st.lists(st.floats(0, 1, exclude_max=True), min_size=1, max_size=60),
    st.lists(st.integers(0, 600), min_size=1, max_size=60),
)
def test_retries_end_within_the_time_and_the_attempts_allowed(
    policy: RetryPolicy, draws: list[float], lags: list[int]
) -> None:
    """An endpoint that always fails, a random source, and a worker that starts each attempt
    some seconds late: every attempt starts by the deadline (plus that lag), never more than
    ``max_attempts``, each wait within its ceiling, and the delivery ends with a give-up."""
    first = T0
    now = first
    failures = 0
    source = iter(draws * 100)
    while True:
        failures += 1
        decision = backoff.after_failure(
            policy, first_attempt_at=first, failures=failures, now=now, random=lambda: next(source)
        )
        if isinstance(decision, GiveUp):
            break
        assert isinstance(decision, RetryAt)
        assert now <= decision.at <= backoff.deadline(policy, first)
        assert decision.at - now <= backoff.ceiling(policy, failures)
        now = decision.at + timedelta(seconds=lags[failures % len(lags)])
    assert failures <= policy.max_attempts
    assert failures == policy.max_attempts or now >= backoff.deadline(policy, first)
