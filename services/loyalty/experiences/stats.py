"""The figures of experiences, per experience and per venue: admins read all of them, venue
staff those of their venues."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.actor import Actor
from services.common.problems import Forbidden
from services.loyalty.contract import Locale, ProblemCode
from services.loyalty.experiences import contract, figures, views
from services.loyalty.experiences.guardrails import Suppression
from services.loyalty.experiences.model import InvitationState
from services.loyalty.experiences.queries import figures as queries
from services.loyalty.experiences.queries import invitations as invitation_queries
from services.loyalty.journal.entries import now_or


def _figures(tally: figures.Tally) -> contract.Figures:
    pulse = tally.pulse
    return contract.Figures(
        invited=tally.invited,
        accepted=tally.accepted,
        declined=tally.declined,
        expired=tally.expired,
        cancelled=tally.cancelled,
        waitlisted=tally.waitlisted,
        checked_in=tally.checked_in,
        no_shows=tally.no_shows,
        guests=tally.guests,
        guests_checked_in=tally.guests_checked_in,
        suppressions=dict(tally.suppressions),
        ratings=pulse.responses,
        promoters=pulse.promoters,
        passives=pulse.passives,
        detractors=pulse.detractors,
        score=pulse.score,
    )


async def experience_figures(
    engine: AsyncEngine,
    actor: Actor,
    *,
    venue_id: UUID | None = None,
    locale: Locale = Locale.EN,
    now: datetime | None = None,
) -> contract.ExperienceFigures:
    """Invitations as they stand now (offers past the window count as expired, reservations
    past the door as no-shows), suppressions, ratings and the score."""
    now = now_or(now)
    venues = views.venues_of(actor)
    if venue_id is not None:
        if venues is not None and venue_id not in venues:
            raise Forbidden(ProblemCode.WRONG_VENUE, "you do not work for that venue")
        venues = {venue_id}
    async with engine.connect() as conn:
        rows = await invitation_queries.list_experiences(conn, venue_ids=venues, ending_after=None)
        ids = [r.id for r in rows]
        invitations = await queries.invitations_for(conn, ids) if ids else []
        spared = await queries.suppressions_for(conn, ids) if ids else {}
    standing: dict[UUID, list[figures.Standing]] = {i: [] for i in ids}
    models = {r.id: views.model(r) for r in rows}
    for i in invitations:
        standing[i.experience_id].append(
            figures.Standing(
                state=figures.standing(InvitationState(i.state), models[i.experience_id], now),
                ever_accepted=i.accepted_at is not None,
                guests=i.guests,
                guests_checked_in=i.guests_checked_in,
                rating=i.rating,
            )
        )
    per_experience = []
    per_venue: dict[UUID, tuple[int, figures.Tally]] = {}
    for r in sorted(rows, key=lambda r: (r.starts_at, r.id), reverse=True):
        counted = {Suppression(k): n for k, n in spared.get(r.id, {}).items()}
        tally = figures.tally(standing[r.id], counted)
        per_experience.append(
            contract.ExperienceFigureRow(
                experience_id=r.id,
                venue_id=r.venue_id,
                title=r.title_fr if locale is Locale.FR else r.title_en,
                starts_at=r.starts_at,
                figures=_figures(tally),
            )
        )
        n, total = per_venue.get(r.venue_id, (0, figures.Tally()))
        per_venue[r.venue_id] = (n + 1, total + tally)
    return contract.ExperienceFigures(
        venues=[
            contract.VenueFigureRow(venue_id=v, experiences=n, figures=_figures(t))
            for v, (n, t) in sorted(per_venue.items(), key=lambda item: str(item[0]))
        ],
        experiences=per_experience,
    )
