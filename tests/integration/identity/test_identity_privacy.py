"""Members export everything identity holds on them, and erasure pseudonymises them while the
bare id stays for loyalty's ledger."""

from __future__ import annotations

import uuid


async def test_an_export_holds_the_member_consents_merges_and_sessions_without_secrets(
    identity,
) -> None:
    email = identity.unique_email()
    member = await identity.register(email, display_name="Hugo Lefèvre")
    duplicate = await identity.register()
    me = identity.member(member["id"])
    await identity.put(
        f"/internal/members/{member['id']}/preferences",
        {
            "consents": [
                {"channel": "email", "granted": True},
                {"channel": "email", "granted": False},
            ]
        },
        actor=me,
    )
    session = (await identity.login(email)).json()
    await identity.post(
        "/internal/merges",
        {"survivor_id": member["id"], "absorbed_id": duplicate["id"], "reason": "duplicate"},
        actor=identity.ADMIN,
    )

    response = await identity.get(f"/internal/members/{member['id']}/export", actor=me)

    assert response.status_code == 200, response.text
    export = response.json()
    assert export["member"]["display_name"] == "Hugo Lefèvre"
    assert [c["granted"] for c in export["consent_history"]] == [True, False]
    assert [m["absorbed_id"] for m in export["merges"]] == [duplicate["id"]]
    assert len(export["sessions"]) == 1
    assert export["sessions"][0]["id"] == session["refresh_token"].split(".")[0]
    assert set(export["sessions"][0]) == {
        "id",
        "family_id",
        "issued_at",
        "expires_at",
        "used_at",
        "revoked_at",
    }
    secret = session["refresh_token"].split(".")[1]
    assert secret not in response.text
    assert "token_hash" not in response.text
    assert "password" not in response.text


async def test_a_member_cannot_export_someone_else(identity) -> None:
    member, other = await identity.register(), await identity.register()

    response = await identity.get(
        f"/internal/members/{member['id']}/export", actor=identity.member(other["id"])
    )

    assert response.status_code == 403
    assert response.json()["code"] == "FORBIDDEN"


async def test_erasure_pseudonymises_the_member_and_keeps_the_bare_id(identity) -> None:
    email, phone = identity.unique_email(), identity.unique_phone()
    member = await identity.register_verified(
        email, phone=phone, display_name="Amina Diallo", birth_date="1985-02-03T00:00:00"
    )
    me = identity.member(member["id"])
    await identity.put(
        f"/internal/members/{member['id']}/preferences",
        {"consents": [{"channel": "sms", "granted": True}], "interests": ["jazz"]},
        actor=me,
    )
    session = (await identity.login(email)).json()

    response = await identity.post(f"/internal/members/{member['id']}/erase", actor=me)

    assert response.status_code == 200, response.text
    assert response.json()["member_id"] == member["id"]
    fetched = (await identity.get(f"/internal/members/{member['id']}", actor=identity.ADMIN)).json()
    assert fetched["status"] == "erased"
    assert fetched["display_name"] is None
    assert fetched["birth_date"] is None
    assert fetched["identifiers"] == []
    assert fetched["preferences"]["interests"] == []
    assert [c["granted"] for c in fetched["preferences"]["consents"]] == [False]
    assert (
        await identity.count(
            "members", "id = CAST(:m AS uuid) AND password_hash IS NULL", m=member["id"]
        )
        == 1
    )
    # no way back in, and the identifiers are free again
    assert (await identity.login(email)).json()["code"] == "INVALID_CREDENTIALS"
    refreshed = await identity.post(
        "/internal/refresh", {"refresh_token": session["refresh_token"]}
    )
    assert refreshed.json()["code"] == "REFRESH_TOKEN_INVALID"
    unresolved = await identity.get(
        "/internal/resolve", params={"kind": "phone", "value": phone}, actor=identity.SYSTEM
    )
    assert (unresolved.status_code, unresolved.json()["code"]) == (404, "MEMBER_NOT_FOUND")
    # linking to an erased member is refused
    linked = await identity.post(
        f"/internal/members/{member['id']}/identifiers",
        {"kind": "device", "value": "d-1"},
        actor=identity.ADMIN,
    )
    assert linked.json()["code"] == "MEMBER_ERASED"
    assert (
        await identity.count(
            "outbox", "type = 'member.erased' AND payload->>'member_id' = :m", m=member["id"]
        )
        == 1
    )


async def test_erasing_twice_changes_nothing_the_second_time(identity) -> None:
    member = await identity.register()
    path = f"/internal/members/{member['id']}/erase"

    first = await identity.post(path, actor=identity.ADMIN)
    events = await identity.count("outbox", "type = 'member.erased'")
    second = await identity.post(path, actor=identity.ADMIN)

    assert second.status_code == 200
    assert second.json() == first.json()
    assert await identity.count("outbox", "type = 'member.erased'") == events


async def test_erasing_a_survivor_also_empties_the_members_merged_into_it(identity) -> None:
    survivor = await identity.register(display_name="Survivor")
    absorbed = await identity.register(display_name="Absorbed")
    await identity.post(
        "/internal/merges",
        {"survivor_id": survivor["id"], "absorbed_id": absorbed["id"], "reason": "duplicate"},
        actor=identity.ADMIN,
    )

    response = await identity.post(
        f"/internal/members/{absorbed['id']}/erase", actor=identity.ADMIN
    )

    assert response.json()["member_id"] == survivor["id"]
    assert (
        await identity.count(
            "members",
            "id IN (CAST(:s AS uuid), CAST(:a AS uuid)) AND display_name IS NULL "
            "AND password_hash IS NULL",
            s=survivor["id"],
            a=absorbed["id"],
        )
        == 2
    )


async def test_a_member_cannot_erase_someone_else(identity) -> None:
    member, other = await identity.register(), await identity.register()

    response = await identity.post(
        f"/internal/members/{member['id']}/erase", actor=identity.member(other["id"])
    )

    assert (response.status_code, response.json()["code"], response.json()["message"]) == (
        403,
        "FORBIDDEN",
        "a member may only act for themselves",
    )
    fetched = await identity.get(f"/internal/members/{member['id']}", actor=identity.ADMIN)
    assert fetched.json()["status"] == "active"


async def test_erasing_an_unknown_member_is_not_found(identity) -> None:
    response = await identity.post(f"/internal/members/{uuid.uuid4()}/erase", actor=identity.ADMIN)

    assert response.status_code == 404
    assert response.json()["code"] == "MEMBER_NOT_FOUND"
