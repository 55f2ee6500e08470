"""Issuing invitations: the eligible members in the stated fair order, each asked to the
guardrails, up to the number asked; the invitations, the suppressions, the report and an outbox
event per invitation written in one transaction, once per issuance key."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime, time, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.common.actor import Actor
from services.common.problems import NotFound, Problem
from services.common.uow import UnitOfWork
from services.loyalty import rules, tiers
from services.loyalty.contract import Locale
from services.loyalty.experiences import (
    contacts,
    contract,
    door_codes,
    eligibility,
    guardrails,
    issuance,
    selection,
    views,
)
from services.loyalty.experiences.contract import ExperienceProblem
from services.loyalty.experiences.model import (
    InvitationState,
    MemberHistory,
    PastInvitation,
    Performance,
)
from services.loyalty.experiences.queries import invitations as invitation_queries
from services.loyalty.experiences.queries import issuances as queries
from services.loyalty.experiences.queries import members as member_queries
from services.loyalty.experiences.quiet_hours import QuietHours
from services.loyalty.journal.entries import now_or, request_hash
from services.loyalty.rulebook.book import RuleBook

Row = Any
PROGRAMME_QUIET_HOURS = (time(21, 0), time(9, 0))
BOOKING_TRIGGERS = frozenset({"purchase", "subscription"})


def programme_settings(rule_set: rules.RuleSet) -> guardrails.ProgrammeSettings:
    """The programme's side of the guardrails: at most 4 invitations per member per 30 days,
    quiet from 21:00 to 09:00 in the programme's time zone for members who set no hours."""
    start, end = PROGRAMME_QUIET_HOURS
    return guardrails.ProgrammeSettings(quiet_hours=QuietHours(start, end, rule_set.timezone))


async def histories(
    conn: AsyncConnection, rule_set: rules.RuleSet, member_ids: list[UUID], at: datetime
) -> dict[UUID, MemberHistory]:
    """What the programme remembers of each member, at ``at``."""
    horizon = timedelta(days=rule_set.tier_window_days + rule_set.tier_grace_days)
    status = await member_queries.status_entries(conn, at - horizon, at)
    performed = await member_queries.performances(conn, at)
    invited = await member_queries.invitation_history(conn)
    found = {}
    for member_id in member_ids:
        entries = [tiers.StatusEntry(a, p) for a, p in status.get(member_id, [])]
        tier = tiers.current_tier(rule_set, entries, at) if rule_set.tiers else None
        done = performed.get(member_id, [])
        found[member_id] = MemberHistory(
            member_id=member_id,
            tier=tier.key if tier else None,
            bookings=tuple(Performance(a, p) for t, p, a in done if t in BOOKING_TRIGGERS),
            attendances=tuple(Performance(a, p) for t, p, a in done if t == "attendance"),
            invitations=tuple(
                PastInvitation(e, a, InvitationState(s)) for e, a, s in invited.get(member_id, [])
            ),
        )
    return found


def _preferences(row: Row | None) -> guardrails.ContactPreferences:
    if row is None:
        return guardrails.ContactPreferences()
    quiet = (row.quiet_start, row.quiet_end, row.quiet_timezone) if row.quiet_start else None
    return contacts.preferences(row.consents, row.invitation_cap, quiet, row.interests)


def report(row: Row, locale: Locale, *, created: bool = False) -> contract.IssuanceReport:
    stored: Mapping[str, Any] = row.report
    return contract.IssuanceReport(
        id=row.id,
        experience_id=row.experience_id,
        key=row.key,
        issued_at=row.issued_at,
        issued_by=row.issued_by,
        seed=row.seed,
        order=selection.explain(views.lang(locale)),
        created=created,
        **stored,
    )


def _fingerprint(experience_id: UUID, body: contract.IssueInvitations) -> str:
    return request_hash({"experience_id": str(experience_id), **body.model_dump(mode="json")})


async def issue_invitations(
    engine: AsyncEngine,
    book: RuleBook,
    actor: Actor,
    experience_id: UUID,
    body: contract.IssueInvitations,
    *,
    locale: Locale = Locale.EN,
    now: datetime | None = None,
) -> contract.IssuanceReport:
    """Invite up to ``count`` (default: the seats) eligible members in the fair order, within
    the guardrails, once per key; the report, stored and readable later."""
    now = now_or(now)
    fingerprint = _fingerprint(experience_id, body)
    async with UnitOfWork(engine) as uow:
        conn = uow.conn
        experience = await invitation_queries.experience(conn, experience_id, lock=True)
        if experience is None:
            raise views.missing_experience()
        views.require_venue(actor, experience.venue_id)
        done = await queries.issuance_by_key(conn, experience_id, body.key)
        if done is not None:
            if done.request_hash != fingerprint:
                raise Problem(
                    ExperienceProblem.ISSUANCE_KEY_REUSED,
                    "this issuance key was already used for a different request",
                    issuance_id=str(done.id),
                )
            return report(done, locale)
        if experience.cancelled_at is not None:
            raise Problem(ExperienceProblem.EXPERIENCE_CANCELLED, "this experience was cancelled")
        if now < experience.invitations_open_at:
            raise Problem(
                ExperienceProblem.INVITATIONS_NOT_OPEN,
                "invitations to this experience are not open yet",
                opens_at=experience.invitations_open_at.isoformat(),
            )
        if now >= experience.invitations_close_at:
            raise Problem(
                ExperienceProblem.INVITATIONS_CLOSED, "invitations to this experience have closed"
            )
        issuance_id = uuid.uuid4()
        seed = body.seed or f"{experience_id}:{body.key}"
        await queries.insert_issuance(
            conn,
            {
                "id": issuance_id,
                "experience_id": experience_id,
                "key": body.key,
                "request_hash": fingerprint,
                "seed": seed,
                "report": {},
                "issued_by": actor.label(),
                "issued_at": now,
            },
        )
        stored = await _issue(conn, book, experience, issuance_id, seed, body.count, now)
        await queries.set_report(conn, issuance_id, stored)
        row = await queries.issuance(conn, issuance_id)
        await uow.commit()
    return report(row, locale, created=True)


async def _issue(
    conn: AsyncConnection,
    book: RuleBook,
    experience: Row,
    issuance_id: UUID,
    seed: str,
    count: int | None,
    now: datetime,
) -> dict[str, Any]:
    rule_set = await views.rule_set_at(book, conn, now)
    pure = views.model(experience)
    conditions = views.conditions(experience)
    context = views.context(experience, rule_set, now)
    candidates = await member_queries.candidates(conn)
    known = await histories(conn, rule_set, candidates, now)
    chosen = [m for m in candidates if eligibility.eligible(conditions, known[m], context)]
    ordered = selection.fair_order(
        (selection.candidate(known[m], rule_set, now) for m in chosen), seed
    )
    positions = {p.candidate.member_id: p.position for p in ordered}
    preferences = await member_queries.contacts(conn, chosen)
    settings = programme_settings(rule_set)

    def decide(member_id: UUID) -> guardrails.Decision:
        prefs = _preferences(preferences.get(member_id))
        return guardrails.decide(guardrails.Prospect(pure, known[member_id], prefs, settings, now))

    plan = issuance.plan(
        [p.candidate.member_id for p in ordered],
        decide,
        experience.seats if count is None else count,
    )
    issued = await _write_invitations(
        conn, experience, issuance_id, plan, positions, known, context, now
    )
    spared = [(m, positions[m], [r.value for r in d.reasons]) for m, d in plan.suppressed]
    await queries.insert_suppressions(conn, issuance_id, experience.id, spared)
    figures = issuance.report(plan)
    return {
        "candidates": len(candidates),
        "eligible": len(chosen),
        "issued": figures.issued,
        "held": figures.held,
        "suppressed": figures.suppressed,
        "not_reached": figures.not_reached,
        "suppressed_by_reason": {r.value: n for r, n in figures.by_reason.items()},
        "suppressed_by_any_reason": {r.value: n for r, n in figures.by_any_reason.items()},
        "invitations": issued,
        "spared": [{"member_id": str(m), "position": p, "reasons": r} for m, p, r in spared],
    }


async def _write_invitations(
    conn: AsyncConnection,
    experience: Row,
    issuance_id: UUID,
    plan: issuance.Plan,
    positions: dict[UUID, int],
    known: dict[UUID, MemberHistory],
    context: eligibility.Context,
    now: datetime,
) -> list[dict[str, Any]]:
    """Write the invitations (each with a fresh door code, and why the member was chosen in
    both languages) and an outbox event for each."""
    conditions = views.conditions(experience).conditions
    rows, events, issued = [], [], []
    for member_id, decision in plan.invited:
        history = known[member_id]
        after = decision.deliver_after if isinstance(decision, guardrails.Hold) else None
        invitation_id = uuid.uuid4()
        rows.append(
            {
                "id": invitation_id,
                "experience_id": experience.id,
                "member_id": member_id,
                "issuance_id": issuance_id,
                "position": positions[member_id],
                "channel": decision.channel.value,
                "deliver_after": after,
                "why": {
                    lang.value: eligibility.why_chosen(conditions, history, context, lang)
                    for lang in rules.Locale
                },
                "code": door_codes.new_code().value,
                "state": InvitationState.OFFERED.value,
                "offered_at": now,
            }
        )
        payload = {
            "invitation_id": str(invitation_id),
            "member_id": str(member_id),
            "experience_id": str(experience.id),
            "venue_id": str(experience.venue_id),
            "channel": decision.channel.value,
            "respond_by": experience.invitations_close_at.isoformat(),
        }
        events.append(("invitation.issued", payload, after))
        issued.append(
            {
                "invitation_id": str(invitation_id),
                "member_id": str(member_id),
                "position": positions[member_id],
                "channel": decision.channel.value,
                "deliver_after": after.isoformat() if after else None,
            }
        )
    while rows:
        taken = await invitation_queries.insert_invitations(conn, rows)
        rows = [dict(r, code=door_codes.new_code().value) for r in rows if r["code"] in taken]
    await queries.enqueue(conn, events, at=now)
    return issued


async def read_issuance(
    engine: AsyncEngine, actor: Actor, issuance_id: UUID, *, locale: Locale = Locale.EN
) -> contract.IssuanceReport:
    async with engine.connect() as conn:
        row = await queries.issuance(conn, issuance_id)
        if row is None:
            raise NotFound(ExperienceProblem.ISSUANCE_NOT_FOUND, "no such issuance")
        experience = await invitation_queries.experience(conn, row.experience_id)
    assert experience is not None
    views.require_venue(actor, experience.venue_id)
    return report(row, locale)


async def list_issuances(
    engine: AsyncEngine, actor: Actor, experience_id: UUID, *, locale: Locale = Locale.EN
) -> list[contract.IssuanceReport]:
    async with engine.connect() as conn:
        experience = await invitation_queries.experience(conn, experience_id)
        if experience is None:
            raise views.missing_experience()
        views.require_venue(actor, experience.venue_id)
        rows = await queries.issuances_of(conn, experience_id)
    return [report(r, locale) for r in rows]
