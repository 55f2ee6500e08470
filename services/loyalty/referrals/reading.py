"""Reading referrals: a partner's own with its conversion figures, a member's people brought in
(never who they are), and the ambassadors' board for admins."""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.actor import Actor, ActorKind
from services.common.problems import Forbidden, InvalidInput
from services.common.uow import UnitOfWork
from services.loyalty.contract import Locale, ProblemCode
from services.loyalty.referrals import ambassadors, tracking, words
from services.loyalty.referrals import reading_queries as queries
from services.loyalty.referrals.contract import (
    Ambassador,
    AmbassadorBoard,
    Channel,
    ConversionFigures,
    MemberReferral,
    PartnerReferrals,
    ReferralProblem,
    RejectionCount,
)
from services.loyalty.referrals.conversion import Status
from services.loyalty.referrals.use_cases import view
from services.loyalty.rulebook.book import RuleBook
from services.loyalty.rules.model import Locale as RulesLocale

MAX_PAGE = 100
MEMBER_LIMIT = 200


def _cursor(registered_at: datetime, referral_id: UUID) -> str:
    raw = f"{registered_at.isoformat()}|{referral_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _after(cursor: str | None) -> tuple[datetime, UUID] | None:
    """The position a cursor names: a registration time with its offset (as ``_cursor`` writes
    it, in UTC within PostgreSQL's range) and a referral id; anything else is no cursor."""
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at, _, referral = raw.partition("|")
        registered_at = datetime.fromisoformat(at)
        if registered_at.tzinfo is None:
            raise ValueError("a cursor's time has its offset")
        return registered_at.astimezone(UTC), UUID(referral)
    except (ValueError, OverflowError, binascii.Error, UnicodeDecodeError):
        raise InvalidInput("after is not a cursor of this list") from None


async def partner_referrals(
    engine: AsyncEngine,
    actor: Actor,
    *,
    first: int,
    after: str | None,
    now: datetime | None = None,
) -> PartnerReferrals:
    """The calling partner's referrals (and only its own), newest first, with its figures."""
    partner = actor.uuid()
    if actor.kind is not ActorKind.PARTNER or partner is None:
        raise Forbidden(ReferralProblem.PARTNER_ONLY, "partners read their own referrals")
    if not 1 <= first <= MAX_PAGE:
        raise InvalidInput(f"first is between 1 and {MAX_PAGE}")
    now = now or datetime.now(UTC)
    async with UnitOfWork(engine) as uow:
        rows = await queries.partner_page(uow.conn, partner, first, _after(after))
        counts = await queries.partner_figures(uow.conn, partner, now)
    page = rows[:first]
    registered = counts["registered"]
    return PartnerReferrals(
        referrals=[view(r, now) for r in page],
        end_cursor=_cursor(page[-1].registered_at, page[-1].id) if page else None,
        has_next_page=len(rows) > first,
        figures=ConversionFigures(
            **counts,
            conversion_percent=counts["converted"] * 100 // registered if registered else 0,
        ),
    )


async def member_referrals(
    engine: AsyncEngine,
    actor: Actor,
    member_id: UUID,
    *,
    locale: Locale,
    now: datetime | None = None,
) -> list[MemberReferral]:
    """The people a member brought in, newest first: how far each got, and the points it gave."""
    if not (
        (actor.kind is ActorKind.MEMBER and actor.id == str(member_id))
        or actor.kind in (ActorKind.ADMIN, ActorKind.SYSTEM)
    ):
        raise Forbidden(ProblemCode.FORBIDDEN, "a member reads only their own referrals")
    now = now or datetime.now(UTC)
    async with UnitOfWork(engine) as uow:
        rows = await queries.referrals_by(uow.conn, member_id, MEMBER_LIMIT)
        points = await queries.referrer_points(uow.conn, [r.id for r in rows])
    out = []
    for row in rows:
        status = view(row, now).status
        policy = tracking.policy_from_json(row.terms)
        out.append(
            MemberReferral(
                id=row.id,
                channel=Channel(row.channel),
                status=status,
                status_text=words.status(status, policy, RulesLocale(locale.value)),
                registered_at=row.registered_at,
                converted_at=row.converted_at if status is Status.CONVERTED else None,
                points=points[row.id],
            )
        )
    return out


async def ambassador_board(
    engine: AsyncEngine,
    book: RuleBook,
    actor: Actor,
    *,
    first: int,
    locale: Locale,
    now: datetime | None = None,
) -> AmbassadorBoard:
    """Admins: the ambassadors ranked by the quality of the people they brought in (90 days)."""
    if actor.kind not in (ActorKind.ADMIN, ActorKind.SYSTEM):
        raise Forbidden(ProblemCode.FORBIDDEN, "admins only")
    if not 1 <= first <= MAX_PAGE:
        raise InvalidInput(f"first is between 1 and {MAX_PAGE}")
    now = now or datetime.now(UTC)
    since = now - ambassadors.WINDOW
    async with UnitOfWork(engine) as uow:
        rule_set = await book.in_force(uow.conn, now)
        zone = rule_set.timezone if rule_set is not None else "Europe/Paris"
        found = await queries.outcomes(uow.conn, since, now, zone)
        rejections = await queries.rejection_counts(uow.conn, since)
    lines = ambassadors.board(
        (
            ambassadors.RefereeOutcome(
                referrer_id=o.referrer_id,
                converted_at=o.converted_at,
                still_member=o.still_member,
                erased=o.erased,
                attendances=o.attendances,
                qualifying_days=frozenset(o.qualifying_days),
            )
            for o in found
        ),
        now,
    )
    language = RulesLocale(locale.value)
    return AmbassadorBoard(
        as_of=now,
        rules=words.score_rules(language),
        ambassadors=[
            Ambassador(
                member_id=line.member_id,
                rank=line.rank,
                score=line.score,
                referees=line.referees,
                stayed=line.stayed,
                attended=line.attended,
                returned=line.returned,
                quality_percent=line.quality_percent,
                summary=words.ambassador(line, language),
            )
            for line in lines[:first]
        ],
        rejections=[RejectionCount(reason=r, count=n) for r, n in rejections],
    )
