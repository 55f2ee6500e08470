"""The demo programme seeded by ``loyalty serve`` and ``loyalty seed-demo``: once per database,
and what a newcomer needs to try it: how each role signs in, and the ids the examples use.

The demo partner's API key is issued once and kept in the data folder
(``demo-partner-api-key.json``, readable by its owner only), so that every start shows the same
key. When the kept key does not work in this database (the file was deleted, or belongs to
another database), a new key is issued and the demo keys issued before it are revoked: the demo
partner never has more than one working key.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.problems import Problem

KEY_FILE = "demo-partner-api-key.json"
KEY_LABEL = "demo"


class KeyStatus(StrEnum):
    KEPT = "kept"  # the key kept in the data folder, shown again
    ISSUED = "issued"  # the first key of this database
    REPLACED = "replaced"  # a new key; the earlier demo keys are revoked


@dataclass(frozen=True)
class DemoKey:
    partner_id: UUID
    key_id: UUID
    secret: str
    status: KeyStatus


async def seed_demo(
    engine: AsyncEngine, *, key_encryption_secret: str, data_dir: Path | None = None
) -> dict[str, Any]:
    """Seed identity's demo organisations, accounts and members, then loyalty's programme; return
    the credentials and ids, with the partner's key kept in ``data_dir`` (without one, each call
    replaces the key). The member's door pass is signed with loyalty's door key, sealed under
    ``key_encryption_secret`` (the one the loyalty service is given)."""
    from services.identity.seed import MEMBERS, PARTNER_NAME, VENUES, seed_demo_identity
    from services.loyalty.experiences import signing
    from services.loyalty.seed import demo_ids, seed_demo_loyalty
    from services.loyalty.seed_experience import seed_demo_experience

    await signing.open_door_key(engine, signing.derive_kek(key_encryption_secret))
    credentials = await seed_demo_identity(engine, api_key=False)
    member_ids, venue_ids = demo_ids(credentials)
    await seed_demo_loyalty(engine, member_ids=member_ids, venue_ids=venue_ids)
    await _tell_loyalty(engine)
    experience = await seed_demo_experience(engine, member_ids=member_ids, venue_ids=venue_ids)

    names = {m.email: m.display_name for m in MEMBERS}
    for member in credentials["members"]:
        member["displayName"] = names[member["email"]]
    venues = {v.staff_email: v.name for v in VENUES}
    for staff in credentials["staff"]:
        staff["venueName"] = venues[staff["email"]]
    [partner] = credentials["partners"]
    key = await demo_partner_key(
        engine, UUID(partner["partnerId"]), None if data_dir is None else data_dir / KEY_FILE
    )
    partner.update(name=PARTNER_NAME, apiKey=key.secret, apiKeyStatus=key.status.value)
    if data_dir is not None:
        partner["apiKeyFile"] = str(data_dir / KEY_FILE)
    credentials["rewards"] = await _rewards(engine)
    if experience is not None:
        by_id = {m["memberId"]: m["displayName"] for m in credentials["members"]}
        venue = {s["venueId"]: s["venueName"] for s in credentials["staff"]}
        experience["venueName"] = venue.get(experience["venueId"], "")
        experience["accepted"] = [by_id.get(m, m) for m in experience.pop("acceptedMemberIds")]
        credentials["experiences"] = [experience]
    return credentials


async def _tell_loyalty(engine: AsyncEngine) -> None:
    """Identity's events not yet relayed (the demo members' contact preferences) told to
    loyalty now, so that the demo's invitations follow the members' consents; loyalty records
    each event once, so the relay's own delivery later changes nothing."""
    from services.identity.outbox.queries import pending_events
    from services.loyalty.contract import EventBatch, IdentityEvent
    from services.loyalty.identity_events.use_cases import receive_identity_events

    async with engine.connect() as conn:
        rows = await pending_events(conn, 1000)
        await conn.rollback()  # nothing marked: the relay delivers them as ever
    events = [
        IdentityEvent(
            event_id=r.event_id, type=r.type, occurred_at=r.occurred_at, payload=r.payload
        )
        for r in rows
    ]
    if events:
        await receive_identity_events(engine, EventBatch(events=events))


async def demo_partner_key(engine: AsyncEngine, partner_id: UUID, kept_in: Path | None) -> DemoKey:
    """The demo partner's working API key: the one kept in ``kept_in`` if it still works here,
    otherwise a new one (kept there), the earlier demo keys revoked."""
    kept = _read(kept_in)
    if kept is not None and await _works(engine, kept, partner_id):
        await _scoped(engine, kept)
        return kept
    key = await _replace_key(engine, partner_id)
    if kept_in is not None:
        _keep(key, kept_in)
    return key


async def _works(engine: AsyncEngine, kept: DemoKey, partner_id: UUID) -> bool:
    from services.identity import contract
    from services.identity.organisations.api_keys import verify_api_key

    try:
        principal = await verify_api_key(engine, contract.VerifyApiKey(api_key=kept.secret))
    except Problem:
        return False
    return principal.partner_id == partner_id and principal.key_id == kept.key_id


async def _scoped(engine: AsyncEngine, kept: DemoKey) -> None:
    """A key kept from before keys had scopes gets the demo partner's scope."""
    from services.identity import contract
    from services.identity.organisations.api_keys import set_scope, verify_api_key
    from services.identity.seed import DEMO_SCOPE, SEED_ACTOR

    principal = await verify_api_key(engine, contract.VerifyApiKey(api_key=kept.secret))
    if principal.scope != DEMO_SCOPE:
        await set_scope(engine, SEED_ACTOR, kept.key_id, DEMO_SCOPE)


async def _replace_key(engine: AsyncEngine, partner_id: UUID) -> DemoKey:
    """Issue the next demo key. Demo keys are issued with the idempotency keys
    ``demo-partner-key-1``, ``-2``, ...: walking them finds every earlier one, to revoke it."""
    from services.identity import contract
    from services.identity.organisations.api_keys import issue_api_key, revoke_api_key
    from services.identity.seed import DEMO_SCOPE, SEED_ACTOR

    generation = 1
    while True:
        issued = await issue_api_key(
            engine,
            SEED_ACTOR,
            partner_id,
            contract.IssueApiKey(
                label=KEY_LABEL,
                idempotency_key=f"demo-partner-key-{generation}",
                scope=DEMO_SCOPE,
            ),
        )
        if issued.created:
            assert issued.value.secret is not None
            status = KeyStatus.ISSUED if generation == 1 else KeyStatus.REPLACED
            return DemoKey(partner_id, issued.value.key.id, issued.value.secret, status)
        if issued.value.key.revoked_at is None:
            await revoke_api_key(engine, SEED_ACTOR, issued.value.key.id)
        generation += 1


def _read(path: Path | None) -> DemoKey | None:
    if path is None:
        return None
    try:
        kept = json.loads(path.read_text())
        return DemoKey(
            UUID(kept["partnerId"]), UUID(kept["keyId"]), str(kept["apiKey"]), KeyStatus.KEPT
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _keep(key: DemoKey, path: Path) -> None:
    """Write the key for its owner's eyes only (0600), whatever the umask."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)
    with os.fdopen(descriptor, "w") as file:
        json.dump(
            {"partnerId": str(key.partner_id), "keyId": str(key.key_id), "apiKey": key.secret},
            file,
        )


async def _rewards(engine: AsyncEngine) -> list[dict[str, Any]]:
    from services.loyalty.rewards.queries import list_rewards

    async with engine.connect() as conn:
        rows = await list_rewards(conn, now=datetime.now(UTC))
    return [{"key": r.key, "rewardId": str(r.id), "cost": r.cost} for r in rows]
