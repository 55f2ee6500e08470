"""The set in force: published rule sets, parsed once and cached per process."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.requests import Request

from services.loyalty import rules
from services.loyalty.rulebook import queries


@dataclass(frozen=True, slots=True)
class Published:
    rule_set: rules.RuleSet
    published_at: datetime
    published_by: str
    changes: list[dict[str, Any]]


class RuleBook:
    """Published rule sets, cached: they are immutable, so only a new version invalidates."""

    def __init__(self) -> None:
        self._latest = -1
        self._versions: list[Published] = []

    async def versions(self, conn: AsyncConnection, latest: int | None = None) -> list[Published]:
        if latest is None:
            latest = await queries.latest_rule_set_version(conn)
        if latest != self._latest:
            rows = await queries.rule_set_rows(conn)
            self._versions = [
                Published(
                    rules.parse_rule_set(r.document), r.published_at, r.published_by, r.changes
                )
                for r in rows
            ]
            self._latest = latest
        return self._versions

    @property
    def latest(self) -> int:
        return self._latest

    async def in_force(
        self,
        conn: AsyncConnection,
        at: datetime,
        *,
        latest: int | None = None,
        cached: bool = False,
    ) -> rules.RuleSet | None:
        """The rule set in force at ``at``; with ``cached``, from what this process last read
        (the caller then checks ``latest`` against the database, as the earn path does)."""
        if cached and self._latest >= 0:
            return rules.in_force([p.rule_set for p in self._versions], at)
        return rules.in_force([p.rule_set for p in await self.versions(conn, latest)], at)

    async def version(self, conn: AsyncConnection, version: int) -> rules.RuleSet:
        for published in await self.versions(conn):
            if published.rule_set.version == version:
                return published.rule_set
        raise LookupError(f"rule set version {version} is not published")


def book_of(request: Request) -> RuleBook:
    """The service's rule book, created once per process by the app's lifespan."""
    found: RuleBook = request.app.state.rule_book
    return found
