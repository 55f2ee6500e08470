"""DataLoaders, made afresh for every request: sibling fields that need the same record share
one call to the service, and nothing is cached across requests or callers."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple, TypeVar
from uuid import UUID

from strawberry.dataloader import DataLoader

from graphql_schema.clients.identity import IdentityClient
from graphql_schema.clients.loyalty import LoyaltyClient
from services.common.actor import SYSTEM, Actor
from services.identity import contract as ic
from services.loyalty import contract as lc

K = TypeVar("K")
T = TypeVar("T")


class AccountPage(NamedTuple):
    member_id: UUID
    locale: str
    first: int
    after: str | None


@dataclass(frozen=True, slots=True)
class Loaders:
    member: DataLoader[UUID, ic.Member]
    """Member profiles, as the caller may see them (identity resolves merged ids)."""
    account: DataLoader[AccountPage, lc.Account]
    """Points accounts, one call per distinct page asked for."""
    display_name: DataLoader[UUID, str | None]
    """Members' display names, read by the gateway itself (not as the caller): only for answers
    the caller may already see, such as a check-in at their own venue's door."""
    venue: DataLoader[UUID, ic.Venue]
    """Venues (their names), which anyone signed in may read."""


def _each(
    fetch: Callable[[Actor, K], Awaitable[T]], actor: Callable[[], Awaitable[Actor]]
) -> Callable[[list[K]], Awaitable[Sequence[T | BaseException]]]:
    """A batch function over a service with no batch endpoint: one call per key, concurrently;
    a key's failure (a ``ServiceProblem``) is raised where that key is loaded."""

    async def load(keys: list[K]) -> Sequence[T | BaseException]:
        caller = await actor()
        return await asyncio.gather(*(fetch(caller, key) for key in keys), return_exceptions=True)

    return load


def create_loaders(
    identity: IdentityClient, loyalty: LoyaltyClient, actor: Callable[[], Awaitable[Actor]]
) -> Loaders:
    """``actor`` gives the authenticated caller (and raises if the credentials were refused)."""

    async def account(caller: Actor, page: AccountPage) -> lc.Account:
        return await loyalty.account(
            caller, page.member_id, first=page.first, after=page.after, locale=page.locale
        )

    async def display_name(_: Actor, member_id: UUID) -> str | None:
        return (await identity.member(SYSTEM, member_id)).display_name

    return Loaders(
        member=DataLoader(_each(identity.member, actor)),
        account=DataLoader(_each(account, actor)),
        display_name=DataLoader(_each(display_name, actor)),
        venue=DataLoader(_each(identity.venue, actor)),
    )
