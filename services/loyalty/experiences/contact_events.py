"""Following identity's events about members' contact preferences: the projection experiences
read, kept idempotently (the inbox records each event once) and in order (an event older than
the one applied is ignored; an erasure is final)."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection

from services.loyalty import contract
from services.loyalty.experiences import contacts
from services.loyalty.experiences.queries import members as queries

FOLLOWED = frozenset(
    {"member.registered", "preferences.updated", "member.erased", "members.merged"}
)


async def follow(conn: AsyncConnection, event: contract.IdentityEvent) -> None:
    """Apply one event received for the first time, in the consumer's transaction."""
    if event.type not in FOLLOWED:
        return
    payload = event.payload
    if event.type == "members.merged":
        await queries.mark_merged(
            conn,
            absorbed=UUID(payload["absorbed_id"]),
            survivor=UUID(payload["survivor_id"]),
            event_id=event.event_id,
            at=event.occurred_at,
        )
        return
    member_id = UUID(payload["member_id"])
    if event.type == "member.erased":
        await queries.mark_erased(
            conn, member_id=member_id, event_id=event.event_id, at=event.occurred_at
        )
        return
    kept = contacts.payload_preferences(payload)
    if kept is None:
        return
    locale = payload.get("locale")
    await queries.apply_preferences(
        conn,
        member_id=member_id,
        event_id=event.event_id,
        as_of=event.occurred_at,
        consents=kept.consents,
        invitation_cap=kept.invitation_cap,
        quiet_hours=kept.quiet_hours,
        interests=kept.interests,
        locale=locale if isinstance(locale, str) else None,
    )
