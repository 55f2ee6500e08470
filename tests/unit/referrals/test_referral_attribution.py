"""Attribution by worked examples: each rejection with its stable code, each boundary exactly at
its edge (the window's end, the cap, consent given at the very registration)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from services.loyalty.referrals import attribution
from services.loyalty.referrals.attribution import (
    Accepted,
    Candidate,
    History,
    PriorReferral,
    Rejected,
    Rejection,
)
from services.loyalty.referrals.model import (
    Consent,
    ConsentMethod,
    FromMember,
    FromPartner,
    MemberChannel,
    Referee,
    Referral,
    ReferralPolicy,
)
from services.loyalty.rules.model import Trigger

AT = datetime(2026, 3, 3, 13, 30, tzinfo=UTC)
REFERRER = uuid.UUID(int=1)
OTHER_MEMBER = uuid.UUID(int=2)
NEW = uuid.UUID(int=100)
PARTNER = FromPartner(uuid.UUID(int=50), "order-8812")
INES = Referee(email="ines@example.org", phone="+33612345678")
POLICY = ReferralPolicy()  # 30-day window, 20 referrals per 30 days, consent up to 365 days old


def candidate(
    *,
    referrer: uuid.UUID | None = REFERRER,
    consent: Consent | None = Consent(ConsentMethod.ONLINE_FORM, AT - timedelta(days=2)),
    at: datetime = AT,
) -> Candidate:
    return Candidate(referrer, INES, PARTNER, consent, at)


def decide(c: Candidate, history: History = History()) -> attribution.Decision:
    return attribution.decide(POLICY, c, history, referral_id=NEW)


def test_a_partners_referral_with_consent_is_accepted_and_holds_its_referee_for_30_days() -> None:
    assert decide(candidate()) == Accepted(
        Referral(
            id=NEW,
            referrer_id=REFERRER,
            referee=INES,
            source=PARTNER,
            consent=Consent(ConsentMethod.ONLINE_FORM, AT - timedelta(days=2)),
            registered_at=AT,
        ),
        holds_until=datetime(2026, 4, 2, 13, 30, tzinfo=UTC),
    )


def test_the_default_terms_are_stated() -> None:
    assert ReferralPolicy() == ReferralPolicy(
        attribution_window=timedelta(days=30),
        cap=20,
        cap_period=timedelta(days=30),
        consent_max_age=timedelta(days=365),
        qualifying_triggers=frozenset({Trigger.PURCHASE, Trigger.ATTENDANCE, Trigger.SUBSCRIPTION}),
    )


def test_a_code_that_belongs_to_no_member_is_unknown() -> None:
    assert decide(candidate(referrer=None)) == Rejected(Rejection.UNKNOWN_CODE)


def test_a_referral_without_a_consent_statement_is_refused() -> None:
    assert decide(candidate(consent=None)) == Rejected(Rejection.NO_CONSENT)


def test_consent_given_exactly_at_the_registration_is_accepted() -> None:
    decision = decide(candidate(consent=Consent(ConsentMethod.VERBAL, AT)))
    assert isinstance(decision, Accepted)
    assert decision.referral.consent == Consent(ConsentMethod.VERBAL, AT)


def test_consent_dated_one_microsecond_after_the_registration_is_refused() -> None:
    late = Consent(ConsentMethod.VERBAL, AT + timedelta(microseconds=1))
    assert decide(candidate(consent=late)) == Rejected(Rejection.CONSENT_IN_FUTURE)


def test_consent_exactly_365_days_old_is_accepted_and_one_microsecond_older_is_too_old() -> None:
    oldest = Consent(ConsentMethod.PAPER_FORM, AT - timedelta(days=365))
    assert isinstance(decide(candidate(consent=oldest)), Accepted)
    older = Consent(ConsentMethod.PAPER_FORM, AT - timedelta(days=365, microseconds=1))
    assert decide(candidate(consent=older)) == Rejected(Rejection.CONSENT_TOO_OLD)


def test_a_referee_who_resolves_to_the_referrer_is_a_self_referral() -> None:
    history = History(referee_member_ids=frozenset({REFERRER}))
    assert decide(candidate(), history) == Rejected(Rejection.SELF_REFERRAL)


def test_a_referee_whose_identifiers_resolve_to_the_referrer_and_another_is_still_self() -> None:
    history = History(referee_member_ids=frozenset({OTHER_MEMBER, REFERRER}))
    assert decide(candidate(), history) == Rejected(Rejection.SELF_REFERRAL)


def test_a_referee_who_resolves_to_another_member_is_already_a_member() -> None:
    history = History(referee_member_ids=frozenset({OTHER_MEMBER}))
    assert decide(candidate(), history) == Rejected(Rejection.ALREADY_MEMBER)


def test_a_second_referral_of_the_same_person_within_the_window_is_a_duplicate() -> None:
    first = PriorReferral(uuid.UUID(int=90), AT - timedelta(days=29, hours=23))
    assert decide(candidate(), History(prior_referrals=(first,))) == Rejected(
        Rejection.DUPLICATE_REFERRAL
    )


def test_a_second_referral_exactly_at_the_end_of_the_window_is_accepted() -> None:
    first = PriorReferral(uuid.UUID(int=90), AT - timedelta(days=30))
    assert isinstance(decide(candidate(), History(prior_referrals=(first,))), Accepted)
    just_inside = PriorReferral(uuid.UUID(int=90), AT - timedelta(days=30) + timedelta.resolution)
    assert decide(candidate(), History(prior_referrals=(just_inside,))) == Rejected(
        Rejection.DUPLICATE_REFERRAL
    )


def test_a_referral_registered_at_the_same_instant_as_another_is_a_duplicate() -> None:
    same = PriorReferral(uuid.UUID(int=90), AT)
    assert decide(candidate(), History(prior_referrals=(same,))) == Rejected(
        Rejection.DUPLICATE_REFERRAL
    )


def test_a_voided_earlier_referral_does_not_hold_the_referee() -> None:
    voided = PriorReferral(uuid.UUID(int=90), AT - timedelta(days=1), voided=True)
    assert isinstance(decide(candidate(), History(prior_referrals=(voided,))), Accepted)


def test_the_twentieth_referral_in_the_period_is_accepted_and_the_twenty_first_is_over_cap() -> (
    None
):
    assert isinstance(decide(candidate(), History(referrer_recent=19)), Accepted)
    assert decide(candidate(), History(referrer_recent=20)) == Rejected(Rejection.OVER_CAP)


def test_the_store_reads_the_window_and_the_cap_period_from_the_policy() -> None:
    assert POLICY.window_start(AT) == datetime(2026, 2, 1, 13, 30, tzinfo=UTC)
    assert POLICY.cap_period_start(AT) == datetime(2026, 2, 1, 13, 30, tzinfo=UTC)
    tight = ReferralPolicy(attribution_window=timedelta(days=7), cap_period=timedelta(days=1))
    assert tight.window_start(AT) == datetime(2026, 2, 24, 13, 30, tzinfo=UTC)
    assert tight.cap_period_start(AT) == datetime(2026, 3, 2, 13, 30, tzinfo=UTC)


def test_checks_run_in_the_stated_order_so_one_reason_is_given() -> None:
    everything_wrong = History(
        referee_member_ids=frozenset({REFERRER}),
        prior_referrals=(PriorReferral(uuid.UUID(int=90), AT),),
        referrer_recent=99,
    )
    assert decide(candidate(referrer=None, consent=None), everything_wrong) == Rejected(
        Rejection.UNKNOWN_CODE
    )
    assert decide(candidate(consent=None), everything_wrong) == Rejected(Rejection.NO_CONSENT)
    assert decide(candidate(), everything_wrong) == Rejected(Rejection.SELF_REFERRAL)
    others = History(
        referee_member_ids=frozenset({OTHER_MEMBER}),
        prior_referrals=everything_wrong.prior_referrals,
        referrer_recent=99,
    )
    assert decide(candidate(), others) == Rejected(Rejection.ALREADY_MEMBER)
    duplicate_over_cap = History(prior_referrals=others.prior_referrals, referrer_recent=99)
    assert decide(candidate(), duplicate_over_cap) == Rejected(Rejection.DUPLICATE_REFERRAL)


def test_the_rejection_codes_are_stable() -> None:
    assert [r.value for r in Rejection] == [
        "UNKNOWN_CODE",
        "NO_CONSENT",
        "CONSENT_IN_FUTURE",
        "CONSENT_TOO_OLD",
        "SELF_REFERRAL",
        "ALREADY_MEMBER",
        "DUPLICATE_REFERRAL",
        "OVER_CAP",
    ]


def test_a_member_who_brings_a_friend_at_sign_up_is_accepted_with_the_friends_own_consent() -> None:
    source = FromMember(MemberChannel.SIGNUP)
    signup = Candidate(
        REFERRER,
        Referee(email="leo@example.org"),
        source,
        Consent(ConsentMethod.SELF_REGISTRATION, AT),
        AT,
    )
    decision = decide(signup)
    assert isinstance(decision, Accepted)
    assert (decision.referral.source, decision.referral.referee.identifiers()) == (
        FromMember(MemberChannel.SIGNUP, None),
        frozenset({"email:leo@example.org"}),
    )


def test_a_referee_is_named_by_an_email_or_a_phone() -> None:
    assert Referee(phone="+33612345678").identifiers() == frozenset({"phone:+33612345678"})
    assert INES.identifiers() == frozenset({"email:ines@example.org", "phone:+33612345678"})
    for email, phone in [(None, None), ("", "")]:
        with pytest.raises(ValueError) as refused:
            Referee(email=email, phone=phone)
        assert str(refused.value) == "a referee is named by an email or a phone"


POSITIVE = "the attribution window and the cap period must be positive"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"attribution_window": timedelta(0)}, POSITIVE),
        ({"cap_period": timedelta(0)}, POSITIVE),
        ({"cap_period": timedelta(seconds=-1)}, POSITIVE),
        ({"cap": 0}, "the cap must be at least 1"),
        (
            {"consent_max_age": timedelta(seconds=-1)},
            "the consent's maximum age cannot be negative",
        ),
        ({"qualifying_triggers": frozenset()}, "at least one trigger must qualify"),
        (
            {"qualifying_triggers": frozenset({Trigger.REFERRAL_CONVERTED})},
            "a conversion cannot qualify another conversion",
        ),
    ],
)
def test_a_policy_that_makes_no_sense_is_refused(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError) as refused:
        ReferralPolicy(**changes)  # type: ignore[arg-type]
    assert str(refused.value) == message


def test_the_shortest_window_and_cap_period_are_allowed() -> None:
    tiny = timedelta(microseconds=1)
    policy = ReferralPolicy(attribution_window=tiny, cap_period=tiny)
    assert (policy.attribution_window, policy.cap_period) == (tiny, tiny)


def test_a_policy_with_a_cap_of_one_and_no_consent_age_is_valid() -> None:
    strict = ReferralPolicy(cap=1, consent_max_age=timedelta(0))
    assert attribution.decide(
        strict, candidate(consent=Consent(ConsentMethod.VERBAL, AT)), History(), referral_id=NEW
    ) == Accepted(
        Referral(NEW, REFERRER, INES, PARTNER, Consent(ConsentMethod.VERBAL, AT), AT),
        AT + timedelta(days=30),
    )


def test_the_joining_credits_the_earliest_live_referral_whose_window_is_open() -> None:
    a = PriorReferral(uuid.UUID(int=11), AT)
    b = PriorReferral(uuid.UUID(int=12), AT + timedelta(days=1))  # raced past the duplicate check
    voided = PriorReferral(uuid.UUID(int=10), AT - timedelta(days=1), voided=True)
    assert attribution.attributed(POLICY, [b, voided, a], AT + timedelta(days=2)) == a.id
    # at the very end of a's window, b (one day younger) is the one still open
    assert attribution.attributed(POLICY, [a, b], AT + timedelta(days=30)) == b.id
    assert attribution.attributed(POLICY, [a, b], AT + timedelta(days=31)) is None
    assert attribution.attributed(POLICY, [], AT) is None


def test_two_referrals_registered_at_the_same_instant_credit_the_smaller_id() -> None:
    a = PriorReferral(uuid.UUID(int=12), AT)
    b = PriorReferral(uuid.UUID(int=11), AT)
    assert attribution.attributed(POLICY, [a, b], AT + timedelta(hours=1)) == b.id
