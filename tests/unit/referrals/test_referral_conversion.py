"""Conversion by worked examples: a referral converts once whatever the order and repetition of
its events, expires at the very end of its window, and is voided (its reward taken back) when
the referee turns out to be the referrer."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from services.loyalty.referrals import conversion
from services.loyalty.referrals.conversion import (
    IdentifierLinked,
    MembersMerged,
    NotifyPartner,
    Progress,
    Qualification,
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
    FromMember,
    FromPartner,
    MemberChannel,
    Referee,
    Referral,
    ReferralPolicy,
)
from services.loyalty.referrals.payloads import WebhookEvent
from services.loyalty.rules.model import Trigger

T0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
REFERRER = uuid.UUID(int=1)
INES = uuid.UUID(int=7)  # the referee once she joins
INES_TWIN = uuid.UUID(int=8)  # a duplicate account of hers
REFERRER_TWIN = uuid.UUID(int=9)
PARTNER_ID = uuid.UUID(int=50)
REFERRAL_ID = uuid.UUID("0b7e9a52-5d2e-4b1c-9f0e-1a2b3c4d5e6f")
KEY = "referral:0b7e9a52-5d2e-4b1c-9f0e-1a2b3c4d5e6f"
POLICY = ReferralPolicy()
REFERRAL = Referral(
    id=REFERRAL_ID,
    referrer_id=REFERRER,
    referee=Referee(email="ines@example.org"),
    source=FromPartner(PARTNER_ID, "order-8812"),
    consent=Consent(ConsentMethod.ONLINE_FORM, T0),
    registered_at=T0,
)

JOINED = RefereeJoined(INES, T0 + timedelta(days=3))
PURCHASE = Qualified(INES, Trigger.PURCHASE, T0 + timedelta(days=5), "earn-1")


def run(
    *events: ReferralEvent, referral: Referral = REFERRAL
) -> tuple[Progress, tuple[object, ...]]:
    return conversion.fold(POLICY, conversion.start(referral), events)


def conversion_effects(at: datetime) -> tuple[object, ...]:
    return (
        RewardReferrer(REFERRAL_ID, REFERRER, at, f"{KEY}:referrer"),
        WelcomeReferee(REFERRAL_ID, INES, at, f"{KEY}:referee"),
        NotifyPartner(PARTNER_ID, REFERRAL_ID, WebhookEvent.CONVERTED, at),
    )


def test_a_new_referral_is_pending_with_its_referrer() -> None:
    assert conversion.start(REFERRAL) == Progress(REFERRAL, REFERRER, Status.PENDING)


def test_joining_then_a_first_purchase_converts_once_with_a_reward_a_welcome_and_a_notice() -> None:
    progress, effects = run(JOINED, PURCHASE)
    assert effects == conversion_effects(PURCHASE.at)
    assert progress == Progress(
        referral=REFERRAL,
        referrer_id=REFERRER,
        status=Status.CONVERTED,
        referee_id=INES,
        joined_at=JOINED.at,
        converted_at=PURCHASE.at,
        converted_by="earn-1",
        qualified={INES: Qualification(PURCHASE.at, "earn-1")},
    )


def test_joining_alone_waits_for_a_qualifying_event() -> None:
    progress, effects = run(JOINED)
    assert (progress.status, progress.referee_id, effects) == (Status.JOINED, INES, ())


def test_a_purchase_that_arrives_before_the_joining_converts_at_the_joining() -> None:
    early = Qualified(INES, Trigger.PURCHASE, JOINED.at - timedelta(minutes=1), "earn-0")
    progress, effects = run(early, JOINED)
    assert effects == conversion_effects(JOINED.at)
    assert (progress.status, progress.converted_at, progress.converted_by) == (
        Status.CONVERTED,
        JOINED.at,
        "earn-0",
    )


def test_the_same_events_delivered_twice_in_either_order_convert_once() -> None:
    orders: list[tuple[ReferralEvent, ...]] = [
        (JOINED, PURCHASE, JOINED, PURCHASE),
        (PURCHASE, PURCHASE, JOINED, JOINED),
        (PURCHASE, JOINED, PURCHASE, JOINED),
    ]
    for events in orders:
        progress, effects = run(*events)
        assert effects == conversion_effects(PURCHASE.at)
        assert progress == run(JOINED, PURCHASE)[0]


def test_replaying_every_event_after_the_fact_changes_nothing() -> None:
    events = (JOINED, PURCHASE, MembersMerged(REFERRER_TWIN, REFERRER, T0 + timedelta(days=9)))
    once = run(*events)
    progress, more = conversion.fold(POLICY, once[0], events)
    assert (progress, more) == (once[0], ())


def test_of_several_purchases_before_the_joining_the_earliest_converts() -> None:
    later = Qualified(INES, Trigger.PURCHASE, T0 + timedelta(hours=2), "earn-b")
    earlier = Qualified(INES, Trigger.PURCHASE, T0 + timedelta(hours=1), "earn-a")
    tie = Qualified(INES, Trigger.PURCHASE, T0 + timedelta(hours=1), "earn-0")
    progress, _ = run(tie, earlier, later, JOINED)
    assert progress.converted_by == "earn-0"
    assert progress.qualified == {INES: Qualification(T0 + timedelta(hours=1), "earn-0")}


def test_attendance_and_subscription_qualify_but_a_birthday_or_a_sign_up_does_not() -> None:
    for trigger in (Trigger.BIRTHDAY, Trigger.SIGNUP):
        progress, effects = run(JOINED, Qualified(INES, trigger, PURCHASE.at, "e"))
        assert (progress.status, effects) == (Status.JOINED, ())
    for trigger in (Trigger.ATTENDANCE, Trigger.SUBSCRIPTION):
        progress, effects = run(JOINED, Qualified(INES, trigger, PURCHASE.at, "e"))
        assert progress.status is Status.CONVERTED


def test_the_policy_says_which_events_qualify() -> None:
    attendance_only = ReferralPolicy(qualifying_triggers=frozenset({Trigger.ATTENDANCE}))
    progress, effects = conversion.fold(
        attendance_only, conversion.start(REFERRAL), (JOINED, PURCHASE)
    )
    assert (progress.status, effects) == (Status.JOINED, ())


def test_a_purchase_by_someone_else_does_not_convert() -> None:
    progress, effects = run(JOINED, Qualified(INES_TWIN, Trigger.PURCHASE, PURCHASE.at, "e"))
    assert (progress.status, effects) == (Status.JOINED, ())


def test_joining_one_microsecond_before_the_windows_end_counts_and_exactly_at_it_expires() -> None:
    end = T0 + timedelta(days=30)
    just_in = run(RefereeJoined(INES, end - timedelta(microseconds=1)))[0]
    assert just_in.status is Status.JOINED
    too_late, effects = run(PURCHASE, RefereeJoined(INES, end), PURCHASE)
    assert effects == ()
    # nothing is kept for a referral that can no longer convert
    assert too_late == Progress(REFERRAL, REFERRER, Status.EXPIRED)


def test_a_referral_never_joined_shows_as_expired_from_the_end_of_its_window() -> None:
    pending = conversion.start(REFERRAL)
    end = T0 + timedelta(days=30)
    assert (
        conversion.shown_status(POLICY, pending, end - timedelta(microseconds=1)) is Status.PENDING
    )
    assert conversion.shown_status(POLICY, pending, end) is Status.EXPIRED
    converted = run(JOINED, PURCHASE)[0]
    assert conversion.shown_status(POLICY, converted, end + timedelta(days=1)) is Status.CONVERTED


def test_a_member_brought_directly_converts_without_any_partner_notice() -> None:
    direct = Referral(
        REFERRAL_ID,
        REFERRER,
        Referee(phone="+33612345678"),
        FromMember(MemberChannel.GUEST, "invitation-4"),
        Consent(ConsentMethod.VERBAL, T0),
        T0,
    )
    _, effects = run(JOINED, PURCHASE, referral=direct)
    assert effects == conversion_effects(PURCHASE.at)[:2]


def test_merging_the_referee_into_the_referrer_after_the_conversion_voids_it_and_takes_back() -> (
    None
):
    merge = MembersMerged(REFERRER, INES, T0 + timedelta(days=20))
    progress, effects = run(JOINED, PURCHASE, merge)
    assert effects[3:] == (
        ReverseConversion(REFERRAL_ID, KEY, merge.at),
        NotifyPartner(PARTNER_ID, REFERRAL_ID, WebhookEvent.VOIDED, merge.at),
    )
    assert (progress.status, progress.voided_at, progress.referee_id) == (
        Status.VOIDED,
        merge.at,
        REFERRER,
    )


def test_merging_the_referrer_into_the_referee_voids_it_too() -> None:
    merge = MembersMerged(INES, REFERRER, T0 + timedelta(days=4))
    progress, effects = run(JOINED, merge, PURCHASE)
    assert effects == (NotifyPartner(PARTNER_ID, REFERRAL_ID, WebhookEvent.VOIDED, merge.at),)
    assert (progress.status, progress.referrer_id, progress.referee_id) == (
        Status.VOIDED,
        INES,
        INES,
    )


def test_a_merge_known_before_the_joining_voids_the_referral_when_the_referee_joins() -> None:
    merge = MembersMerged(REFERRER, INES, T0 + timedelta(days=1))
    progress, effects = run(merge, PURCHASE, JOINED)
    assert effects == (NotifyPartner(PARTNER_ID, REFERRAL_ID, WebhookEvent.VOIDED, JOINED.at),)
    assert progress.status is Status.VOIDED


def test_the_referees_email_linked_to_the_referrer_voids_a_pending_referral() -> None:
    link = IdentifierLinked(REFERRER, "email:ines@example.org", T0 + timedelta(days=1))
    progress, effects = run(PURCHASE, link, JOINED, PURCHASE)
    assert effects == (NotifyPartner(PARTNER_ID, REFERRAL_ID, WebhookEvent.VOIDED, link.at),)
    assert progress == Progress(
        REFERRAL, REFERRER, Status.VOIDED, voided_at=link.at, holders=frozenset({REFERRER})
    )


def test_the_referees_email_linked_to_the_referrers_absorbed_twin_voids_after_conversion() -> None:
    twin_merged = MembersMerged(REFERRER, REFERRER_TWIN, T0 + timedelta(days=6))
    link = IdentifierLinked(REFERRER_TWIN, "email:ines@example.org", T0 + timedelta(days=7))
    _, effects = run(JOINED, PURCHASE, twin_merged, link)
    assert effects[3:] == (
        ReverseConversion(REFERRAL_ID, KEY, link.at),
        NotifyPartner(PARTNER_ID, REFERRAL_ID, WebhookEvent.VOIDED, link.at),
    )


def test_links_of_other_identifiers_or_to_other_members_change_nothing() -> None:
    for link in [
        IdentifierLinked(REFERRER, "email:someone@example.org", PURCHASE.at),
        IdentifierLinked(REFERRER, "phone:+33612345678", PURCHASE.at),  # Ines gave no phone
    ]:
        assert run(JOINED, link, PURCHASE) == run(JOINED, PURCHASE)
    to_her_twin = IdentifierLinked(INES_TWIN, "email:ines@example.org", PURCHASE.at)
    progress, effects = run(JOINED, to_her_twin, PURCHASE)
    assert effects == conversion_effects(PURCHASE.at)
    assert progress.holders == {INES_TWIN}


def test_a_link_to_the_referrers_twin_voids_once_the_twin_is_merged_into_the_referrer() -> None:
    link = IdentifierLinked(REFERRER_TWIN, "email:ines@example.org", T0 + timedelta(days=4))
    merge = MembersMerged(REFERRER, REFERRER_TWIN, T0 + timedelta(days=8))
    progress, effects = run(JOINED, PURCHASE, link, merge)
    assert effects[3:] == (
        ReverseConversion(REFERRAL_ID, KEY, merge.at),
        NotifyPartner(PARTNER_ID, REFERRAL_ID, WebhookEvent.VOIDED, merge.at),
    )
    assert progress.status is Status.VOIDED
    # the referrer merged into the twin who holds her email: the same
    progress, _ = run(JOINED, link, MembersMerged(REFERRER_TWIN, REFERRER, merge.at), PURCHASE)
    assert (progress.status, progress.referrer_id) == (Status.VOIDED, REFERRER_TWIN)


def test_a_voided_referral_stays_voided_whatever_follows() -> None:
    voided, _ = run(IdentifierLinked(REFERRER, "email:ines@example.org", T0))
    progress, effects = conversion.fold(
        POLICY, voided, (JOINED, PURCHASE, IdentifierLinked(REFERRER, "email:ines@example.org", T0))
    )
    assert (progress, effects) == (voided, ())


def test_an_expired_referral_is_not_voided_later_since_it_gave_nothing() -> None:
    expired, _ = run(RefereeJoined(INES, T0 + timedelta(days=31)))
    progress, effects = conversion.fold(
        POLICY, expired, (MembersMerged(REFERRER, INES, T0 + timedelta(days=40)),)
    )
    assert (progress.status, effects) == (Status.EXPIRED, ())


def test_the_referrers_merge_with_their_own_duplicate_moves_the_reward_to_the_survivor() -> None:
    merge = MembersMerged(REFERRER_TWIN, REFERRER, T0 + timedelta(days=4))
    progress, effects = run(JOINED, merge, PURCHASE)
    assert effects[0] == RewardReferrer(REFERRAL_ID, REFERRER_TWIN, PURCHASE.at, f"{KEY}:referrer")
    assert (progress.status, progress.referrer_id) == (Status.CONVERTED, REFERRER_TWIN)


def test_a_purchase_on_the_referees_duplicate_account_converts_when_the_two_are_merged() -> None:
    twin_purchase = Qualified(INES_TWIN, Trigger.PURCHASE, T0 + timedelta(days=4), "earn-t")
    merge = MembersMerged(INES, INES_TWIN, T0 + timedelta(days=6))
    progress, effects = run(JOINED, twin_purchase, merge)
    assert effects == (
        RewardReferrer(REFERRAL_ID, REFERRER, twin_purchase.at, f"{KEY}:referrer"),
        WelcomeReferee(REFERRAL_ID, INES, twin_purchase.at, f"{KEY}:referee"),
        NotifyPartner(PARTNER_ID, REFERRAL_ID, WebhookEvent.CONVERTED, twin_purchase.at),
    )
    assert progress.merged_into == {INES_TWIN: INES}


def test_a_merge_delivered_twice_or_reversed_is_ignored() -> None:
    merge = MembersMerged(INES, INES_TWIN, T0 + timedelta(days=6))
    reversed_merge = MembersMerged(INES_TWIN, INES, T0 + timedelta(days=7))
    itself = MembersMerged(INES, INES, T0 + timedelta(days=7))
    progress, _ = run(JOINED, merge, merge, reversed_merge, itself)
    assert (progress.merged_into, progress.referee_id) == ({INES_TWIN: INES}, INES)


def test_the_referee_joining_as_the_referrer_is_voided_at_once() -> None:
    progress, effects = run(RefereeJoined(REFERRER, JOINED.at), PURCHASE)
    assert effects == (NotifyPartner(PARTNER_ID, REFERRAL_ID, WebhookEvent.VOIDED, JOINED.at),)
    assert progress.status is Status.VOIDED


def test_a_second_joining_under_another_id_does_not_replace_the_first() -> None:
    progress, _ = run(JOINED, RefereeJoined(INES_TWIN, JOINED.at + timedelta(hours=1)))
    assert (progress.referee_id, progress.joined_at) == (INES, JOINED.at)


def test_the_conversion_key_names_the_ledger_entries() -> None:
    assert conversion.conversion_key(REFERRAL_ID) == KEY
    assert [s.value for s in Status] == ["pending", "joined", "converted", "voided", "expired"]
