"""Referrals in plain words: every rejection and status in English and French, with the figures
of the policy in force, and the referral terms as members read them."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.loyalty.referrals import words
from services.loyalty.referrals.attribution import Rejection
from services.loyalty.referrals.conversion import Status
from services.loyalty.referrals.model import ReferralPolicy
from services.loyalty.rules.model import Locale, Trigger

POLICY = ReferralPolicy(
    attribution_window=timedelta(days=45),
    cap=12,
    cap_period=timedelta(days=28),
    consent_max_age=timedelta(days=180),
)


def test_every_rejection_reads_in_english_with_the_policys_figures() -> None:
    assert {r: words.rejection(r, POLICY, Locale.EN) for r in Rejection} == {
        Rejection.UNKNOWN_CODE: "No member has this referral code.",
        Rejection.NO_CONSENT: "The referee's consent must be stated: how and when it was given.",
        Rejection.CONSENT_IN_FUTURE: "The consent is dated after the registration.",
        Rejection.CONSENT_TOO_OLD: "The consent was given more than 180 days ago.",
        Rejection.SELF_REFERRAL: "A member cannot refer themselves.",
        Rejection.ALREADY_MEMBER: "This person is already a member.",
        Rejection.DUPLICATE_REFERRAL: "This person was already referred within 45 days.",
        Rejection.OVER_CAP: "This member has reached the limit of 12 referrals in 28 days.",
    }


def test_every_rejection_reads_in_french_with_the_policys_figures() -> None:
    assert {r: words.rejection(r, POLICY, Locale.FR) for r in Rejection} == {
        Rejection.UNKNOWN_CODE: "Aucun membre n'a ce code de parrainage.",
        Rejection.NO_CONSENT: "Le consentement de la personne parrainée doit être indiqué : comment et quand il a été donné.",
        Rejection.CONSENT_IN_FUTURE: "Le consentement est daté d'après l'enregistrement.",
        Rejection.CONSENT_TOO_OLD: "Le consentement a été donné il y a plus de 180 jours.",
        Rejection.SELF_REFERRAL: "Un membre ne peut pas se parrainer lui-même.",
        Rejection.ALREADY_MEMBER: "Cette personne est déjà membre.",
        Rejection.DUPLICATE_REFERRAL: "Cette personne a déjà été parrainée il y a moins de 45 jours.",
        Rejection.OVER_CAP: "Ce membre a atteint la limite de 12 parrainages en 28 jours.",
    }


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        (
            Locale.EN,
            [
                "Waiting for them to join.",
                "Joined; waiting for their first qualifying activity.",
                "Joined and took part: you were rewarded.",
                "Cancelled: the person brought in turned out to be yourself.",
                "Expired: they did not join within 45 days.",
            ],
        ),
        (
            Locale.FR,
            [
                "En attente de son adhésion.",
                "A adhéré ; en attente de sa première activité qualifiante.",
                "A adhéré et participé : vous avez été récompensé.",
                "Annulé : la personne parrainée s'est révélée être vous-même.",
                "Expiré : pas d'adhésion dans les 45 jours.",
            ],
        ),
    ],
)
def test_every_status_reads_as_the_referrer_sees_it(locale: Locale, expected: list[str]) -> None:
    assert [words.status(s, POLICY, locale) for s in Status] == expected


def test_the_referral_terms_read_from_the_policy_in_english() -> None:
    assert words.policy(POLICY, Locale.EN) == [
        "A referral counts when the person you brought joins within 45 days and then makes a purchase, attends a performance or event, or takes out a subscription.",
        "The first referral of a person within 45 days is the one that counts.",
        "At most 12 referrals per member in 28 days.",
        "The person referred must have agreed to be contacted, at most 180 days before.",
        "A referral of yourself, even found out later, is cancelled and its reward taken back.",
    ]


def test_the_referral_terms_read_from_the_policy_in_french() -> None:
    assert words.policy(POLICY, Locale.FR) == [
        "Un parrainage compte quand la personne parrainée adhère dans les 45 jours puis fait un achat, vient à un spectacle ou un événement, ou souscrit un abonnement.",
        "Le premier parrainage d'une personne dans les 45 jours est celui qui compte.",
        "Au plus 12 parrainages par membre en 28 jours.",
        "La personne parrainée doit avoir accepté d'être contactée, au plus 180 jours avant.",
        "Un parrainage de soi-même, même découvert plus tard, est annulé et sa récompense reprise.",
    ]


def test_one_or_two_qualifying_activities_read_without_a_list() -> None:
    one = ReferralPolicy(qualifying_triggers=frozenset({Trigger.ATTENDANCE}))
    assert words.policy(one, Locale.EN)[0] == (
        "A referral counts when the person you brought joins within 30 days and then attends a performance or event."
    )
    two = ReferralPolicy(qualifying_triggers=frozenset({Trigger.BIRTHDAY, Trigger.SIGNUP}))
    assert words.policy(two, Locale.FR)[0] == (
        "Un parrainage compte quand la personne parrainée adhère dans les 30 jours puis finalise son adhésion ou fête son anniversaire."
    )
