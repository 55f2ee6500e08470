"""Following identity's erasure of a member, in the consumer's transaction: what loyalty holds
on them that is personal is forgotten; points, states and figures stay under the bare id."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection

from services.loyalty import contract
from services.loyalty.accounts.queries import member_ids
from services.loyalty.privacy import queries


async def forget_member(conn: AsyncConnection, member_id: UUID) -> None:
    """The member (and every member merged into them): identity's events about them keep only
    ids, kinds and times; their contact preferences, the guests they named, their ratings'
    comments and the keyed hashes that stood for them or their guests as referees go."""
    ids = await member_ids(conn, member_id)
    hashes = await queries.identifier_hashes(conn, ids)
    await queries.forget_referees(conn, ids, hashes)
    await queries.scrub_events(conn, ids)
    await queries.forget_contacts(conn, ids)
    await queries.forget_guests_and_comments(conn, ids)


async def follow(conn: AsyncConnection, event: contract.IdentityEvent) -> None:
    """Apply an event received for the first time, after the other consumers: an erasure is
    followed; an event about a member already erased (delivered late) is emptied at once."""
    member = event.payload.get("member_id")
    if member is None:
        return
    if event.type == "member.erased":
        await forget_member(conn, UUID(str(member)))
    elif await queries.is_erased(conn, UUID(str(member))):
        await queries.scrub_events(conn, [UUID(str(member))], event_id=event.event_id)
