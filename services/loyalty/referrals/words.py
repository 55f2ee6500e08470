"""Referrals in plain English and French, generated from the same figures the code uses (pure)."""

from __future__ import annotations

from services.loyalty.referrals import ambassadors
from services.loyalty.referrals.ambassadors import Ambassador
from services.loyalty.referrals.attribution import Rejection
from services.loyalty.referrals.conversion import Status
from services.loyalty.referrals.model import ReferralPolicy
from services.loyalty.rules.model import Locale, Trigger
from services.loyalty.rules.words import points

_ACTIVITY = {
    Locale.EN: {
        Trigger.PURCHASE: "makes a purchase",
        Trigger.ATTENDANCE: "attends a performance or event",
        Trigger.SUBSCRIPTION: "takes out a subscription",
        Trigger.SIGNUP: "completes their sign-up",
        Trigger.BIRTHDAY: "celebrates a birthday",
    },
    Locale.FR: {
        Trigger.PURCHASE: "fait un achat",
        Trigger.ATTENDANCE: "vient à un spectacle ou un événement",
        Trigger.SUBSCRIPTION: "souscrit un abonnement",
        Trigger.SIGNUP: "finalise son adhésion",
        Trigger.BIRTHDAY: "fête son anniversaire",
    },
}
_ORDER = (
    Trigger.PURCHASE,
    Trigger.ATTENDANCE,
    Trigger.SUBSCRIPTION,
    Trigger.SIGNUP,
    Trigger.BIRTHDAY,
)


def rejection(reason: Rejection, policy: ReferralPolicy, locale: Locale) -> str:
    """Why a referral was refused, with the figures of the policy that refused it."""
    window, cap, period = (
        policy.attribution_window.days,
        policy.cap,
        policy.cap_period.days,
    )
    age = policy.consent_max_age.days
    en = {
        Rejection.UNKNOWN_CODE: "No member has this referral code.",
        Rejection.NO_CONSENT: "The referee's consent must be stated: how and when it was given.",
        Rejection.CONSENT_IN_FUTURE: "The consent is dated after the registration.",
        Rejection.CONSENT_TOO_OLD: f"The consent was given more than {age} days ago.",
        Rejection.SELF_REFERRAL: "A member cannot refer themselves.",
        Rejection.ALREADY_MEMBER: "This person is already a member.",
        Rejection.DUPLICATE_REFERRAL: f"This person was already referred within {window} days.",
        Rejection.OVER_CAP: f"This member has reached the limit of {cap} referrals in {period} days.",
    }
    fr = {
        Rejection.UNKNOWN_CODE: "Aucun membre n'a ce code de parrainage.",
        Rejection.NO_CONSENT: "Le consentement de la personne parrainée doit être indiqué : comment et quand il a été donné.",
        Rejection.CONSENT_IN_FUTURE: "Le consentement est daté d'après l'enregistrement.",
        Rejection.CONSENT_TOO_OLD: f"Le consentement a été donné il y a plus de {age} jours.",
        Rejection.SELF_REFERRAL: "Un membre ne peut pas se parrainer lui-même.",
        Rejection.ALREADY_MEMBER: "Cette personne est déjà membre.",
        Rejection.DUPLICATE_REFERRAL: f"Cette personne a déjà été parrainée il y a moins de {window} jours.",
        Rejection.OVER_CAP: f"Ce membre a atteint la limite de {cap} parrainages en {period} jours.",
    }
    return (en if locale is Locale.EN else fr)[reason]


def status(value: Status, policy: ReferralPolicy, locale: Locale) -> str:
    """A referral's state as its referrer reads it."""
    window = policy.attribution_window.days
    en = {
        Status.PENDING: "Waiting for them to join.",
        Status.JOINED: "Joined; waiting for their first qualifying activity.",
        Status.CONVERTED: "Joined and took part: you were rewarded.",
        Status.VOIDED: "Cancelled: the person brought in turned out to be yourself.",
        Status.EXPIRED: f"Expired: they did not join within {window} days.",
    }
    fr = {
        Status.PENDING: "En attente de son adhésion.",
        Status.JOINED: "A adhéré ; en attente de sa première activité qualifiante.",
        Status.CONVERTED: "A adhéré et participé : vous avez été récompensé.",
        Status.VOIDED: "Annulé : la personne parrainée s'est révélée être vous-même.",
        Status.EXPIRED: f"Expiré : pas d'adhésion dans les {window} jours.",
    }
    return (en if locale is Locale.EN else fr)[value]


def _either(items: list[str], locale: Locale) -> str:
    if len(items) == 1:
        return items[0]
    word = "or" if locale is Locale.EN else "ou"
    if len(items) == 2:
        return f"{items[0]} {word} {items[1]}"
    return ", ".join(items[:-1]) + f", {word} " + items[-1]  # the comma keeps long items apart


def policy(terms: ReferralPolicy, locale: Locale) -> list[str]:
    """The referral terms, one sentence each."""
    activities = _either(
        [_ACTIVITY[locale][t] for t in _ORDER if t in terms.qualifying_triggers], locale
    )
    window, cap, period = (
        terms.attribution_window.days,
        terms.cap,
        terms.cap_period.days,
    )
    age = terms.consent_max_age.days
    if locale is Locale.EN:
        return [
            f"A referral counts when the person you brought joins within {window} days and then {activities}.",
            f"The first referral of a person within {window} days is the one that counts.",
            f"At most {cap} referrals per member in {period} days.",
            f"The person referred must have agreed to be contacted, at most {age} days before.",
            "A referral of yourself, even found out later, is cancelled and its reward taken back.",
        ]
    return [
        f"Un parrainage compte quand la personne parrainée adhère dans les {window} jours puis {activities}.",
        f"Le premier parrainage d'une personne dans les {window} jours est celui qui compte.",
        f"Au plus {cap} parrainages par membre en {period} jours.",
        f"La personne parrainée doit avoir accepté d'être contactée, au plus {age} jours avant.",
        "Un parrainage de soi-même, même découvert plus tard, est annulé et sa récompense reprise.",
    ]


def score_rules(locale: Locale) -> str:
    """How the ambassadors' board is scored and ordered."""
    days = ambassadors.WINDOW.days
    s, a, r = ambassadors.STAYED, ambassadors.ATTENDED, ambassadors.RETURNED
    if locale is Locale.EN:
        return (
            f"Ambassadors are ranked by the people they brought in who joined over the last {days} days: "
            f"{points(s, 'en')} for each one still a member, {points(a, 'en')} for each one who attended "
            f"at least once, {points(r, 'en')} for each one who came back on two different days. "
            "Equal scores are ordered by those who came back, then attended, then stayed, "
            "then by fewer people brought in."
        )
    return (
        f"Les ambassadeurs sont classés selon les personnes parrainées ayant adhéré au cours des {days} derniers jours : "
        f"{points(s, 'fr')} pour chacune encore membre, {points(a, 'fr')} pour chacune venue au moins une fois, "
        f"{points(r, 'fr')} pour chacune revenue deux jours différents. "
        "À score égal, l'ordre suit les personnes revenues, puis venues, puis restées, "
        "puis le plus petit nombre de personnes parrainées."
    )


def ambassador(line: Ambassador, locale: Locale) -> str:
    """One ambassador's figures, e.g. ``12 points from 3 people brought in: 3 still members,
    2 attended, 1 came back (quality 40%).``"""
    n = line.referees
    lang = locale.value
    if locale is Locale.EN:
        people = "1 person" if n == 1 else f"{n} people"
        members = "still a member" if line.stayed == 1 else "still members"
        return (
            f"{points(line.score, lang)} from {people} brought in: {line.stayed} {members}, "
            f"{line.attended} attended, {line.returned} came back (quality {line.quality_percent}%)."
        )
    people = f"{n} personne{'s' if n > 1 else ''} parrainée{'s' if n > 1 else ''}"
    members = "encore membre" + ("s" if line.stayed > 1 else "")
    came = "venue" + ("s" if line.attended > 1 else "")
    back = "revenue" + ("s" if line.returned > 1 else "")
    return (
        f"{points(line.score, lang)} pour {people} : {line.stayed} {members}, "
        f"{line.attended} {came}, {line.returned} {back} (qualité {line.quality_percent}\u00a0%)."
    )
