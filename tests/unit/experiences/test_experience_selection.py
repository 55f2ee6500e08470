"""The fair order and the planning of one issuance, by worked examples. The draws are checked
against values computed independently (``printf <member id> | openssl dgst -sha256 -hmac <seed>``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest

from services.loyalty import rules
from services.loyalty.experiences import issuance, selection
from services.loyalty.experiences.guardrails import Decision, Hold, Issue, Suppressed, Suppression
from services.loyalty.experiences.model import (
    Channel,
    InvitationState,
    MemberHistory,
    PastInvitation,
)
from services.loyalty.experiences.selection import Candidate
from services.loyalty.rules import Locale

NOW = datetime(2026, 6, 10, 10, 0, tzinfo=UTC)
ONE, TWO, THREE, FOUR = (UUID(int=n) for n in (1, 2, 3, 4))
RULES = rules.parse_rule_set(
    {
        "version": 1,
        "effective_at": "2026-01-01T00:00:00+00:00",
        "rules": [],
        "tiers": [
            {"key": "silver", "name_en": "Silver", "name_fr": "Argent", "threshold": 500},
            {"key": "gold", "name_en": "Gold", "name_fr": "Or", "threshold": 1500},
        ],
    }
)


def order(candidates: list[Candidate], seed: str = "autumn-2026") -> list[UUID]:
    return [p.candidate.member_id for p in selection.fair_order(candidates, seed)]


def test_the_draw_is_the_hmac_sha256_of_the_member_id_keyed_with_the_seed() -> None:
    assert selection.draw("autumn-2026", ONE) == (
        "bd6091855ad1d5cd19655778e21fd9401eb1286a8abc563aa1b20e0a63f485e9"
    )
    assert selection.draw("tosca-gala", THREE) == (
        "328838a5c2af892cb0828e31fd9ec877f59a69c950279809ca6ddcf15e160b64"
    )


def test_fewest_recent_invitations_come_first_whatever_the_tier() -> None:
    candidates = [Candidate(ONE, 2, 1), Candidate(TWO, 0, -1), Candidate(THREE, 1, 1)]
    assert order(candidates) == [TWO, THREE, ONE]


def test_among_equals_in_invitations_the_higher_tier_comes_first() -> None:
    candidates = [Candidate(ONE, 1, -1), Candidate(TWO, 1, 1), Candidate(THREE, 1, 0)]
    assert order(candidates) == [TWO, THREE, ONE]


def test_remaining_ties_are_settled_by_the_seeded_draw_smallest_first() -> None:
    level = [Candidate(m, 0, 0) for m in (ONE, TWO, THREE, FOUR)]
    # autumn-2026 draws: 3 (2534...), 4 (4db5...), 2 (bb46...), 1 (bd60...)
    assert order(level, "autumn-2026") == [THREE, FOUR, TWO, ONE]
    # tosca-gala draws: 3 (3288...), 2 (75f2...), 4 (f07b...), 1 (f65a...)
    assert order(level, "tosca-gala") == [THREE, TWO, FOUR, ONE]


def test_places_are_numbered_from_one_and_show_the_draw() -> None:
    placed = selection.fair_order([Candidate(ONE, 0, 0), Candidate(TWO, 0, 0)], "autumn-2026")
    assert [(p.position, p.candidate.member_id, p.draw[:8]) for p in placed] == [
        (1, TWO, "bb46bae1"),
        (2, ONE, "bd609185"),
    ]


def test_a_member_given_twice_is_refused() -> None:
    with pytest.raises(ValueError, match=r"^each member may be a candidate once$"):
        selection.fair_order([Candidate(ONE, 0, 0), Candidate(ONE, 1, 0)], "s")


def test_no_candidate_gives_an_empty_order() -> None:
    assert selection.fair_order([], "s") == ()


def test_a_candidates_figures_come_from_the_last_365_days_and_the_ladder() -> None:
    ages = (timedelta(days=365), timedelta(days=364, hours=23), timedelta(days=1))
    history = MemberHistory(
        ONE,
        tier="gold",
        invitations=tuple(
            PastInvitation(UUID(int=9), NOW - age, InvitationState.DECLINED) for age in ages
        ),
    )
    assert selection.candidate(history, RULES, NOW) == Candidate(ONE, 2, 1)
    assert selection.candidate(MemberHistory(TWO), RULES, NOW) == Candidate(TWO, 0, -1)


def test_the_order_is_explained_in_english_and_french() -> None:
    en, fr = selection.explain(Locale.EN), selection.explain(Locale.FR)
    for phrase in (
        "fewest exclusive invitations over the last 365 days",
        "higher tier",
        "HMAC-SHA256",
        "seed",
    ):
        assert phrase in en
    for phrase in (
        "moins d'invitations exclusives au cours des 365",
        "niveau le plus élevé",
        "HMAC-SHA256",
        "graine",
    ):
        assert phrase in fr


# ---- planning an issuance --------------------------------------------------------------------

SPARED = Suppressed((Suppression.CAP_REACHED,))
DOUBLY_SPARED = Suppressed((Suppression.NO_CONSENT, Suppression.NO_INTEREST_MATCH))
LATER = Hold(Channel.EMAIL, NOW + timedelta(hours=9))
MEMBERS = [UUID(int=n) for n in range(1, 7)]
DECISIONS: dict[UUID, Decision] = {
    MEMBERS[0]: Issue(Channel.PUSH),
    MEMBERS[1]: SPARED,
    MEMBERS[2]: LATER,
    MEMBERS[3]: DOUBLY_SPARED,
    MEMBERS[4]: Issue(Channel.SMS),
    MEMBERS[5]: Issue(Channel.PUSH),
}


def plan(limit: int | None) -> tuple[issuance.Plan, list[UUID]]:
    asked: list[UUID] = []

    def decide(member_id: UUID) -> Decision:
        asked.append(member_id)
        return DECISIONS[member_id]

    return issuance.plan(MEMBERS, decide, limit), asked


def test_an_issuance_stops_once_the_limit_is_invited_and_asks_nobody_further() -> None:
    result, asked = plan(limit=3)
    assert result == issuance.Plan(
        invited=(
            (MEMBERS[0], Issue(Channel.PUSH)),
            (MEMBERS[2], LATER),
            (MEMBERS[4], Issue(Channel.SMS)),
        ),
        suppressed=((MEMBERS[1], SPARED), (MEMBERS[3], DOUBLY_SPARED)),
        not_reached=(MEMBERS[5],),
    )
    assert asked == MEMBERS[:5]


def test_without_a_limit_everyone_is_asked() -> None:
    result, asked = plan(limit=None)
    assert (len(result.invited), len(result.suppressed), result.not_reached) == (4, 2, ())
    assert asked == MEMBERS


def test_a_limit_of_zero_reaches_nobody() -> None:
    result, asked = plan(limit=0)
    assert result == issuance.Plan((), (), tuple(MEMBERS))
    assert asked == []


def test_a_negative_limit_is_refused() -> None:
    with pytest.raises(ValueError, match=r"^the limit cannot be negative$"):
        issuance.plan(MEMBERS, DECISIONS.__getitem__, -1)


def test_the_report_counts_by_first_reason_and_by_every_reason() -> None:
    report = issuance.report(plan(limit=3)[0])
    zeros = dict.fromkeys(Suppression, 0)
    assert (report.issued, report.held, report.suppressed, report.not_reached) == (3, 1, 2, 1)
    assert report.by_reason == {**zeros, Suppression.CAP_REACHED: 1, Suppression.NO_CONSENT: 1}
    assert report.by_any_reason == {
        **zeros,
        Suppression.CAP_REACHED: 1,
        Suppression.NO_CONSENT: 1,
        Suppression.NO_INTEREST_MATCH: 1,
    }
    assert list(report.by_reason) == list(Suppression)


def test_suppressions_for_the_same_reason_add_up() -> None:
    spared = issuance.plan(MEMBERS[:3], lambda member_id: SPARED)
    report = issuance.report(spared)
    assert (report.suppressed, report.by_reason[Suppression.CAP_REACHED]) == (3, 3)
    assert report.by_any_reason[Suppression.CAP_REACHED] == 3
