"""Plain English and French generated from a rule's structure, so that what is published can
never drift from what a rule does (no I/O)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

from services.loyalty.rules.model import (
    Fixed,
    Multiplier,
    PerUnit,
    Rounding,
    Rule,
    RuleSet,
    TierDef,
    Trigger,
)

WEEKDAYS = {
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "fr": ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"),
}
TRIGGERS = {
    "en": {
        Trigger.PURCHASE: "for a purchase",
        Trigger.ATTENDANCE: "for attending a performance or event",
        Trigger.SUBSCRIPTION: "for taking out a subscription",
        Trigger.SIGNUP: "for joining the programme",
        Trigger.BIRTHDAY: "on your birthday",
        Trigger.REFERRAL_CONVERTED: "when someone you referred joins and takes part",
    },
    "fr": {
        Trigger.PURCHASE: "pour un achat",
        Trigger.ATTENDANCE: "pour votre venue à un spectacle ou un événement",
        Trigger.SUBSCRIPTION: "pour la souscription d'un abonnement",
        Trigger.SIGNUP: "pour votre adhésion au programme",
        Trigger.BIRTHDAY: "pour votre anniversaire",
        Trigger.REFERRAL_CONVERTED: "quand une personne que vous avez parrainée adhère et participe",
    },
}
ROUNDING = {
    "en": {
        Rounding.DOWN: "rounded down",
        Rounding.HALF_UP: "rounded to the nearest point, halves up",
        Rounding.UP: "rounded up",
    },
    "fr": {
        Rounding.DOWN: "arrondi à l'inférieur",
        Rounding.HALF_UP: "arrondi au plus proche, les demis vers le haut",
        Rounding.UP: "arrondi au supérieur",
    },
}
SYMBOLS = {"EUR": "€", "GBP": "£", "USD": "$"}
LANGUAGES = ("en", "fr")


def english(lang: str) -> bool:
    """Whether to write in English; French is the only other language."""
    if lang not in LANGUAGES:
        raise ValueError(f"no wording in {lang!r}")
    return lang == "en"


def number(value: Decimal | int, lang: str) -> str:
    """``1234.5`` as ``1,234.50`` (en) or ``1 234,50`` (fr); whole numbers without decimals."""
    d = Decimal(value)
    text = f"{d:,.0f}" if d == d.to_integral_value() else f"{d:,.2f}"
    if not english(lang):
        text = text.replace(",", "\u202f").replace(".", ",")
    return text


def factor_text(factor: Decimal, lang: str) -> str:
    text = f"{factor.normalize():f}"
    return text if english(lang) else text.replace(".", ",")


def money(value: Decimal, currency: str, lang: str) -> str:
    symbol = SYMBOLS.get(currency, currency)
    if not english(lang):
        return f"{number(value, lang)}\u00a0{symbol}"
    return (
        f"{symbol}{number(value, lang)}" if len(symbol) == 1 else f"{number(value, lang)} {symbol}"
    )


def points(n: int, lang: str) -> str:
    # English: "0 points", "1 point"; French: "0 point", "1 point", "2 points"
    plural = n != 1 if english(lang) else abs(n) > 1
    return f"{number(n, lang)} point{'s' if plural else ''}"


def _clock(t: time) -> str:
    return t.strftime("%H:%M")


def _moment(d: datetime, zone: str, lang: str) -> str:
    """A date window's bound in the programme's time zone: the day alone when it falls at
    midnight there, with the time otherwise."""
    local = d.astimezone(ZoneInfo(zone))
    day = local.strftime("%Y-%m-%d") if english(lang) else local.strftime("%d/%m/%Y")
    if local.time() == time(0):
        return day
    return f"{day} {_clock(local.time())}" if english(lang) else f"{day} à {_clock(local.time())}"


def _join(items: Sequence[str], lang: str) -> str:
    *rest, last = items
    if not rest:
        return last
    return ", ".join(rest) + (" and " if english(lang) else " et ") + last


def award_phrase(rule: Rule, currency: str, lang: str) -> str:
    a = rule.award
    en = english(lang)
    if isinstance(a, Fixed):
        return points(a.points, lang)
    if isinstance(a, PerUnit):
        if en:
            return f"{points(a.points, lang)} for every {money(a.per, currency, lang)} spent ({ROUNDING[lang][a.rounding]})"
        return f"{points(a.points, lang)} par tranche de {money(a.per, currency, lang)} dépensée ({ROUNDING[lang][a.rounding]})"
    assert isinstance(a, Multiplier)
    factor = factor_text(a.factor, lang)
    if en:
        return f"the points of the other rules for the same event multiplied by {factor} (the extra points, rounded down)"
    return f"les points des autres règles pour le même événement multipliés par {factor} (les points en plus, arrondis à l'inférieur)"


def condition_phrases(rule: Rule, rule_set: RuleSet, lang: str) -> list[str]:
    c = rule.conditions
    en = english(lang)
    out: list[str] = []
    if c.categories:
        cats = _join(sorted(c.categories), lang)
        out.append(
            f"in the categor{'y' if len(c.categories) == 1 else 'ies'} {cats}"
            if en
            else f"dans {'la catégorie' if len(c.categories) == 1 else 'les catégories'} {cats}"
        )
    low = None if c.min_amount is None else money(c.min_amount, rule_set.currency, lang)
    high = None if c.max_amount is None else money(c.max_amount, rule_set.currency, lang)
    if low and high:
        out.append(
            f"of at least {low} and at most {high}"
            if en
            else f"d'au moins {low} et d'au plus {high}"
        )
    elif low:
        out.append(f"of at least {low}" if en else f"d'au moins {low}")
    elif high:
        out.append(f"of at most {high}" if en else f"d'au plus {high}")
    if c.venue_ids:
        n = len(c.venue_ids)
        out.append(
            ("at the participating venue only" if n == 1 else f"at {n} participating venues only")
            if en
            else f"dans {'le lieu participant' if n == 1 else f'les {n} lieux participants'} uniquement"
        )
    if c.min_tier:
        # the rule set refuses a rule whose minimum tier it does not define
        tier = next(t for t in rule_set.tiers if t.key == c.min_tier)
        name = tier.name_en if en else tier.name_fr
        out.append(
            f"for members of the {name} tier and above"
            if en
            else f"pour les membres du niveau {name} et au-delà"
        )
    if c.weekdays:
        days = _join([WEEKDAYS[lang][d] for d in sorted(c.weekdays)], lang)
        out.append(f"on {days}" if en else f"le {days}")
    if c.local_time_from and c.local_time_before:
        out.append(
            f"starting between {_clock(c.local_time_from)} and {_clock(c.local_time_before)} local time"
            if en
            else f"commençant entre {_clock(c.local_time_from)} et {_clock(c.local_time_before)} (heure locale)"
        )
    elif c.local_time_before:
        out.append(
            f"starting before {_clock(c.local_time_before)} local time"
            if en
            else f"commençant avant {_clock(c.local_time_before)} (heure locale)"
        )
    elif c.local_time_from:
        out.append(
            f"starting from {_clock(c.local_time_from)} local time"
            if en
            else f"commençant à partir de {_clock(c.local_time_from)} (heure locale)"
        )
    if c.first_of_kind:
        out.append("the first time only" if en else "la première fois seulement")
    if c.valid_from:
        out.append(
            f"from {_moment(c.valid_from, rule_set.timezone, lang)}"
            if en
            else f"à partir du {_moment(c.valid_from, rule_set.timezone, lang)}"
        )
    if c.valid_until:
        out.append(
            f"until {_moment(c.valid_until, rule_set.timezone, lang)} (excluded)"
            if en
            else f"jusqu'au {_moment(c.valid_until, rule_set.timezone, lang)} (exclu)"
        )
    return out


def describe(rule: Rule, rule_set: RuleSet, lang: str) -> str:
    en = english(lang)
    title = rule.title_en if en else rule.title_fr
    head = " ".join(
        [
            award_phrase(rule, rule_set.currency, lang),
            TRIGGERS[lang][rule.trigger],
            *condition_phrases(rule, rule_set, lang),
        ]
    )
    sentences = [f"{title}: {head}." if en else f"{title} : {head}."]
    caps = []
    if rule.caps.per_day:
        caps.append(
            f"{points(rule.caps.per_day, lang)} a day"
            if en
            else f"{points(rule.caps.per_day, lang)} par jour"
        )
    if rule.caps.per_month:
        caps.append(
            f"{points(rule.caps.per_month, lang)} a month"
            if en
            else f"{points(rule.caps.per_month, lang)} par mois"
        )
    if caps:
        sentences.append(f"At most {_join(caps, lang)}." if en else f"Au plus {_join(caps, lang)}.")
    if rule.exclusive_group:
        sentences.append(
            f"Does not add up with the other offers of the group “{rule.exclusive_group}”: only the best one applies."
            if en
            else f"Ne se cumule pas avec les autres offres du groupe « {rule.exclusive_group} » : seule la meilleure s'applique."
        )
    if rule.pending_days:
        d = rule.pending_days
        sentences.append(
            f"The points can be used {d} day{'s' if d > 1 else ''} later."
            if en
            else f"Les points sont utilisables {d} jour{'s' if d > 1 else ''} plus tard."
        )
    sentences.append(
        ("Counts toward your tier." if en else "Compte pour votre niveau.")
        if rule.counts_for_status
        else ("Does not count toward your tier." if en else "Ne compte pas pour votre niveau.")
    )
    return " ".join(sentences)


def reason(
    rule: Rule,
    rule_set: RuleSet,
    amount: Decimal | None,
    awarded: int,
    capped: bool,
    base: int | None,
    lang: str,
) -> str:
    """Why a line awards what it does, e.g. ``Tickets (rules v3): €45.90 at 1 point per €1,
    rounded down: 45 points``."""
    en = english(lang)
    title = rule.title_en if en else rule.title_fr
    head = f"{title} (rules v{rule_set.version})" if en else f"{title} (règles v{rule_set.version})"
    a = rule.award
    if isinstance(a, PerUnit) and amount is not None:
        how = (
            f"{money(amount, rule_set.currency, lang)} at {points(a.points, lang)} per {money(a.per, rule_set.currency, lang)}, {ROUNDING[lang][a.rounding]}"
            if en
            else f"{money(amount, rule_set.currency, lang)} à {points(a.points, lang)} par tranche de {money(a.per, rule_set.currency, lang)}, {ROUNDING[lang][a.rounding]}"
        )
    elif base is not None:  # only a multiplier's line has a base
        assert isinstance(a, Multiplier)  # pragma: no mutate
        how = (
            f"{points(base, lang)} multiplied by {factor_text(a.factor, lang)}"
            if en
            else f"{points(base, lang)} multipliés par {factor_text(a.factor, lang)}"
        )
    else:
        how = TRIGGERS[lang][rule.trigger]
    text = (
        f"{head}: {how}: {points(awarded, lang)}"
        if en
        else f"{head} : {how} : {points(awarded, lang)}"
    )
    if capped:
        text += " (limited by the rule's cap)" if en else " (limité par le plafond de la règle)"
    return text


def reversal_reason(original: str, back: int, full: bool, lang: str) -> str:
    """Why points are taken back, quoting ``original``, the reason of the line they came from."""
    if english(lang):
        what = "full refund" if full else "partial refund"
        return f"{what}: {points(back, lang)} taken back from “{original}”"
    what = "remboursement total" if full else "remboursement partiel"
    return f"{what} : {points(back, lang)} repris sur « {original} »"


def describe_tier(tier: TierDef, lang: str) -> str:
    en = english(lang)
    name = tier.name_en if en else tier.name_fr
    benefits = tier.benefits_en if en else tier.benefits_fr
    text = (
        f"{name}: from {points(tier.threshold, lang)} of status."
        if en
        else f"{name} : à partir de {points(tier.threshold, lang)} de statut."
    )
    if benefits:
        text += (
            (" Benefits: " if en else " Avantages : ")
            + ("; " if en else " ; ").join(benefits)
            + "."
        )
    return text


def tier_policy(rule_set: RuleSet, lang: str) -> list[str]:
    """How tiers are held: the window of status points and the grace period (none without tiers)."""
    if not rule_set.tiers:
        return []
    days, grace = rule_set.tier_window_days, rule_set.tier_grace_days
    if english(lang):
        return [
            f"Your tier follows the status points you earned over the last {days} days.",
            f"If your status points fall below your tier's threshold, you keep your tier for {grace} more days, then move to the tier your points support.",
        ]
    return [
        f"Votre niveau suit les points de statut gagnés au cours des {days} derniers jours.",
        f"Si vos points de statut passent sous le seuil de votre niveau, vous le gardez encore {grace} jours, puis passez au niveau que vos points permettent.",
    ]


def counts_toward(rule_set: RuleSet, lang: str) -> str:
    """Which rules earn status points, by title."""
    en = english(lang)
    titles = [r.title_en if en else r.title_fr for r in rule_set.rules if r.counts_for_status]
    if not titles:
        return (
            "No rule earns status points." if en else "Aucune règle ne donne de points de statut."
        )
    listed = ", ".join(titles)
    return (
        f"Status points come from: {listed}."
        if en
        else f"Les points de statut viennent de : {listed}."
    )


def describe_policy(rule_set: RuleSet, lang: str) -> list[str]:
    en = english(lang)
    out: list[str] = []
    if rule_set.expiry_months:
        m = rule_set.expiry_months
        out.append(
            f"Points expire {m} months after they were earned; the oldest points are always used first."
            if en
            else f"Les points expirent {m} mois après avoir été gagnés ; les plus anciens sont toujours utilisés en premier."
        )
    else:
        out.append("Points never expire." if en else "Les points n'expirent jamais.")
    out.extend(tier_policy(rule_set, lang))
    if any(r.pending_days for r in rule_set.rules):
        out.append(
            "Some points are pending for a few days before they can be used; each rule says how long."
            if en
            else "Certains points sont en attente quelques jours avant d'être utilisables ; chaque règle en précise la durée."
        )
    n = rule_set.reduction_notice_days
    out.append(
        f"Any change that lowers what you earn is announced at least {n} days before it takes effect."
        if en
        else f"Tout changement qui réduit vos gains est annoncé au moins {n} jours avant d'entrer en vigueur."
    )
    return out
