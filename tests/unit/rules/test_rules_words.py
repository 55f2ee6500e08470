"""What the published wording says, in full, in English and French: every condition, award and
cap, with numbers and plurals, for a table of rules; the reasons on award lines and reversals;
tiers and the programme's policies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from services.loyalty import rules
from services.loyalty.rules import Event, Locale, MemberContext, Trigger, words

NB = "\u00a0"  # before a currency symbol and the French colon-like signs
THIN = "\u202f"  # French thousands separator
MARCH = datetime(2026, 3, 10, 12, tzinfo=UTC)  # a Tuesday


def rule(key: str, trigger: str, award: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "key": key,
        "title_en": key.capitalize(),
        "title_fr": f"Règle {key}",
        "trigger": trigger,
        "award": award,
        **extra,
    }


def fixed(points: int) -> dict[str, Any]:
    return {"kind": "fixed", "points": points}


def per_unit(points: int, per: str, rounding: str) -> dict[str, Any]:
    return {"kind": "per_unit", "points": points, "per": per, "rounding": rounding}


def rule_set(*rule_list: dict[str, Any], **changes: Any) -> rules.RuleSet:
    return rules.parse_rule_set(
        {
            "version": 3,
            "effective_at": "2026-01-01T00:00:00+00:00",
            "tiers": [
                {"key": "silver", "name_en": "Silver", "name_fr": "Argent", "threshold": 1},
                {
                    "key": "gold",
                    "name_en": "Gold",
                    "name_fr": "Or",
                    "threshold": 1500,
                    "benefits_en": ["Priority booking", "A drink"],
                    "benefits_fr": ["Réservation prioritaire", "Une boisson"],
                },
            ],
            "rules": list(rule_list),
            **changes,
        }
    )


TABLE = rule_set(
    rule("zero", "signup", fixed(0)),
    rule("one", "birthday", fixed(1)),
    rule("many", "subscription", fixed(1234)),
    rule("down", "purchase", per_unit(1, "2.50", "down"), conditions={"categories": ["ticket"]}),
    rule(
        "half",
        "purchase",
        per_unit(3, "1", "half_up"),
        conditions={"categories": ["shop", "cafe"], "min_amount": "10", "max_amount": "1234.5"},
    ),
    rule("up", "referral_converted", per_unit(2, "1000", "up")),
    rule(
        "least",
        "purchase",
        fixed(1),
        conditions={"min_amount": "0.5", "categories": ["ticket"]},
    ),
    rule("most", "purchase", fixed(1), conditions={"max_amount": "99.99"}),
    rule(
        "double",
        "attendance",
        {"kind": "multiplier", "factor": "2"},
        conditions={"min_tier": "gold"},
    ),
    rule(
        "half-more",
        "attendance",
        {"kind": "multiplier", "factor": "1.5"},
        conditions={"venue_ids": ["v1"]},
    ),
    rule(
        "venues",
        "attendance",
        fixed(5),
        conditions={"venue_ids": ["v1", "v2"], "weekdays": [4]},
    ),
    rule(
        "days",
        "attendance",
        fixed(5),
        conditions={
            "weekdays": [6, 0, 2],
            "local_time_from": "14:00:00",
            "local_time_before": "17:30:00",
        },
    ),
    rule(
        "before",
        "attendance",
        fixed(5),
        conditions={"local_time_before": "12:00:00", "first_of_kind": True},
    ),
    rule(
        "after",
        "attendance",
        fixed(5),
        conditions={"local_time_from": "20:00:00", "valid_from": "2026-03-01T00:00:00+01:00"},
    ),
    rule(
        "window",
        "purchase",
        fixed(2),
        conditions={
            "valid_from": "2026-03-01T00:00:00+01:00",
            "valid_until": "2026-04-01T00:00:00+02:00",
        },
        caps={"per_day": 1},
    ),
    rule(
        "evening",
        "purchase",
        fixed(2),
        conditions={
            "valid_from": "2026-02-28T17:00:00+00:00",
            "valid_until": "2026-03-31T22:00:00+00:00",
        },
    ),
    rule(
        "capped",
        "purchase",
        fixed(2),
        conditions={"valid_until": "2026-04-01T00:00:00+02:00"},
        caps={"per_day": 2, "per_month": 1500},
        exclusive_group="offers",
        pending_days=1,
        counts_for_status=False,
    ),
    rule("month", "purchase", fixed(2), caps={"per_month": 1}, pending_days=2),
)

DESCRIPTIONS = [
    (
        "zero",
        "Zero: 0 points for joining the programme. Counts toward your tier.",
        "Règle zero : 0 point pour votre adhésion au programme. Compte pour votre niveau.",
    ),
    (
        "one",
        "One: 1 point on your birthday. Counts toward your tier.",
        "Règle one : 1 point pour votre anniversaire. Compte pour votre niveau.",
    ),
    (
        "many",
        "Many: 1,234 points for taking out a subscription. Counts toward your tier.",
        f"Règle many : 1{THIN}234 points pour la souscription d'un abonnement. "
        "Compte pour votre niveau.",
    ),
    (
        "down",
        "Down: 1 point for every €2.50 spent (rounded down) for a purchase in the category "
        "ticket. Counts toward your tier.",
        f"Règle down : 1 point par tranche de 2,50{NB}€ dépensée (arrondi à l'inférieur) pour un "
        "achat dans la catégorie ticket. Compte pour votre niveau.",
    ),
    (
        "half",
        "Half: 3 points for every €1 spent (rounded to the nearest point, halves up) for a "
        "purchase in the categories cafe and shop of at least €10 and at most €1,234.50. "
        "Counts toward your tier.",
        f"Règle half : 3 points par tranche de 1{NB}€ dépensée (arrondi au plus proche, les demis "
        "vers le haut) pour un achat dans les catégories cafe et shop d'au moins "
        f"10{NB}€ et d'au plus 1{THIN}234,50{NB}€. Compte pour votre niveau.",
    ),
    (
        "up",
        "Up: 2 points for every €1,000 spent (rounded up) when someone you referred joins and "
        "takes part. Counts toward your tier.",
        f"Règle up : 2 points par tranche de 1{THIN}000{NB}€ dépensée (arrondi au supérieur) "
        "quand une personne que vous avez parrainée adhère et participe. "
        "Compte pour votre niveau.",
    ),
    (
        "least",
        "Least: 1 point for a purchase in the category ticket of at least €0.50. "
        "Counts toward your tier.",
        f"Règle least : 1 point pour un achat dans la catégorie ticket d'au moins 0,50{NB}€. "
        "Compte pour votre niveau.",
    ),
    (
        "most",
        "Most: 1 point for a purchase of at most €99.99. Counts toward your tier.",
        f"Règle most : 1 point pour un achat d'au plus 99,99{NB}€. Compte pour votre niveau.",
    ),
    (
        "double",
        "Double: the points of the other rules for the same event multiplied by 2 (the extra "
        "points, rounded down) for attending a performance or event for members of the Gold "
        "tier and above. Counts toward your tier.",
        "Règle double : les points des autres règles pour le même événement multipliés par 2 "
        "(les points en plus, arrondis à l'inférieur) pour votre venue à un spectacle ou un "
        "événement pour les membres du niveau Or et au-delà. Compte pour votre niveau.",
    ),
    (
        "half-more",
        "Half-more: the points of the other rules for the same event multiplied by 1.5 (the "
        "extra points, rounded down) for attending a performance or event at the participating "
        "venue only. Counts toward your tier.",
        "Règle half-more : les points des autres règles pour le même événement multipliés par "
        "1,5 (les points en plus, arrondis à l'inférieur) pour votre venue à un spectacle ou un "
        "événement dans le lieu participant uniquement. Compte pour votre niveau.",
    ),
    (
        "venues",
        "Venues: 5 points for attending a performance or event at 2 participating venues only "
        "on Friday. Counts toward your tier.",
        "Règle venues : 5 points pour votre venue à un spectacle ou un événement dans les 2 "
        "lieux participants uniquement le vendredi. Compte pour votre niveau.",
    ),
    (
        "days",
        "Days: 5 points for attending a performance or event on Monday, Wednesday and Sunday "
        "starting between 14:00 and 17:30 local time. Counts toward your tier.",
        "Règle days : 5 points pour votre venue à un spectacle ou un événement le lundi, "
        "mercredi et dimanche commençant entre 14:00 et 17:30 (heure locale). "
        "Compte pour votre niveau.",
    ),
    (
        "before",
        "Before: 5 points for attending a performance or event starting before 12:00 local "
        "time the first time only. Counts toward your tier.",
        "Règle before : 5 points pour votre venue à un spectacle ou un événement commençant "
        "avant 12:00 (heure locale) la première fois seulement. Compte pour votre niveau.",
    ),
    (
        "after",
        "After: 5 points for attending a performance or event starting from 20:00 local time "
        "from 2026-03-01. Counts toward your tier.",
        "Règle after : 5 points pour votre venue à un spectacle ou un événement commençant à "
        "partir de 20:00 (heure locale) à partir du 01/03/2026. Compte pour votre niveau.",
    ),
    (
        "window",
        "Window: 2 points for a purchase from 2026-03-01 until 2026-04-01 (excluded). "
        "At most 1 point a day. Counts toward your tier.",
        "Règle window : 2 points pour un achat à partir du 01/03/2026 jusqu'au 01/04/2026 "
        "(exclu). Au plus 1 point par jour. Compte pour votre niveau.",
    ),
    (
        # bounds that are not midnight in Paris are given with their local time
        "evening",
        "Evening: 2 points for a purchase from 2026-02-28 18:00 until 2026-04-01 (excluded). "
        "Counts toward your tier.",
        "Règle evening : 2 points pour un achat à partir du 28/02/2026 à 18:00 jusqu'au "
        "01/04/2026 (exclu). Compte pour votre niveau.",
    ),
    (
        "capped",
        "Capped: 2 points for a purchase until 2026-04-01 (excluded). At most 2 points a day "
        "and 1,500 points a month. Does not add up with the other offers of the group "
        "“offers”: only the best one applies. The points can be used 1 day later. "
        "Does not count toward your tier.",
        "Règle capped : 2 points pour un achat jusqu'au 01/04/2026 (exclu). Au plus 2 points "
        f"par jour et 1{THIN}500 points par mois. Ne se cumule pas avec les autres offres du "
        "groupe « offers » : seule la meilleure s'applique. Les points sont utilisables 1 jour "
        "plus tard. Ne compte pas pour votre niveau.",
    ),
    (
        "month",
        "Month: 2 points for a purchase. At most 1 point a month. The points can be used "
        "2 days later. Counts toward your tier.",
        "Règle month : 2 points pour un achat. Au plus 1 point par mois. Les points sont "
        "utilisables 2 jours plus tard. Compte pour votre niveau.",
    ),
]


def test_the_table_covers_every_rule_once() -> None:
    assert [key for key, _, _ in DESCRIPTIONS] == [r.key for r in TABLE.rules]


@pytest.mark.parametrize(("key", "english", "french"), DESCRIPTIONS)
def test_each_rule_reads_in_full_in_english_and_french(key: str, english: str, french: str) -> None:
    described = TABLE.rule(key)
    assert described is not None
    assert rules.describe(described, Locale.EN, TABLE) == english
    assert rules.describe(described, Locale.FR, TABLE) == french


def test_tiers_read_with_their_threshold_and_benefits() -> None:
    silver, gold = TABLE.tiers
    assert rules.describe_tier(silver, Locale.EN) == "Silver: from 1 point of status."
    assert rules.describe_tier(silver, Locale.FR) == "Argent : à partir de 1 point de statut."
    assert rules.describe_tier(gold, Locale.EN) == (
        "Gold: from 1,500 points of status. Benefits: Priority booking; A drink."
    )
    assert rules.describe_tier(gold, Locale.FR) == (
        f"Or : à partir de 1{THIN}500 points de statut. "
        "Avantages : Réservation prioritaire ; Une boisson."
    )


def test_the_policies_say_expiry_tiers_pending_points_and_notice() -> None:
    assert rules.describe_policy(TABLE, Locale.EN) == [
        "Points expire 24 months after they were earned; the oldest points are always used first.",
        "Your tier follows the status points you earned over the last 365 days.",
        "If your status points fall below your tier's threshold, you keep your tier for 90 more "
        "days, then move to the tier your points support.",
        "Some points are pending for a few days before they can be used; each rule says how long.",
        "Any change that lowers what you earn is announced at least 30 days before it takes "
        "effect.",
    ]
    assert rules.describe_policy(TABLE, Locale.FR) == [
        "Les points expirent 24 mois après avoir été gagnés ; les plus anciens sont toujours "
        "utilisés en premier.",
        "Votre niveau suit les points de statut gagnés au cours des 365 derniers jours.",
        "Si vos points de statut passent sous le seuil de votre niveau, vous le gardez encore "
        "90 jours, puis passez au niveau que vos points permettent.",
        "Certains points sont en attente quelques jours avant d'être utilisables ; chaque règle "
        "en précise la durée.",
        "Tout changement qui réduit vos gains est annoncé au moins 30 jours avant d'entrer en "
        "vigueur.",
    ]


def test_a_programme_without_expiry_tiers_or_pending_points_says_so() -> None:
    plain = rules.parse_rule_set(
        {
            "version": 1,
            "effective_at": "2026-01-01T00:00:00+00:00",
            "expiry_months": None,
            "reduction_notice_days": 14,
            "tier_window_days": 180,
            "rules": [rule("one", "signup", fixed(1), counts_for_status=False)],
        }
    )
    assert rules.describe_policy(plain, Locale.EN) == [
        "Points never expire.",
        "Any change that lowers what you earn is announced at least 14 days before it takes "
        "effect.",
    ]
    assert rules.describe_policy(plain, Locale.FR) == [
        "Les points n'expirent jamais.",
        "Tout changement qui réduit vos gains est annoncé au moins 14 jours avant d'entrer en "
        "vigueur.",
    ]
    assert words.tier_policy(plain, "en") == words.tier_policy(plain, "fr") == []
    assert words.counts_toward(plain, "en") == "No rule earns status points."
    assert words.counts_toward(plain, "fr") == "Aucune règle ne donne de points de statut."


def test_what_counts_toward_the_tier_lists_the_rules_by_title() -> None:
    both = rule_set(
        rule("tickets", "purchase", fixed(1)),
        rule("cafe", "purchase", fixed(1), counts_for_status=False),
        rule("shows", "attendance", fixed(1)),
    )
    assert words.counts_toward(both, "en") == "Status points come from: Tickets, Shows."
    assert words.counts_toward(both, "fr") == (
        "Les points de statut viennent de : Règle tickets, Règle shows."
    )


@pytest.mark.parametrize(
    ("n", "english", "french"),
    [
        (0, "0 points", "0 point"),
        (1, "1 point", "1 point"),
        (2, "2 points", "2 points"),
        (-1, "-1 points", "-1 point"),
        (-2, "-2 points", "-2 points"),
        (1000, "1,000 points", f"1{THIN}000 points"),
        (1234567, "1,234,567 points", f"1{THIN}234{THIN}567 points"),
    ],
)
def test_points_follow_each_language_s_plural_rule(n: int, english: str, french: str) -> None:
    assert words.points(n, "en") == english
    assert words.points(n, "fr") == french


@pytest.mark.parametrize(
    ("value", "currency", "english", "french"),
    [
        (Decimal("45.9"), "EUR", "€45.90", f"45,90{NB}€"),
        (Decimal("1234.5"), "GBP", "£1,234.50", f"1{THIN}234,50{NB}£"),
        (Decimal("3"), "USD", "$3", f"3{NB}$"),
        (Decimal("12.50"), "CHF", "12.50 CHF", f"12,50{NB}CHF"),
        (Decimal("0.05"), "EUR", "€0.05", f"0,05{NB}€"),
    ],
)
def test_money_is_written_the_way_each_language_writes_it(
    value: Decimal, currency: str, english: str, french: str
) -> None:
    assert words.money(value, currency, "en") == english
    assert words.money(value, currency, "fr") == french


def test_factors_drop_trailing_zeros_and_use_each_language_s_decimal_mark() -> None:
    assert words.factor_text(Decimal("1.50"), "en") == "1.5"
    assert words.factor_text(Decimal("1.50"), "fr") == "1,5"
    assert words.factor_text(Decimal("2.0"), "fr") == "2"
    assert words.factor_text(Decimal("10"), "en") == "10"  # not 1E+1


@pytest.mark.parametrize("language", ["EN", "de", "", "fr-FR"])
def test_there_is_no_wording_in_any_other_language(language: str) -> None:
    with pytest.raises(ValueError, match=f"^no wording in {language!r}$"):
        words.points(1, language)
    with pytest.raises(ValueError, match=f"^no wording in {language!r}$"):
        words.describe(TABLE.rules[0], TABLE, language)


# ---- reasons on award lines and reversals ----------------------------------------------------

REASONS = rule_set(
    rule("tickets", "purchase", per_unit(2, "1", "down"), caps={"per_day": 100}),
    rule("bonus", "purchase", {"kind": "multiplier", "factor": "1.5"}),
    rule("welcome", "signup", fixed(50)),
    rule("shows", "attendance", fixed(1)),
)


def test_a_per_unit_line_and_a_multiplier_line_say_how_they_were_computed() -> None:
    award = rules.evaluate(
        REASONS, Event(Trigger.PURCHASE, MARCH, Decimal("45.90"), "EUR"), MemberContext()
    )
    tickets, bonus = award.lines
    assert (tickets.points, bonus.points) == (91, 45)
    assert (
        tickets.reason_en
        == "Tickets (rules v3): €45.90 at 2 points per €1, rounded down: 91 points"
    )
    assert tickets.reason_fr == (
        f"Règle tickets (règles v3) : 45,90{NB}€ à 2 points par tranche de 1{NB}€, "
        "arrondi à l'inférieur : 91 points"
    )
    assert bonus.reason_en == "Bonus (rules v3): 91 points multiplied by 1.5: 45 points"
    assert bonus.reason_fr == "Règle bonus (règles v3) : 91 points multipliés par 1,5 : 45 points"


def test_a_line_limited_by_its_cap_says_so() -> None:
    award = rules.evaluate(
        REASONS,
        Event(Trigger.PURCHASE, MARCH, Decimal("60"), "EUR"),
        MemberContext(awarded_today={"tickets": 99}),
    )
    tickets = award.lines[0]
    assert tickets.points == 1
    assert tickets.reason_en == (
        "Tickets (rules v3): €60 at 2 points per €1, rounded down: 1 point "
        "(limited by the rule's cap)"
    )
    assert tickets.reason_fr == (
        f"Règle tickets (règles v3) : 60{NB}€ à 2 points par tranche de 1{NB}€, arrondi à "
        "l'inférieur : 1 point (limité par le plafond de la règle)"
    )


def test_a_fixed_line_gives_its_trigger_as_its_reason() -> None:
    (line,) = rules.evaluate(REASONS, Event(Trigger.SIGNUP, MARCH), MemberContext()).lines
    assert line.reason_en == "Welcome (rules v3): for joining the programme: 50 points"
    assert line.reason_fr == (
        "Règle welcome (règles v3) : pour votre adhésion au programme : 50 points"
    )
    (one,) = rules.evaluate(REASONS, Event(Trigger.ATTENDANCE, MARCH), MemberContext()).lines
    assert one.reason_fr == (
        "Règle shows (règles v3) : pour votre venue à un spectacle ou un événement : 1 point"
    )


def test_a_reversal_quotes_the_line_it_takes_back_from() -> None:
    event = Event(Trigger.PURCHASE, MARCH, Decimal("45.90"), "EUR")
    original = rules.evaluate(REASONS, event, MemberContext())
    full = rules.reverse(REASONS, event, original, None)
    assert [line.reason_en for line in full.lines] == [
        "full refund: 91 points taken back from “Tickets (rules v3): €45.90 at 2 points per €1, "
        "rounded down: 91 points”",
        "full refund: 45 points taken back from “Bonus (rules v3): 91 points multiplied by 1.5: "
        "45 points”",
    ]
    assert full.lines[1].reason_fr == (
        "remboursement total : 45 points repris sur « Règle bonus (règles v3) : 91 points "
        "multipliés par 1,5 : 45 points »"
    )
    partial = rules.reverse(REASONS, event, original, Decimal("0.50"))
    assert [(line.rule_key, line.points) for line in partial.lines] == [("tickets", 1)]
    assert partial.lines[0].reason_en == (
        "partial refund: 1 point taken back from “Tickets (rules v3): €45.90 at 2 points per "
        "€1, rounded down: 91 points”"
    )
    assert partial.lines[0].reason_fr == (
        "remboursement partiel : 1 point repris sur « Règle tickets (règles v3) : "
        f"45,90{NB}€ à 2 points par tranche de 1{NB}€, arrondi à l'inférieur : 91 points »"
    )


def test_a_reversal_keeps_what_each_line_was_besides_its_points() -> None:
    pending = rule_set(
        rule("cafe", "purchase", per_unit(1, "1", "down"), pending_days=3, counts_for_status=False)
    )
    event = Event(Trigger.PURCHASE, MARCH, Decimal("10"), "EUR")
    original = rules.evaluate(pending, event, MemberContext())
    (back,) = rules.reverse(pending, event, original, None).lines
    assert (back.rule_key, back.rule_version, back.points) == ("cafe", 3, 10)
    assert back.pending_until == MARCH + timedelta(days=3)
    assert back.counts_for_status is False
