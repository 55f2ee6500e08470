"""Identity's part in referrals: a referee resolved to the members their email or phone belong
to and to keyed hashes (the same for every spelling, and the same ones identity's events carry),
and partners' API keys with a scope that admins set."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from typing import Any

import sqlalchemy as sa

from services.common.actor import Actor, ActorKind

PARTNER = Actor(ActorKind.PARTNER, str(uuid.uuid4()))


async def _key(identity: Any) -> bytes:
    async with identity.engine.connect() as conn:
        found = await conn.scalar(sa.text("SELECT key FROM identity.identifier_keys"))
    return bytes(found)


def _hash(key: bytes, kind: str, value: str) -> str:
    return hmac.new(key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()


async def _resolve(identity: Any, actor: Actor = PARTNER, **body: Any) -> Any:
    return await identity.post("/internal/referees/resolve", body, actor=actor)


async def _events(identity: Any, member_id: str) -> list[dict[str, Any]]:
    async with identity.engine.connect() as conn:
        rows = await conn.execute(
            sa.text(
                "SELECT type, payload FROM identity.outbox"
                " WHERE payload ->> 'member_id' = :m ORDER BY id"
            ),
            {"m": member_id},
        )
        return [{"type": r.type, **r.payload} for r in rows]


async def test_a_referee_resolves_to_keyed_hashes_the_same_for_every_spelling(identity) -> None:
    key = await _key(identity)
    name = uuid.uuid4().hex[:10]
    phone = identity.unique_phone()
    first = await _resolve(identity, email=f"  {name.upper()}@Example.ORG ", phone=phone)
    second = await _resolve(identity, email=f"{name}@example.org", phone=phone.replace(" ", ""))
    assert first.status_code == second.status_code == 200
    e164 = "+33" + phone.replace(" ", "")[1:]
    assert (
        first.json()
        == second.json()
        == {
            "email_hash": _hash(key, "email", f"{name}@example.org"),
            "phone_hash": _hash(key, "phone", e164),
            "member_ids": [],
        }
    )


async def test_a_referee_who_is_a_member_resolves_to_them_and_after_a_merge_to_the_survivor(
    identity,
) -> None:
    email = identity.unique_email()
    phone = identity.unique_phone()
    absorbed = await identity.register(email)
    survivor = await identity.register(phone=phone)
    by_email = await _resolve(identity, email=email)
    assert by_email.json()["member_ids"] == [absorbed["id"]]
    both = await _resolve(identity, email=email, phone=phone)
    assert both.json()["member_ids"] == sorted([absorbed["id"], survivor["id"]])
    merged = await identity.post(
        "/internal/merges",
        {"survivor_id": survivor["id"], "absorbed_id": absorbed["id"], "reason": "duplicate"},
        actor=identity.ADMIN,
    )
    assert merged.status_code in (200, 201), merged.text
    after = await _resolve(identity, email=email, phone=phone)
    assert after.json()["member_ids"] == [survivor["id"]]


async def test_an_invalid_or_missing_identifier_is_refused_and_members_may_not_resolve(
    identity,
) -> None:
    bad_email = await _resolve(identity, email="not an email")
    assert (bad_email.status_code, bad_email.json()["code"]) == (422, "INVALID_EMAIL")
    bad_phone = await _resolve(identity, phone="12")
    assert (bad_phone.status_code, bad_phone.json()["code"]) == (422, "INVALID_PHONE")
    nothing = await _resolve(identity, email="  ")
    assert (nothing.status_code, nothing.json()["code"]) == (422, "INVALID_INPUT")
    for actor in (identity.member(str(uuid.uuid4())), identity.ANONYMOUS):
        refused = await _resolve(identity, actor=actor, email=identity.unique_email())
        assert (refused.status_code, refused.json()["code"]) == (403, "FORBIDDEN")


async def test_registration_and_link_events_carry_the_same_hashes_as_a_resolution(
    identity,
) -> None:
    email, phone = identity.unique_email(), identity.unique_phone()
    member = await identity.register(email, phone=phone)
    resolved = (await _resolve(identity, email=email, phone=phone)).json()
    other_phone = identity.unique_phone()
    linked = await identity.post(
        f"/internal/members/{member['id']}/identifiers",
        {"kind": "phone", "value": other_phone},
        actor=identity.member(member["id"]),
    )
    assert linked.status_code == 201, linked.text
    card = await identity.post(
        f"/internal/members/{member['id']}/identifiers",
        {"kind": "membership_card", "value": uuid.uuid4().hex[:12]},
        actor=identity.member(member["id"]),
    )
    assert card.status_code == 201, card.text
    # a phone is linked once the code sent to it comes back; a card at once
    await identity.verify(member["id"], "phone", linked.json()["value"])
    registered, card_linked, phone_linked = [
        e
        for e in await _events(identity, member["id"])
        if e["type"] in ("member.registered", "identifier.linked")
    ]
    assert registered["identifier_hashes"] == {
        "email": resolved["email_hash"],
        "phone": resolved["phone_hash"],
    }
    other = (await _resolve(identity, phone=other_phone)).json()
    assert phone_linked == {
        "type": "identifier.linked",
        "member_id": member["id"],
        "kind": "phone",
        "identifier_hash": other["phone_hash"],
    }
    assert card_linked == {
        "type": "identifier.linked",
        "member_id": member["id"],
        "kind": "membership_card",
    }


async def _partner_id(identity) -> str:
    created = await identity.post("/internal/partners", {"name": "Café"}, actor=identity.ADMIN)
    return str(created.json()["id"])


async def test_a_key_is_issued_with_its_scope_and_verifies_with_it(identity) -> None:
    partner = await _partner_id(identity)
    venue = str(uuid.uuid4())
    scope = {
        "triggers": ["purchase", "attendance"],
        "venue_ids": [venue],
        "register_referrals": True,
    }
    issued = await identity.post(
        f"/internal/partners/{partner}/api-keys", {"scope": scope}, actor=identity.ADMIN
    )
    assert issued.status_code == 201, issued.text
    assert issued.json()["key"]["scope"] == {**scope, "triggers": ["attendance", "purchase"]}
    verified = await identity.post(
        "/internal/api-keys/verify", {"api_key": issued.json()["secret"]}
    )
    assert verified.json()["scope"] == {**scope, "triggers": ["attendance", "purchase"]}


async def test_admins_change_a_keys_scope_and_the_change_is_audited(identity) -> None:
    partner = await _partner_id(identity)
    issued = await identity.post(f"/internal/partners/{partner}/api-keys", {}, actor=identity.ADMIN)
    key = issued.json()["key"]
    scope = {"triggers": ["attendance"], "venue_ids": None, "register_referrals": True}
    path = f"/internal/api-keys/{key['id']}/scope"
    for actor in (Actor(ActorKind.PARTNER, partner), Actor(ActorKind.STAFF, str(uuid.uuid4()))):
        refused = await identity.put(path, scope, actor=actor)
        assert (refused.status_code, refused.json()["code"]) == (403, "FORBIDDEN")
    changed = await identity.put(path, scope, actor=identity.ADMIN)
    assert changed.status_code == 200, changed.text
    assert changed.json()["scope"] == scope
    verified = await identity.post(
        "/internal/api-keys/verify", {"api_key": issued.json()["secret"]}
    )
    assert verified.json()["scope"] == scope
    assert (
        await identity.count(
            "audit_log", "action = 'api_key.scope_set' AND subject = :k", k=key["id"]
        )
        == 1
    )
    missing = await identity.put(
        f"/internal/api-keys/{uuid.uuid4()}/scope", scope, actor=identity.ADMIN
    )
    assert (missing.status_code, missing.json()["code"]) == (404, "API_KEY_NOT_FOUND")
    unknown = await identity.put(
        path, {**scope, "triggers": ["Not A Trigger"]}, actor=identity.ADMIN
    )
    assert unknown.status_code == 422
