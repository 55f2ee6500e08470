"""The audit log: who did what to which subject, written in the same transaction as the change."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from services.identity.tables import audit_log


async def record(
    conn: AsyncConnection,
    *,
    actor: str,
    action: str,
    subject: str,
    details: dict[str, Any] | None = None,
) -> None:
    await conn.execute(
        audit_log.insert().values(
            actor=actor, action=action, subject=subject, details=details or {}
        )
    )
