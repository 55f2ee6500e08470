"""Resolving a referee: their email and phone normalised, the members they belong to now, and
the keyed hashes loyalty keeps instead of the identifiers."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.common.actor import Actor, ActorKind
from services.common.problems import InvalidInput
from services.identity import contract, normalise
from services.identity.access import forbidden
from services.identity.referees import queries
from services.identity.referees.hashing import HASHED_KINDS, keyed_hash

RESOLVERS = (ActorKind.PARTNER, ActorKind.SYSTEM, ActorKind.ADMIN)


async def identifier_hashes(conn: AsyncConnection, identifiers: dict[str, str]) -> dict[str, str]:
    """``{"email": "ines@example.org"}`` -> ``{"email": "<keyed hash>"}`` (emails and phones)."""
    key = await queries.identifier_key(conn)
    return {
        kind: keyed_hash(key, kind, value)
        for kind, value in identifiers.items()
        if kind in HASHED_KINDS
    }


async def resolve_referee(
    engine: AsyncEngine, actor: Actor, body: contract.ResolveReferee
) -> contract.RefereeResolution:
    """Who a referee is, for the gateway registering a referral. Invalid spellings are refused
    with ``INVALID_EMAIL`` or ``INVALID_PHONE``; an unknown person resolves to no member."""
    if actor.kind not in RESOLVERS:
        raise forbidden("resolving referees is for partners, admins and the system")
    wanted: dict[str, str] = {}
    if body.email is not None and body.email.strip():
        wanted["email"] = normalise.email(body.email)
    if body.phone is not None and body.phone.strip():
        wanted["phone"] = normalise.phone(body.phone)
    if not wanted:
        raise InvalidInput("a referee is named by an email or a phone")
    async with engine.connect() as raw:  # two reads, no transaction to open and close
        conn = await raw.execution_options(isolation_level="AUTOCOMMIT")
        hashes = await identifier_hashes(conn, wanted)
        members = await queries.members_of(conn, list(wanted.items()))
    return contract.RefereeResolution(
        email_hash=hashes.get("email"), phone_hash=hashes.get("phone"), member_ids=members
    )
