"""Loyalty follows identity's erasure of a member in the same transaction as its receipt: the
events it received about them keep only ids, kinds and times, their contact preferences are
emptied, and an event about them delivered late is emptied on arrival. Run as the service's
runtime role, so its rights are proven to suffice."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest_asyncio
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.db import create_engine
from services.loyalty import contract
from services.loyalty.identity_events.use_cases import receive_identity_events

PREFERENCES = {
    "consents": {"email": True, "sms": True},
    "invitation_cap_per_30_days": 9,
    "quiet_hours": {"start": "22:05:00", "end": "07:55:00", "timezone": "America/Halifax"},
    "interests": ["harpsichord"],
}


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def runtime(loyalty_database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(loyalty_database_url, pool_size=2, application_name="erasure-tests")
    yield engine
    await engine.dispose()


def _event(type_: str, at: datetime, **payload: Any) -> contract.IdentityEvent:
    return contract.IdentityEvent(
        event_id=uuid.uuid4(), type=type_, occurred_at=at, payload=payload
    )


async def _receive(engine: AsyncEngine, *events: contract.IdentityEvent) -> None:
    await receive_identity_events(engine, contract.EventBatch(events=list(events)))


async def _inbox(engine: AsyncEngine, member: str) -> list[tuple[str, dict[str, Any]]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            sa.text(
                "SELECT type, payload FROM loyalty.inbox WHERE payload->>'member_id' = :m "
                "ORDER BY occurred_at"
            ),
            {"m": member},
        )
        return [(r.type, r.payload) for r in rows]


async def _contacts(engine: AsyncEngine, member: str) -> dict[str, Any]:
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                sa.text(
                    "SELECT consents, invitation_cap, quiet_start, quiet_timezone, interests, "
                    "locale, erased FROM loyalty.member_contacts WHERE member_id = CAST(:m AS uuid)"
                ),
                {"m": member},
            )
        ).one()
        return dict(row._mapping)


async def test_an_erasure_empties_the_events_received_and_the_contact_preferences(
    runtime: AsyncEngine,
) -> None:
    member, at = str(uuid.uuid4()), datetime.now(UTC) - timedelta(hours=1)
    email_hash, phone_hash = uuid.uuid4().hex * 2, uuid.uuid4().hex * 2
    await _receive(
        runtime,
        _event(
            "member.registered",
            at,
            member_id=member,
            locale="fr",
            birth_date="1947-03-08",
            preferences=PREFERENCES,
            identifier_hashes={"email": email_hash},
        ),
        _event(
            "identifier.linked",
            at + timedelta(minutes=1),
            member_id=member,
            kind="phone",
            identifier_hash=phone_hash,
        ),
    )
    assert (await _contacts(runtime, member))["interests"] == ["harpsichord"]

    await _receive(
        runtime,
        _event("member.erased", at + timedelta(minutes=2), member_id=member, erased_at="x"),
    )

    assert await _inbox(runtime, member) == [
        ("member.registered", {"member_id": member}),
        ("identifier.linked", {"member_id": member, "kind": "phone"}),
        ("member.erased", {"member_id": member, "erased_at": "x"}),
    ]
    assert await _contacts(runtime, member) == {
        "consents": [],
        "invitation_cap": None,
        "quiet_start": None,
        "quiet_timezone": None,
        "interests": [],
        "locale": None,
        "erased": True,
    }


async def test_an_event_about_an_erased_member_delivered_late_is_emptied_on_arrival(
    runtime: AsyncEngine,
) -> None:
    member, at = str(uuid.uuid4()), datetime.now(UTC) - timedelta(hours=1)
    await _receive(runtime, _event("member.erased", at, member_id=member, erased_at="y"))

    await _receive(
        runtime,
        _event(
            "member.registered",
            at - timedelta(minutes=5),
            member_id=member,
            locale="en",
            birth_date="1952-12-01",
            preferences=PREFERENCES,
            identifier_hashes={"email": uuid.uuid4().hex * 2},
        ),
    )

    assert await _inbox(runtime, member) == [
        ("member.registered", {"member_id": member}),
        ("member.erased", {"member_id": member, "erased_at": "y"}),
    ]
    assert (await _contacts(runtime, member))["interests"] == []
