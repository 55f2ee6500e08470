"""The demo's exclusive evening: an open rehearsal at the first demo venue, starting a few hours
after the demo is first seeded (the door is open at once), its invitations issued within the
guardrails to the demo members, and the first member's acceptance with a guest. Seeded once:
a second run reads what the first one made."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.actor import SYSTEM, Actor, ActorKind
from services.loyalty.experiences import contract, issue, manage, respond
from services.loyalty.experiences.queries import invitations as queries
from services.loyalty.rulebook.book import RuleBook

EXPERIENCE_KEY = "demo-experience-1"
ISSUANCE_KEY = "demo-issuance-1"
GUEST = "Léa Moreau"
STARTS_IN = timedelta(hours=3)
TEXTS = contract.ExperienceTexts(
    title_en="Open rehearsal with the orchestra",
    title_fr="Répétition ouverte avec l'orchestre",
    description_en="Watch the orchestra rehearse the season's opening night, then meet the "
    "conductor.",
    description_fr="Assistez à la répétition de la soirée d'ouverture, puis rencontrez le chef.",
)


async def seed_demo_experience(
    engine: AsyncEngine, *, member_ids: list[UUID], venue_ids: list[UUID]
) -> dict[str, Any] | None:
    """The demo experience (created, invitations issued and the first member's acceptance on
    the first run only): its id, title, venue, start, how many were invited and who accepted."""
    if not venue_ids or not member_ids:
        return None
    async with engine.connect() as conn:
        row = await queries.experience_by_key(conn, EXPERIENCE_KEY)
    if row is None:
        row = await _seed(engine, member_ids, venue_ids[0])
    async with engine.connect() as conn:
        live = await queries.live_invitations(conn, row.id)
    return {
        "experienceId": str(row.id),
        "title": row.title_en,
        "venueId": str(row.venue_id),
        "startsAt": row.starts_at.isoformat(),
        "invitations": len(live),  # offered, waitlisted or accepted
        "acceptedMemberIds": [str(i.member_id) for i in live if i.state == "accepted"],
    }


async def _seed(engine: AsyncEngine, member_ids: list[UUID], venue_id: UUID) -> Any:
    book = RuleBook()
    now = datetime.now(UTC).replace(microsecond=0)
    starts_at = now + STARTS_IN
    body = contract.CreateExperience(
        key=EXPERIENCE_KEY,
        venue_id=venue_id,
        texts=TEXTS,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=2),
        seats=20,
        guest_allowance=1,
        invitations_open_at=now,
        invitations_close_at=starts_at,
        door_opens_minutes_before=int(STARTS_IN.total_seconds() // 60) + 60,
    )
    made, _ = await manage.create_experience(engine, book, SYSTEM, body, now=now)
    report = await issue.issue_invitations(
        engine, book, SYSTEM, made.id, contract.IssueInvitations(key=ISSUANCE_KEY), now=now
    )
    first = next((i for i in report.invitations if i.member_id == member_ids[0]), None)
    if first is not None:
        await respond.respond_to_invitation(
            engine,
            Actor(ActorKind.MEMBER, str(first.member_id)),
            first.invitation_id,
            contract.RespondToInvitation(
                member_id=first.member_id,
                action=contract.ResponseAction.ACCEPT,
                guests=[contract.GuestIn(name=GUEST)],
            ),
        )
    async with engine.connect() as conn:
        row = await queries.experience(conn, made.id)
    assert row is not None
    return row
