"""An issuance far larger than one statement may carry (PostgreSQL's protocol allows 32,767
parameters a statement): every invitation, suppression and outbox event written, in one
transaction, with the report's figures exact."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import text

from services.loyalty.experiences.queries import members as member_queries
from tests.integration.loyalty.experiences_support import Kit

INVITED = 3_500  # 11 values an invitation: about 38,500 parameters in one statement
SPARED = 3_100  # without consent: suppressed

_MEMBERS = """
    INSERT INTO loyalty.member_contacts (member_id, consents, invitation_cap, quiet_start,
                                         quiet_end, quiet_timezone, interests, as_of, event_id)
    SELECT gen_random_uuid(), CAST(:consents AS text[]), 4, '03:00', '03:00', 'Europe/Paris',
           '{}', now(), gen_random_uuid()
      FROM generate_series(1, :n)
    RETURNING member_id
"""

_BOOKINGS = """
    INSERT INTO loyalty.journal_entries (id, kind, source, external_id, member_id, points,
                                         occurred_at, actor, event, explanation, production_id)
    SELECT gen_random_uuid(), 'earn', 'bulk-issuance-test', gen_random_uuid()::text, m, 0,
           now() - interval '1 day', 'test', '{"trigger": "purchase"}', '{}', :production
      FROM unnest(CAST(:members AS uuid[])) AS m
"""


async def _members_who_booked(kit: Kit, production: str, n: int, consents: list[str]) -> list[str]:
    async with kit.loyalty.engine.begin() as conn:
        made = list(await conn.scalars(text(_MEMBERS), {"consents": consents, "n": n}))
        await conn.execute(text(_BOOKINGS), {"members": made, "production": production})
    return [str(m) for m in made]


async def _erase(kit: Kit, members: list[str]) -> None:
    """The members leave the programme so later issuances do not weigh them."""
    async with kit.loyalty.engine.begin() as conn:
        await conn.execute(
            text(
                "UPDATE loyalty.member_contacts SET erased = true, consents = '{}' "
                "WHERE member_id = ANY(CAST(:m AS uuid[]))"
            ),
            {"m": members},
        )


@pytest.fixture
def kit(loyalty: Any) -> Kit:
    return Kit(loyalty)


async def test_thousands_of_invitations_are_issued_at_once_with_exact_figures(kit: Kit) -> None:
    show = f"production-{uuid.uuid4().hex[:12]}"
    invited = await _members_who_booked(kit, show, INVITED, ["email"])
    spared = await _members_who_booked(kit, show, SPARED, [])
    try:
        made = await kit.create(
            production_id=show,
            seats=INVITED,
            eligibility={"conditions": [{"kind": "booked_production"}]},
        )
        async with kit.loyalty.engine.connect() as conn:
            candidates = len(await member_queries.candidates(conn))
        response = await kit.issue(made["id"], key="everyone", count=INVITED + SPARED)
        assert response.status_code == 201, response.text
        report = response.json()
        figures = ("candidates", "eligible", "issued", "held", "suppressed", "not_reached")
        assert {f: report[f] for f in figures} == {
            "candidates": candidates,
            "eligible": INVITED + SPARED,
            "issued": INVITED,
            "held": 0,
            "suppressed": SPARED,
            "not_reached": 0,
        }
        assert report["suppressed_by_reason"]["NO_CONSENT"] == SPARED
        assert sum(report["suppressed_by_reason"].values()) == SPARED
        assert sorted(i["member_id"] for i in report["invitations"]) == sorted(invited)
        assert sorted(s["member_id"] for s in report["spared"]) == sorted(spared)
        positions = [i["position"] for i in report["invitations"]]
        positions += [s["position"] for s in report["spared"]]
        assert sorted(positions) == list(range(1, INVITED + SPARED + 1))
        stored = await kit.loyalty.scalar(
            "SELECT count(*) || '/' || count(DISTINCT code) || '/' || count(DISTINCT member_id) "
            "FROM loyalty.invitations WHERE experience_id = :e",
            e=made["id"],
        )
        assert stored == f"{INVITED}/{INVITED}/{INVITED}"
        outbox = await kit.loyalty.scalar(
            "SELECT count(DISTINCT payload ->> 'invitation_id') FROM loyalty.outbox "
            "WHERE type = 'invitation.issued' AND payload ->> 'experience_id' = :e",
            e=made["id"],
        )
        assert outbox == INVITED
        suppressions = await kit.loyalty.scalar(
            "SELECT count(*) FROM loyalty.suppressions WHERE experience_id = :e", e=made["id"]
        )
        assert suppressions == SPARED
        again = await kit.issue(made["id"], key="everyone", count=INVITED + SPARED)
        assert again.status_code == 200 and again.json() == {**report, "created": False}
    finally:
        await _erase(kit, invited + spared)
