# strawberry's field decorators with arguments are typed as returning Any:
# mypy: disable-error-code="untyped-decorator"
"""Points accounts: the member's account (``me { account }``: balance, pending points, tier,
progress and history) and the programme's figures: for admins, those read from the ledger; for
admins and venue staff, the experiences' (built in ``experiences``); for admins, the ambassadors'
board (built in ``referrals``). Those two are the areas this imports."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

import strawberry

from graphql_schema.clients.base import ServiceProblem
from graphql_schema.common import locale_code, unexpected
from graphql_schema.context import Info
from graphql_schema.errors import invalid_input
from graphql_schema.experiences.stats import ExperienceStats, experience_stats
from graphql_schema.loaders import AccountPage
from graphql_schema.referrals import AmbassadorBoard, ambassador_board
from graphql_schema.types import LedgerEntry, Locale, Tier
from services.common.actor import ActorKind
from services.loyalty import contract as lc

# ---- types -----------------------------------------------------------------------------------


@strawberry.type(description="Where the member stands: the tier, the next one, and what it takes.")
class TierProgress:
    current: Tier | None
    next: Tier | None
    status_points: int
    points_to_next: int | None
    points_to_keep: int
    keep_by: dt.datetime | None
    qualifying_until: dt.datetime | None
    counts_toward: str
    policy: str

    @classmethod
    def of(cls, p: lc.TierProgress) -> TierProgress:
        return cls(
            current=Tier.of(p.current),
            next=Tier.of(p.next),
            status_points=p.status_points,
            points_to_next=p.points_to_next,
            points_to_keep=p.points_to_keep,
            keep_by=p.keep_by,
            qualifying_until=p.qualifying_until,
            counts_toward=p.counts_toward,
            policy=p.policy,
        )


@strawberry.type
class PendingPoints:
    points: int
    available_at: dt.datetime


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class HistoryPage:
    nodes: list[LedgerEntry]
    page_info: PageInfo


@strawberry.type(description="The member's points account.")
class Account:
    """Reached through ``me { account }`` (see ``members``), for the signed-in member only."""

    member_id: strawberry.Private[uuid.UUID]
    locale: strawberry.Private[str]

    async def _fetch(self, info: Info, first: int = 10, after: str | None = None) -> lc.Account:
        """One call per distinct page asked for; sibling fields share it (a DataLoader)."""
        await info.context.require(ActorKind.MEMBER)
        page = AccountPage(self.member_id, self.locale, first, after)
        try:
            return await info.context.loaders.account.load(page)
        except ServiceProblem as problem:
            raise unexpected(problem) from None

    @strawberry.field(description="Points that can be spent now.")
    async def balance(self, info: Info) -> int:
        return (await self._fetch(info)).balance

    @strawberry.field(description="Points earned but not yet spendable.")
    async def pending(self, info: Info) -> int:
        return (await self._fetch(info)).pending

    @strawberry.field
    async def pending_releases(self, info: Info) -> list[PendingPoints]:
        return [
            PendingPoints(points=p.points, available_at=p.available_at)
            for p in (await self._fetch(info)).pending_releases
        ]

    @strawberry.field(description="The next points to expire, and when.")
    async def next_expiry(self, info: Info) -> PendingPoints | None:
        nxt = (await self._fetch(info)).next_expiry
        return PendingPoints(points=nxt.points, available_at=nxt.available_at) if nxt else None

    @strawberry.field(description="The tier the member holds.")
    async def tier(self, info: Info) -> Tier | None:
        return Tier.of((await self._fetch(info)).tier.current)

    @strawberry.field
    async def progress(self, info: Info) -> TierProgress:
        return TierProgress.of((await self._fetch(info)).tier)

    @strawberry.field(description="Newest first; each entry explains itself.")
    async def history(self, info: Info, first: int = 10, after: str | None = None) -> HistoryPage:
        if not 0 <= first <= 100:
            raise invalid_input("first must be between 0 and 100")
        page = (await self._fetch(info, first, after)).history
        return HistoryPage(
            nodes=[LedgerEntry.of(e) for e in page.entries],
            page_info=PageInfo(has_next_page=page.has_next_page, end_cursor=page.end_cursor),
        )


@strawberry.type(
    description="The programme's figures: its points, as the ledger has them now (admins), and "
    "its experiences (admins for every venue, venue staff for their own)."
)
class ProgrammeStats:
    fetched: strawberry.Private[dict[str, asyncio.Future[lc.Liability]]]

    async def _ledger(self, info: Info) -> lc.Liability:
        """The ledger's figures, for admins only, fetched once for all the fields asking."""
        principal = await info.context.require(ActorKind.ADMIN)
        if "ledger" not in self.fetched:
            self.fetched["ledger"] = asyncio.ensure_future(
                info.context.loyalty.liability(principal.actor)
            )
        try:
            return await self.fetched["ledger"]
        except ServiceProblem as problem:
            raise unexpected(problem) from None

    @strawberry.field(
        description="Admins: points members hold, spendable or pending: the programme's liability."
    )
    async def outstanding_points(self, info: Info) -> int:
        return (await self._ledger(info)).outstanding

    @strawberry.field(description="Admins.")
    async def issued_points(self, info: Info) -> int:
        return (await self._ledger(info)).issued

    @strawberry.field(description="Admins.")
    async def redeemed_points(self, info: Info) -> int:
        return (await self._ledger(info)).redeemed

    @strawberry.field(description="Admins.")
    async def expired_points(self, info: Info) -> int:
        return (await self._ledger(info)).expired

    @strawberry.field(description="Admins.")
    async def reversed_points(self, info: Info) -> int:
        return (await self._ledger(info)).reversed

    @strawberry.field(description="Admins: when the ledger's figures were read.")
    async def as_of(self, info: Info) -> dt.datetime:
        return (await self._ledger(info)).as_of

    @strawberry.field(
        description="Invitations, attendance, guests, suppressions by reason and the evening's "
        "score, per venue and per experience; staff see their own venues."
    )
    async def experiences(
        self, info: Info, venue_id: strawberry.ID | None = None, locale: Locale | None = None
    ) -> ExperienceStats:
        return await experience_stats(info, venue_id, locale_code(locale))

    @strawberry.field(
        description="Admins: ambassadors ranked by the quality of the people they brought in "
        "over 90 days (who stayed, attended, came back), and why referrals were refused."
    )
    async def ambassadors(
        self, info: Info, first: int = 10, locale: Locale | None = None
    ) -> AmbassadorBoard:
        return await ambassador_board(info, first, locale_code(locale))


# ---- resolvers -------------------------------------------------------------------------------


@strawberry.type
class Query:
    @strawberry.field(
        description="The programme's figures: admins see everything; venue staff the "
        "experiences of their venues."
    )
    async def programme_stats(self, info: Info) -> ProgrammeStats:
        await info.context.require(ActorKind.ADMIN, ActorKind.STAFF)
        return ProgrammeStats(fetched={})
