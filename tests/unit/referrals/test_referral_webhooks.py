"""Partner webhooks as plain data: what each message says (and does not), its signature checked
by independent verifiers, and when a failed delivery is tried again or given up."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from services.loyalty.referrals import backoff, payloads, signing
from services.loyalty.referrals.backoff import GiveUp, GiveUpReason, RetryAt, RetryPolicy
from services.loyalty.referrals.codes import ReferralCode
from services.loyalty.referrals.model import (
    Consent,
    ConsentMethod,
    FromMember,
    FromPartner,
    MemberChannel,
    Referee,
    Referral,
)
from services.loyalty.referrals.payloads import WebhookEvent, WebhookMessage

T0 = datetime(2026, 3, 3, 13, 30, 15, 999_999, tzinfo=UTC)
REFERRAL = Referral(
    id=uuid.UUID("0b7e9a52-5d2e-4b1c-9f0e-1a2b3c4d5e6f"),
    referrer_id=uuid.UUID(int=1),
    referee=Referee(email="ines@example.org", phone="+33612345678"),
    source=FromPartner(uuid.UUID(int=50), "order-8812"),
    consent=Consent(ConsentMethod.ONLINE_FORM, T0),
    registered_at=T0,
)
CODE = ReferralCode("K7QM4XRF")
SECRET = "whsec_" + base64.b64encode(bytes(range(32))).decode()
OLD_SECRET = "whsec_" + base64.b64encode(bytes(range(100, 132))).decode()


# Payloads -----------------------------------------------------------------------------------


def test_a_registration_message_says_only_what_the_partner_gave_and_the_status() -> None:
    message = payloads.message(WebhookEvent.REGISTERED, REFERRAL, CODE, T0)
    assert message == WebhookMessage(
        id="msg_0b7e9a525d2e4b1c9f0e1a2b3c4d5e6f_registered",
        type=WebhookEvent.REGISTERED,
        timestamp=T0,
        data={
            "referral_id": "0b7e9a52-5d2e-4b1c-9f0e-1a2b3c4d5e6f",
            "partner_reference": "order-8812",
            "referral_code": "K7QM-4XRF",
            "status": "pending",
            "registered_at": "2026-03-03T13:30:15Z",
        },
    )
    body = message.body().decode()
    for personal in ("ines", "+336", str(REFERRAL.referrer_id)):
        assert personal not in body


def test_the_body_is_compact_json_with_sorted_keys_in_the_standard_webhooks_shape() -> None:
    paris = ZoneInfo("Europe/Paris")
    at = datetime(2026, 3, 10, 9, 0, tzinfo=paris)
    message = payloads.message(WebhookEvent.CONVERTED, REFERRAL, CODE, at)
    assert message.body() == (
        b'{"data":{"converted_at":"2026-03-10T08:00:00Z","partner_reference":"order-8812",'
        b'"referral_code":"K7QM-4XRF","referral_id":"0b7e9a52-5d2e-4b1c-9f0e-1a2b3c4d5e6f",'
        b'"registered_at":"2026-03-03T13:30:15Z","status":"converted"},'
        b'"timestamp":"2026-03-10T08:00:00Z","type":"referral.converted"}'
    )
    assert message.id == "msg_0b7e9a525d2e4b1c9f0e1a2b3c4d5e6f_converted"


def test_the_body_keeps_a_partners_accented_reference_as_utf_8() -> None:
    accented = Referral(
        REFERRAL.id,
        REFERRAL.referrer_id,
        REFERRAL.referee,
        FromPartner(uuid.UUID(int=50), "réservation-été"),
        REFERRAL.consent,
        T0,
    )
    body = payloads.message(WebhookEvent.REGISTERED, accented, CODE, T0).body()
    assert '"partner_reference":"réservation-été"'.encode() in body


def test_a_void_message_states_when_and_why() -> None:
    at = T0 + timedelta(days=9)
    message = payloads.message(WebhookEvent.VOIDED, REFERRAL, CODE, at, void_reason="SELF_REFERRAL")
    assert (message.id, json.loads(message.body())["data"]) == (
        "msg_0b7e9a525d2e4b1c9f0e1a2b3c4d5e6f_voided",
        {
            "referral_id": "0b7e9a52-5d2e-4b1c-9f0e-1a2b3c4d5e6f",
            "partner_reference": "order-8812",
            "referral_code": "K7QM-4XRF",
            "status": "voided",
            "registered_at": "2026-03-03T13:30:15Z",
            "voided_at": "2026-03-12T13:30:15Z",
            "void_reason": "SELF_REFERRAL",
        },
    )


def test_a_void_without_a_reason_or_a_reason_without_a_void_is_refused() -> None:
    with pytest.raises(ValueError) as refused:
        payloads.message(WebhookEvent.VOIDED, REFERRAL, CODE, T0)
    assert str(refused.value) == "a void, and only a void, states its reason"
    with pytest.raises(ValueError) as refused:
        payloads.message(WebhookEvent.CONVERTED, REFERRAL, CODE, T0, void_reason="SELF_REFERRAL")
    assert str(refused.value) == "a void, and only a void, states its reason"


def test_a_referral_brought_by_a_member_has_no_webhook() -> None:
    direct = Referral(
        REFERRAL.id,
        REFERRAL.referrer_id,
        REFERRAL.referee,
        FromMember(MemberChannel.SIGNUP),
        REFERRAL.consent,
        T0,
    )
    with pytest.raises(ValueError) as refused:
        payloads.message(WebhookEvent.REGISTERED, direct, CODE, T0)
    assert str(refused.value) == "only a referral registered by a partner is told to a webhook"


def test_the_event_type_names_are_stable() -> None:
    assert [e.value for e in WebhookEvent] == [
        "referral.registered",
        "referral.converted",
        "referral.voided",
    ]


# Signing ------------------------------------------------------------------------------------


def test_a_signature_matches_the_published_standard_webhooks_example() -> None:
    headers = signing.sign(
        "msg_p5jXN8AQM9LWM0D4loKWxJek",
        b'{"test": 2432232314}',
        ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
        datetime.fromtimestamp(1614265330, UTC),
    )
    assert headers == {
        "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
        "webhook-timestamp": "1614265330",
        "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    }


def test_a_signature_is_an_hmac_of_id_timestamp_and_body_as_a_receiver_computes_it() -> None:
    message = payloads.message(WebhookEvent.REGISTERED, REFERRAL, CODE, T0)
    headers = signing.headers(message, [SECRET], T0)
    key = base64.b64decode(SECRET.removeprefix("whsec_"))
    signed = f"{message.id}.1772544615.".encode() + message.body()
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    assert headers == {
        "webhook-id": message.id,
        "webhook-timestamp": "1772544615",
        "webhook-signature": f"v1,{expected}",
    }


def test_a_time_in_another_zone_signs_the_same_instant() -> None:
    message = payloads.message(WebhookEvent.REGISTERED, REFERRAL, CODE, T0)
    paris = T0.astimezone(ZoneInfo("Europe/Paris"))
    assert signing.headers(message, [SECRET], paris) == signing.headers(message, [SECRET], T0)


def test_the_standard_webhooks_verifier_accepts_a_fresh_message_and_refuses_a_tampered_one() -> (
    None
):
    now = datetime.now(UTC)
    message = payloads.message(WebhookEvent.CONVERTED, REFERRAL, CODE, now)
    headers = signing.headers(message, [SECRET], now)
    assert Webhook(SECRET).verify(message.body(), headers) == message.payload()
    tampered = message.body().replace(b"converted", b"cancelled")
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify(tampered, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(OLD_SECRET).verify(message.body(), headers)


def test_during_a_rotation_either_secret_verifies_the_message() -> None:
    now = datetime.now(UTC)
    message = payloads.message(WebhookEvent.CONVERTED, REFERRAL, CODE, now)
    headers = signing.headers(message, [SECRET, OLD_SECRET], now)
    assert len(headers["webhook-signature"].split(" ")) == 2
    for secret in (SECRET, OLD_SECRET):
        assert Webhook(secret).verify(message.body(), headers) == message.payload()


def test_a_message_needs_a_secret() -> None:
    message = payloads.message(WebhookEvent.REGISTERED, REFERRAL, CODE, T0)
    with pytest.raises(ValueError) as refused:
        signing.headers(message, [], T0)
    assert str(refused.value) == "a message is signed with at least one secret"


def test_a_new_secret_is_the_prefix_and_base64_of_24_to_64_random_bytes() -> None:
    assert signing.new_secret(bytes(24)) == "whsec_" + "A" * 32
    assert signing.new_secret(bytes(64)).startswith("whsec_AAAA")
    for size in (23, 65):
        with pytest.raises(ValueError) as refused:
            signing.new_secret(bytes(size))
        assert str(refused.value) == "a secret has 24 to 64 random bytes"


# Retries ------------------------------------------------------------------------------------

POLICY = RetryPolicy()


def test_the_default_retry_policy_is_stated() -> None:
    assert RetryPolicy() == RetryPolicy(
        first_delay=timedelta(seconds=30),
        factor=2,
        max_delay=timedelta(hours=4),
        give_up_after=timedelta(hours=24),
        max_attempts=20,
    )


def test_the_ceiling_doubles_from_30_seconds_up_to_4_hours() -> None:
    ceilings = [backoff.ceiling(POLICY, n) for n in range(1, 12)]
    assert [int(c.total_seconds()) for c in ceilings] == [
        30,
        60,
        120,
        240,
        480,
        960,
        1920,
        3840,
        7680,
        14400,  # 15,360 s capped at 4 hours
        14400,
    ]
    assert backoff.ceiling(POLICY, 1000) == timedelta(hours=4)


def test_a_ceiling_follows_at_least_one_failure() -> None:
    with pytest.raises(ValueError) as refused:
        backoff.ceiling(POLICY, 0)
    assert str(refused.value) == "a wait follows at least one failed attempt"


def test_full_jitter_draws_the_wait_between_zero_and_the_ceiling() -> None:
    assert backoff.wait(POLICY, 3, lambda: 0.0) == timedelta(0)
    assert backoff.wait(POLICY, 3, lambda: 0.5) == timedelta(seconds=60)
    assert backoff.wait(POLICY, 3, lambda: 0.999_999_999) == timedelta(
        seconds=119, microseconds=999_999
    )


@pytest.mark.parametrize("draw", [1.0, -0.1, float("nan")])
def test_a_random_source_outside_zero_to_one_is_refused(draw: float) -> None:
    with pytest.raises(ValueError) as refused:
        backoff.wait(POLICY, 1, lambda: draw)
    assert str(refused.value) == f"the random source must give a float in [0, 1), gave {draw!r}"


def test_after_a_failure_the_next_try_is_now_plus_the_drawn_wait() -> None:
    now = T0 + timedelta(minutes=5)
    decision = backoff.after_failure(
        POLICY, first_attempt_at=T0, failures=4, now=now, random=lambda: 0.25
    )
    assert decision == RetryAt(now + timedelta(seconds=60))


def test_a_wait_that_would_pass_the_deadline_is_cut_to_a_last_try_at_the_deadline() -> None:
    now = T0 + timedelta(hours=23, minutes=59)
    decision = backoff.after_failure(
        POLICY, first_attempt_at=T0, failures=12, now=now, random=lambda: 0.9
    )
    assert decision == RetryAt(T0 + timedelta(hours=24))


def test_a_failure_at_the_deadline_gives_up_and_one_just_before_does_not() -> None:
    deadline = T0 + timedelta(hours=24)
    assert backoff.deadline(POLICY, T0) == deadline
    at_deadline = backoff.after_failure(
        POLICY, first_attempt_at=T0, failures=13, now=deadline, random=random.random
    )
    assert at_deadline == GiveUp(GiveUpReason.DEADLINE)
    before = backoff.after_failure(
        POLICY,
        first_attempt_at=T0,
        failures=13,
        now=deadline - timedelta(microseconds=1),
        random=lambda: 0.0,
    )
    assert before == RetryAt(deadline - timedelta(microseconds=1))


def test_the_twentieth_failure_gives_up_and_the_nineteenth_tries_again() -> None:
    assert backoff.after_failure(
        POLICY, first_attempt_at=T0, failures=20, now=T0, random=lambda: 0.0
    ) == GiveUp(GiveUpReason.ATTEMPTS)
    assert backoff.after_failure(
        POLICY, first_attempt_at=T0, failures=19, now=T0, random=lambda: 0.0
    ) == RetryAt(T0)
    assert [r.value for r in GiveUpReason] == ["ATTEMPTS_EXHAUSTED", "DEADLINE_PASSED"]


FIRST = "the first delay must be positive and at most the maximum delay"
ATTEMPTS = "max_attempts must be between 1 and 1000"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"first_delay": timedelta(0)}, FIRST),
        ({"first_delay": timedelta(hours=5)}, FIRST),
        ({"factor": 0}, "the factor must be at least 1"),
        ({"give_up_after": timedelta(0)}, "give_up_after must be positive"),
        ({"max_attempts": 0}, ATTEMPTS),
        ({"max_attempts": 1001}, ATTEMPTS),
    ],
)
def test_a_retry_policy_that_makes_no_sense_is_refused(
    changes: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError) as refused:
        RetryPolicy(**changes)  # type: ignore[arg-type]
    assert str(refused.value) == message


def test_the_limits_of_a_retry_policy_are_allowed() -> None:
    edge = RetryPolicy(
        first_delay=timedelta(hours=4),
        factor=1,
        give_up_after=timedelta(seconds=1),
        max_attempts=1000,
    )
    assert backoff.ceiling(edge, 999) == timedelta(hours=4)
    assert RetryPolicy(max_attempts=1).max_attempts == 1
