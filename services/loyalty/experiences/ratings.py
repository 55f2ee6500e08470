"""The programme's pulse after an evening: promoters minus detractors (no I/O).

Ratings run from 0 to 10. Promoters rate 9 or 10, detractors 0 to 6, passives 7 or 8. The
score is the share of promoters minus the share of detractors, as a percentage from -100 to
100, computed in integers and given with one decimal, half away from zero (2 promoters and 1
detractor of 3 ratings: 33.3). No rating, no score.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

PROMOTERS = range(9, 11)
PASSIVES = range(7, 9)
DETRACTORS = range(0, 7)


def valid(score: object) -> bool:
    """A rating is a whole number from 0 to 10."""
    return isinstance(score, int) and not isinstance(score, bool) and 0 <= score <= 10


@dataclass(frozen=True, slots=True)
class Pulse:
    promoters: int
    passives: int
    detractors: int

    @property
    def responses(self) -> int:
        return self.promoters + self.passives + self.detractors

    @property
    def score(self) -> Decimal | None:
        """Promoters minus detractors, in percent of the responses, to one decimal."""
        if self.responses == 0:
            return None
        tenths, rest = divmod(abs(self.promoters - self.detractors) * 1000, self.responses)
        if 2 * rest >= self.responses:
            tenths += 1
        sign = -1 if self.detractors > self.promoters else 1
        return Decimal(sign * tenths).scaleb(-1)


def pulse(ratings: Iterable[int]) -> Pulse:
    """Count the ratings; anything but a whole number from 0 to 10 is a ``ValueError``."""
    promoters = passives = detractors = 0
    for rating in ratings:
        if not valid(rating):
            raise ValueError(f"a rating runs from 0 to 10, not {rating!r}")
        if rating in PROMOTERS:
            promoters += 1
        elif rating in PASSIVES:
            passives += 1
        else:
            detractors += 1
    return Pulse(promoters, passives, detractors)
