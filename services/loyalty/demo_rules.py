"""The demo programme's rule set: a realistic season for a cultural venue (no I/O)."""

from __future__ import annotations

from datetime import datetime
from typing import Any


def demo_rule_set_document(effective_at: datetime) -> dict[str, Any]:
    return {
        "effective_at": effective_at.isoformat(),
        "title_en": "Season rules",
        "title_fr": "Règles de la saison",
        "timezone": "Europe/Paris",
        "currency": "EUR",
        "expiry_months": 24,
        "tier_window_days": 365,
        "tier_grace_days": 90,
        "reduction_notice_days": 30,
        "rules": [
            {
                "key": "tickets",
                "title_en": "Tickets",
                "title_fr": "Billets",
                "trigger": "purchase",
                "conditions": {"categories": ["ticket"]},
                "award": {"kind": "per_unit", "points": 2, "per": "1", "rounding": "down"},
                "caps": {"per_day": 1000},
            },
            {
                "key": "subscription",
                "title_en": "Season subscription",
                "title_fr": "Abonnement de saison",
                "trigger": "subscription",
                "award": {"kind": "fixed", "points": 500},
            },
            {
                "key": "attendance",
                "title_en": "Coming to a show",
                "title_fr": "Venir à un spectacle",
                "trigger": "attendance",
                "award": {"kind": "fixed", "points": 20},
                "caps": {"per_day": 40},
            },
            {
                "key": "matinee",
                "title_en": "Weekday matinées",
                "title_fr": "Matinées en semaine",
                "trigger": "attendance",
                "conditions": {"weekdays": [0, 1, 2, 3, 4], "local_time_before": "17:00:00"},
                "award": {"kind": "fixed", "points": 30},
                "caps": {"per_month": 120},
            },
            {
                "key": "first-visit",
                "title_en": "First visit",
                "title_fr": "Première visite",
                "trigger": "attendance",
                "conditions": {"first_of_kind": True},
                "award": {"kind": "fixed", "points": 100},
            },
            {
                "key": "birthday",
                "title_en": "Birthday gift",
                "title_fr": "Cadeau d'anniversaire",
                "trigger": "birthday",
                "award": {"kind": "fixed", "points": 150},
                "counts_for_status": False,
            },
            {
                "key": "cafe",
                "title_en": "Café and shop",
                "title_fr": "Café et boutique",
                "trigger": "purchase",
                "conditions": {"categories": ["cafe", "shop"]},
                "award": {"kind": "per_unit", "points": 1, "per": "1", "rounding": "down"},
                "pending_days": 7,
                "counts_for_status": False,
            },
            {
                "key": "referral",
                "title_en": "Bring a friend",
                "title_fr": "Parrainer un proche",
                "trigger": "referral_converted",
                "award": {"kind": "fixed", "points": 250},
                "caps": {"per_month": 1000},
            },
            {
                "key": "gold-bonus",
                "title_en": "Gold bonus on tickets",
                "title_fr": "Bonus Or sur les billets",
                "trigger": "purchase",
                "conditions": {"categories": ["ticket"], "min_tier": "gold"},
                "award": {"kind": "multiplier", "factor": "1.5"},
                "exclusive_group": "tier-bonus",
            },
            {
                "key": "platinum-bonus",
                "title_en": "Platinum bonus on tickets",
                "title_fr": "Bonus Platine sur les billets",
                "trigger": "purchase",
                "conditions": {"categories": ["ticket"], "min_tier": "platinum"},
                "award": {"kind": "multiplier", "factor": "2"},
                "exclusive_group": "tier-bonus",
            },
        ],
        "tiers": [
            {
                "key": "silver",
                "name_en": "Silver",
                "name_fr": "Argent",
                "threshold": 500,
                "benefits_en": ["Priority booking for new productions"],
                "benefits_fr": ["Réservation prioritaire pour les nouvelles créations"],
            },
            {
                "key": "gold",
                "name_en": "Gold",
                "name_fr": "Or",
                "threshold": 1500,
                "benefits_en": [
                    "Half as many points again on tickets",
                    "Invitations to open rehearsals",
                ],
                "benefits_fr": [
                    "50 % de points en plus sur les billets",
                    "Invitations aux répétitions publiques",
                ],
            },
            {
                "key": "platinum",
                "name_en": "Platinum",
                "name_fr": "Platine",
                "threshold": 4000,
                "benefits_en": ["Double points on tickets", "Meet the artists after the show"],
                "benefits_fr": [
                    "Points doublés sur les billets",
                    "Rencontre avec les artistes après le spectacle",
                ],
            },
        ],
    }
