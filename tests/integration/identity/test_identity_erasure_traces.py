"""What identity keeps besides the member's own rows, and what erasure leaves of it: idempotency
claims keep a keyed hash of the request and ids only, the outbox's events lose the member's
personal data, and the export shows the audit log's rows about the member."""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from datetime import date
from typing import Any

import sqlalchemy as sa

from services.identity import normalise
from services.identity.idempotency import keyed_request_hash
from services.identity.privacy.queries import KEPT_AFTER_ERASURE


async def _claim(identity: Any, key: str) -> Any:
    async with identity.engine.connect() as conn:
        return (
            await conn.execute(
                sa.text(
                    "SELECT request_hash, response, response::text AS text "
                    "FROM identity.idempotency WHERE scope = 'register_member' AND key = :k"
                ),
                {"k": key},
            )
        ).first()


async def _identifier_key(identity: Any) -> bytes:
    async with identity.engine.connect() as conn:
        return bytes(await conn.scalar(sa.text("SELECT key FROM identity.identifier_keys")))


async def test_a_registrations_claim_keeps_a_keyed_hash_and_the_member_id_and_erasure_forgets_it(
    identity: Any,
) -> None:
    email, phone, key = identity.unique_email(), identity.unique_phone(), str(uuid.uuid4())
    body = {
        "email": email,
        "password": identity.PASSWORD,
        "phone": phone,
        "display_name": "Maëlle Kerguelen",
        "birth_date": "1979-11-23T00:00:00",
        "idempotency_key": key,
    }

    created = await identity.post("/internal/members", body)

    assert created.status_code == 201, created.text
    member_id = created.json()["id"]
    claim = await _claim(identity, key)
    assert claim.response == {"member_id": member_id}
    fields = {
        "email": email,
        "phone": normalise.phone(phone),
        "display_name": "Maëlle Kerguelen",
        "locale": "en",
        "birth_date": date(1979, 11, 23),
    }
    assert claim.request_hash == keyed_request_hash(await _identifier_key(identity), fields)
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), default=str)
    assert claim.request_hash != hashlib.sha256(canonical.encode()).hexdigest()
    for personal in (email, "Maëlle", "1979-11-23", normalise.phone(phone)):
        assert personal not in claim.text
    # the claim still answers a retry
    again = await identity.post("/internal/members", body)
    assert (again.status_code, again.json()["id"]) == (200, member_id)

    erased = await identity.post(
        f"/internal/members/{member_id}/erase", actor=identity.member(member_id)
    )

    assert erased.status_code == 200, erased.text
    assert await _claim(identity, key) is None


async def test_a_registration_answered_as_if_made_keeps_no_personal_data_and_answers_again(
    identity: Any,
) -> None:
    owner_email = identity.unique_email()
    owner = await identity.register(owner_email)
    key = str(uuid.uuid4())
    body = {
        "email": owner_email.upper(),
        "password": identity.PASSWORD,
        "display_name": "Corentin Le Gall",
        "birth_date": "1990-04-17T00:00:00",
        "locale": "fr",
        "idempotency_key": key,
    }

    first = await identity.post("/internal/members", body)

    assert (first.status_code, first.json()["code"]) == (409, "IDENTIFIER_TAKEN")
    would_be = first.json()["details"]["member"]
    assert (would_be["display_name"], would_be["birth_date"]) == ("Corentin Le Gall", "1990-04-17")
    claim = await _claim(identity, key)
    assert set(claim.response) == {"member_id", "taken", "owner_id", "at", "password_hash"}
    assert (claim.response["member_id"], claim.response["owner_id"]) == (
        would_be["id"],
        owner["id"],
    )
    assert claim.response["taken"] == "email"
    assert re.fullmatch(r"[0-9a-f]{64}", claim.request_hash)
    for personal in (owner_email, "Corentin", "1990-04-17"):
        assert personal not in claim.text

    again = await identity.post("/internal/members", body)
    other_password = await identity.post(
        "/internal/members", {**body, "password": "another horse battery staple"}
    )

    assert again.status_code == 409
    assert again.json()["details"] == {**first.json()["details"], "created": False}
    assert other_password.json()["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert await identity.count("members", "id = CAST(:m AS uuid)", m=would_be["id"]) == 0

    await identity.post(f"/internal/members/{owner['id']}/erase", actor=identity.ADMIN)

    assert await _claim(identity, key) is None


async def _payloads(identity: Any, member_id: str) -> list[dict[str, Any]]:
    async with identity.engine.connect() as conn:
        rows = await conn.execute(
            sa.text(
                "SELECT type, payload FROM identity.outbox "
                "WHERE payload->>'member_id' = :m OR payload->>'absorbed_id' = :m ORDER BY id"
            ),
            {"m": member_id},
        )
        return [{"type": r.type, **r.payload} for r in rows]


async def test_erasure_empties_the_outbox_events_about_the_member_of_their_personal_data(
    identity: Any,
) -> None:
    email, phone = identity.unique_email(), identity.unique_phone()
    member = await identity.register(email, birth_date="1958-06-30T00:00:00", locale="fr")
    duplicate = await identity.register()
    me = identity.member(member["id"])
    await identity.put(
        f"/internal/members/{member['id']}/preferences",
        {
            "consents": [{"channel": "sms", "granted": True}],
            "interests": ["baroque-opera"],
            "quiet_hours": {"start": "21:30:00", "end": "08:15:00", "timezone": "Europe/Paris"},
        },
        actor=me,
    )
    linked = await identity.post(
        f"/internal/members/{member['id']}/identifiers",
        {"kind": "phone", "value": phone},
        actor=me,
    )
    assert linked.status_code == 201, linked.text
    await identity.verify(member["id"], "phone", linked.json()["value"])
    await identity.post(
        "/internal/merges",
        {"survivor_id": member["id"], "absorbed_id": duplicate["id"], "reason": "duplicate"},
        actor=identity.ADMIN,
    )
    before = await _payloads(identity, member["id"])
    assert {"birth_date", "preferences", "identifier_hashes", "identifier_hash"} <= {
        k for p in before for k in p
    }

    await identity.post(f"/internal/members/{member['id']}/erase", actor=me)

    after = await _payloads(identity, member["id"])
    assert [p["type"] for p in after] == [p["type"] for p in before] + ["member.erased"]
    for payload in after:
        assert set(payload) - {"type"} <= set(KEPT_AFTER_ERASURE)
    text = json.dumps(after)
    personal_values = ("1958-06-30", "baroque-opera", "21:30", "Europe/Paris", '"fr"', email)
    for personal in (*personal_values, linked.json()["value"]):
        assert personal not in text
    for hashed in (h for p in before for h in (p.get("identifier_hashes") or {}).values()):
        assert hashed not in text
    # the absorbed member's own registration lost its hashes too
    absorbed = await _payloads(identity, duplicate["id"])
    assert all("identifier_hashes" not in p for p in absorbed)


async def test_the_export_shows_the_audit_logs_rows_about_the_member(identity: Any) -> None:
    member = await identity.register()
    await identity.post(f"/internal/members/{member['id']}/erase", actor=identity.ADMIN)

    response = await identity.get(f"/internal/members/{member['id']}/export", actor=identity.ADMIN)

    assert response.status_code == 200, response.text
    [row] = response.json()["audit"]
    assert (row["action"], row["subject"], row["actor"]) == (
        "member.erased",
        member["id"],
        identity.ADMIN.label(),
    )
    assert row["details"] == {}
