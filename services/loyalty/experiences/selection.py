"""The stated fair order in which eligible members are offered an experience (no I/O).

1. fewest exclusive invitations received over the last 365 days first (those least recognised
   lately come first);
2. then the higher tier first;
3. then a seeded draw: each member's number is the HMAC-SHA256 of their member id (its canonical
   text, as bytes) keyed with the issuance's seed (as UTF-8), in hexadecimal; smallest first.

The order depends only on the candidates and the seed, never on the order they are given in.
Publishing the seed with the report lets anyone repeat the draw; ``explain`` says all this in
English and French.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from services.loyalty.experiences.model import MemberHistory
from services.loyalty.rules.model import Locale, RuleSet

FAIRNESS_WINDOW = timedelta(days=365)


@dataclass(frozen=True, slots=True)
class Candidate:
    """An eligible member as the fair order sees them.

    ``recent_invitations``: exclusive invitations issued to them over the last 365 days.
    ``tier_rank``: their tier's position in the programme's ladder (0 the lowest, -1 none).
    """

    member_id: UUID
    recent_invitations: int
    tier_rank: int


@dataclass(frozen=True, slots=True)
class Placed:
    """A candidate at their place in the order (1 for the first), with the draw that broke ties."""

    position: int
    candidate: Candidate
    draw: str


def candidate(history: MemberHistory, rule_set: RuleSet, at: datetime) -> Candidate:
    """The member's figures for the order, at ``at``: invitations issued in
    ``(at - 365 days, at]`` or later, and the rank of their tier in ``rule_set``."""
    return Candidate(
        member_id=history.member_id,
        recent_invitations=history.invitations_after(at - FAIRNESS_WINDOW),
        tier_rank=rule_set.tier_rank(history.tier),
    )


def draw(seed: str, member_id: UUID) -> str:
    """The member's number in the seeded draw: 64 hexadecimal digits."""
    return hmac.new(seed.encode(), str(member_id).encode(), hashlib.sha256).hexdigest()


def fair_order(candidates: Iterable[Candidate], seed: str) -> tuple[Placed, ...]:
    """The candidates in the fair order. A member given twice is a mistake: ``ValueError``."""
    given = list(candidates)
    if len({c.member_id for c in given}) != len(given):
        raise ValueError("each member may be a candidate once")
    keyed = sorted(
        ((c.recent_invitations, -c.tier_rank, draw(seed, c.member_id), c.member_id), c)
        for c in given
    )
    return tuple(
        Placed(position=n, candidate=c, draw=key[2]) for n, (key, c) in enumerate(keyed, start=1)
    )


_EXPLANATION = {
    Locale.EN: (
        "Eligible members are offered seats in a stated fair order. First come those who "
        "received the fewest exclusive invitations over the last 365 days. Among them, the "
        "higher tier comes first. Remaining ties are settled by a draw: each member's number is "
        "the HMAC-SHA256 of their member id keyed with this issuance's seed, and the smallest "
        "number comes first. The seed is published with the report, so anyone can repeat the "
        "draw and find the same order."
    ),
    Locale.FR: (
        "Les places sont proposées aux membres éligibles dans un ordre équitable et annoncé. "
        "Passent d'abord ceux qui ont reçu le moins d'invitations exclusives au cours des 365 "
        "derniers jours. Parmi eux, le niveau le plus élevé passe en premier. Les égalités "
        "restantes sont départagées par un tirage : le numéro de chaque membre est le "
        "HMAC-SHA256 de son identifiant de membre, avec pour clé la graine de cette émission, "
        "et le plus petit numéro passe en premier. La graine est publiée avec le rapport : "
        "chacun peut refaire le tirage et retrouver le même ordre."
    ),
}


def explain(locale: Locale) -> str:
    """The fair order in plain words."""
    return _EXPLANATION[locale]
