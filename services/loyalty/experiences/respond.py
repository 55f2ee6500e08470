"""The member's side: their invitations as they stand (why they were chosen, guests, the door
pass and its QR code), their answer to an offer, and their rating of an evening they came to."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.common.actor import Actor, ActorKind
from services.common.problems import Forbidden, InvalidInput, NotFound, Problem
from services.common.uow import UnitOfWork
from services.loyalty.contract import Locale, ProblemCode
from services.loyalty.experiences import (
    contract,
    door_codes,
    door_pass,
    figures,
    lifecycle,
    seating,
    signing,
    views,
)
from services.loyalty.experiences.contract import ExperienceProblem, ResponseAction
from services.loyalty.experiences.model import InvitationState
from services.loyalty.experiences.queries import invitations as queries
from services.loyalty.experiences.queries import members as member_queries
from services.loyalty.journal.entries import now_or
from services.loyalty.referrals import guests

Row = Any
State = InvitationState


def _require_member(actor: Actor, member_id: UUID) -> None:
    if actor.kind is ActorKind.MEMBER and actor.id == str(member_id):
        return
    if actor.kind in (ActorKind.ADMIN, ActorKind.SYSTEM):
        return
    raise Forbidden(ProblemCode.FORBIDDEN, "a member answers only their own invitations")


def _missing() -> NotFound:
    return NotFound(ExperienceProblem.INVITATION_NOT_FOUND, "no such invitation")


async def _view(
    engine: AsyncEngine,
    conn: AsyncConnection,
    rows: list[Row],
    locale: Locale,
    now: datetime,
) -> list[contract.MemberInvitation]:
    ids = [r.id for r in rows]
    experiences = await queries.experiences_by_id(conn, (r.experience_id for r in rows))
    guests = await queries.guests_of(conn, ids)
    places = await queries.waitlist_positions(conn, ids)
    key: signing.DoorKey | None = None  # opened for the first pass to sign
    out = []
    for row in rows:
        experience = experiences[row.experience_id]
        pure = views.model(experience)
        state = figures.standing(State(row.state), pure, now)
        door = None
        if state is State.ACCEPTED:
            key = key or await signing.door_key(engine)
            code = door_codes.DoorCode(row.code)
            claims = door_pass.door_pass(
                views.invitation(row), pure, code, issued_at=row.accepted_at
            )
            token = signing.sign(key, claims)
            door = contract.DoorPass(
                code=code.display(),
                token=token,
                qr_svg=signing.qr_svg(token),
                valid_from=claims.not_before,
                valid_until=claims.expires_at,
            )
        why = row.why
        out.append(
            contract.MemberInvitation(
                id=row.id,
                member_id=row.member_id,
                experience=views.summary(experience, locale),
                state=state,
                offered_at=row.offered_at,
                respond_by=experience.invitations_close_at,
                deliver_after=row.deliver_after,
                why_chosen=why[locale.value],
                why_chosen_en=why["en"],
                why_chosen_fr=why["fr"],
                guests=[
                    contract.Guest(name=g.name, email=g.email, phone=g.phone)
                    for g in guests[row.id]
                ],
                guest_seats=row.guests if state in (State.ACCEPTED, State.WAITLISTED) else 0,
                waitlist_position=places.get(row.id) if state is State.WAITLISTED else None,
                door=door,
                checked_in_at=row.checked_in_at,
                guests_checked_in=row.guests_checked_in,
                rating=row.rating,
                comment=row.comment,
            )
        )
    return out


async def member_invitations(
    engine: AsyncEngine,
    actor: Actor,
    member_id: UUID,
    *,
    locale: Locale = Locale.EN,
    now: datetime | None = None,
) -> list[contract.MemberInvitation]:
    """The member's invitations (those of members merged into them too), newest first, each as
    it stands now: an offer past the window reads expired, without waiting for the job."""
    _require_member(actor, member_id)
    now = now_or(now)
    async with engine.connect() as conn:
        rows = await queries.invitations_of(conn, await member_queries.member_ids(conn, member_id))
        return await _view(engine, conn, rows, locale, now)


_REFUSALS = {
    lifecycle.Refusal.WRONG_STATE: (409, "this invitation cannot be answered so any more"),
    lifecycle.Refusal.OFFER_CLOSED: (409, "the time to answer this invitation has passed"),
    lifecycle.Refusal.TOO_MANY_GUESTS: (422, "more guests than this experience allows"),
    lifecycle.Refusal.TOO_LATE: (409, "the experience has started"),
}


def _refused(refused: lifecycle.Refused, allowance: int) -> Problem:
    status, message = _REFUSALS[refused.code]
    details: dict[str, Any] = {"state": refused.state.value}
    if refused.code is lifecycle.Refusal.TOO_MANY_GUESTS:
        details["allowance"] = allowance
    return Problem(ExperienceProblem(refused.code.value), message, status=status, **details)


async def respond_to_invitation(
    engine: AsyncEngine,
    actor: Actor,
    invitation_id: UUID,
    body: contract.RespondToInvitation,
    *,
    locale: Locale = Locale.EN,
    now: datetime | None = None,
) -> contract.MemberInvitation:
    """Accept (seats for the party if they fit and nobody waits, else a place on the waitlist),
    decline, or cancel (seats released, the waitlist promoted in order), under the
    experience's row lock, so that seats taken never exceed seats."""
    _require_member(actor, body.member_id)
    if body.action is not ResponseAction.ACCEPT and body.guests:
        raise InvalidInput("guests come only with an acceptance")
    async with UnitOfWork(engine) as uow:
        conn = uow.conn
        found = await queries.invitation(conn, invitation_id)
        owners = await member_queries.member_ids(conn, body.member_id)
        if found is None or found.member_id not in owners:
            raise _missing()
        experience = await queries.experience(conn, found.experience_id, lock=True)
        assert experience is not None
        now = now_or(now)  # read under the lock: the waitlist's order is the order of the locks
        row = await queries.invitation(conn, invitation_id)
        assert row is not None
        if experience.cancelled_at is not None:
            raise Problem(ExperienceProblem.EXPERIENCE_CANCELLED, "this experience was cancelled")
        pure = views.model(experience)
        before = views.invitation(row)
        seats = lifecycle.Seats(experience.seats, experience.seats_taken, experience.waitlisted)
        if body.action is ResponseAction.ACCEPT:
            last = await queries.last_queued_at(conn, experience.id)
            if last is not None and last >= now:  # a clock that stood still or went back
                now = last + timedelta(microseconds=1)
            outcome = lifecycle.accept(before, pure, seats, guests=len(body.guests), at=now)
        elif body.action is ResponseAction.DECLINE:
            outcome = lifecycle.decline(before, pure, at=now)
        else:
            outcome = lifecycle.cancel(before, pure, at=now)
        if isinstance(outcome, lifecycle.Refused):
            raise _refused(outcome, experience.guest_allowance)
        await seating.apply(conn, experience, row, outcome)
        if body.action is ResponseAction.ACCEPT:
            await queries.replace_guests(
                conn, invitation_id, [(g.name, g.email, g.phone) for g in body.guests]
            )
        if outcome.taken < 0:
            fresh = await queries.experience(conn, experience.id)
            await seating.promote_waitlist(conn, fresh, at=now)
        after = await queries.invitation(conn, invitation_id)
        assert after is not None
        (answer,) = await _view(engine, conn, [after], locale, now)
        if answer.state is State.ACCEPTED and body.action is ResponseAction.ACCEPT:
            named = [(n, g.email, g.phone) for n, g in enumerate(body.guests)]
            await guests.keep(conn, invitation_id, after.member_id, now, named)
        await uow.commit()
    return answer


async def rate_experience(
    engine: AsyncEngine,
    actor: Actor,
    invitation_id: UUID,
    body: contract.RateExperience,
    *,
    now: datetime | None = None,
) -> contract.Rating:
    """A member who came rates the evening once, from 0 to 10, with an optional comment."""
    _require_member(actor, body.member_id)
    now = now_or(now)
    async with UnitOfWork(engine) as uow:
        conn = uow.conn
        row = await queries.invitation(conn, invitation_id, lock=True)
        if row is None or row.member_id not in await member_queries.member_ids(
            conn, body.member_id
        ):
            raise _missing()
        outcome = lifecycle.rate(views.invitation(row), score=body.score, at=now)
        if isinstance(outcome, lifecycle.Refused):
            if outcome.code is lifecycle.Refusal.ALREADY_RATED:
                raise Problem(ExperienceProblem.ALREADY_RATED, "this evening was already rated")
            raise Problem(ExperienceProblem.NOT_ATTENDED, "only members who came rate the evening")
        await queries.rate(conn, invitation_id, score=body.score, comment=body.comment, at=now)
        await uow.commit()
    return contract.Rating(
        invitation_id=invitation_id,
        experience_id=row.experience_id,
        score=body.score,
        comment=body.comment,
        rated_at=now,
    )
