"""Migration 0007: emails and phones linked before codes existed and never verified stop
counting; those given at registration, cards and verified ones stay."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg  # type: ignore[import-untyped]
from alembic import command

from services.common.db import asyncpg_dsn
from services.common.migrate import alembic_config, upgrade
from services.common.roles import service_roles

JOINED = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)


async def _seed(url: str, member: uuid.UUID) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        await conn.execute(
            "INSERT INTO identity.members (id, created_at) VALUES ($1, $2)", member, JOINED
        )
        later = JOINED + timedelta(days=3)
        rows = [
            ("email", f"joined.{member.hex[:8]}@example.org", JOINED, False),  # registration
            ("phone", f"+3361{member.int % 10**7:07d}", JOINED, False),  # registration
            ("email", f"linked.{member.hex[:8]}@example.org", later, False),  # never proven
            ("email", f"proven.{member.hex[:8]}@example.org", later, True),
            ("membership_card", f"CARD{member.hex[:8].upper()}", later, False),
        ]
        for kind, value, linked_at, verified in rows:
            await conn.execute(
                "INSERT INTO identity.identifiers (id, member_id, kind, value, linked_at, verified)"
                " VALUES ($1, $2, $3, $4, $5, $6)",
                uuid.uuid4(),
                member,
                kind,
                value,
                linked_at,
                verified,
            )
    finally:
        await conn.close()


async def _after(url: str, member: uuid.UUID) -> tuple[list[tuple[str, bool]], list[tuple]]:
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        kept = await conn.fetch(
            "SELECT value, verified FROM identity.identifiers WHERE member_id = $1 ORDER BY value",
            member,
        )
        waiting = await conn.fetch(
            "SELECT kind, value, attempts, expires_at <= now() AS expired, code_in_outbox,"
            " sends FROM identity.identifier_verifications WHERE member_id = $1",
            member,
        )
    finally:
        await conn.close()
    return [(r["value"], r["verified"]) for r in kept], [tuple(r) for r in waiting]


def test_unproven_links_leave_identifiers_and_wait_for_a_code(fresh_database_url: str) -> None:
    url = fresh_database_url
    roles = service_roles("identity")
    command.downgrade(alembic_config("identity", url, roles.owner), "0006")
    member = uuid.uuid4()
    asyncio.run(_seed(url, member))

    upgrade("identity", url)

    kept, waiting = asyncio.run(_after(url, member))
    tag = member.hex[:8]
    assert kept == sorted(
        [
            (f"+3361{member.int % 10**7:07d}", False),
            (f"CARD{tag.upper()}", False),
            (f"joined.{tag}@example.org", False),
            (f"proven.{tag}@example.org", True),
        ]
    )
    # an expired code no one knows, the day's sends not counted: the member asks for one
    assert waiting == [("email", f"linked.{tag}@example.org", 0, True, False, 0)]
