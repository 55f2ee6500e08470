"""Merging duplicate members: an explicit, audited admin action after which every id and every
identifier of the absorbed member leads to the survivor."""

from __future__ import annotations

import asyncio
import uuid

import pytest


async def _merge(identity, survivor: str, absorbed: str, actor=None):
    return await identity.post(
        "/internal/merges",
        {"survivor_id": survivor, "absorbed_id": absorbed, "reason": "same person at the desk"},
        actor=actor or identity.ADMIN,
    )


async def test_a_merge_moves_identifiers_and_resolves_the_absorbed_id_to_the_survivor(
    identity,
) -> None:
    survivor = await identity.register()
    absorbed_email = identity.unique_email()
    absorbed = await identity.register_verified(absorbed_email, phone=identity.unique_phone())
    await identity.put(
        f"/internal/members/{absorbed['id']}/preferences",
        {"consents": [{"channel": "post", "granted": True}]},
        actor=identity.member(absorbed["id"]),
    )
    token = (await identity.login(absorbed_email)).json()["refresh_token"]

    response = await _merge(identity, survivor["id"], absorbed["id"])

    assert response.status_code == 201, response.text
    result = response.json()
    assert result["survivor_id"] == survivor["id"]
    assert result["absorbed_id"] == absorbed["id"]
    assert result["identifiers_moved"] == 2
    fetched = (
        await identity.get(f"/internal/members/{absorbed['id']}", actor=identity.ADMIN)
    ).json()
    assert fetched["id"] == survivor["id"]
    assert fetched["merged_from"] == [absorbed["id"]]
    assert {i["kind"] for i in fetched["identifiers"]} == {"email", "phone"}
    assert [(c["channel"], c["granted"]) for c in fetched["preferences"]["consents"]] == [
        ("post", True)
    ]
    resolved = await identity.get(
        "/internal/resolve",
        params={"kind": "email", "value": absorbed_email},
        actor=identity.SYSTEM,
    )
    assert resolved.json()["member_id"] == survivor["id"]
    # the absorbed member's sessions are over
    refreshed = await identity.post("/internal/refresh", {"refresh_token": token})
    assert refreshed.json()["code"] == "REFRESH_TOKEN_INVALID"
    # audited, and announced to loyalty in the same transaction
    assert await identity.count("merges", "id = CAST(:m AS uuid)", m=result["merge_id"]) == 1
    assert (
        await identity.count(
            "outbox",
            "type = 'members.merged' AND payload->>'survivor_id' = :s "
            "AND payload->>'absorbed_id' = :a AND payload->>'merge_id' = :m "
            "AND payload->>'member_id' = :s",
            s=survivor["id"],
            a=absorbed["id"],
            m=result["merge_id"],
        )
        == 1
    )


async def test_the_absorbed_members_email_logs_in_to_the_survivor(identity) -> None:
    survivor = await identity.register()
    absorbed_email = identity.unique_email()
    absorbed = await identity.register(absorbed_email)
    await _merge(identity, survivor["id"], absorbed["id"])

    session = await identity.login(absorbed_email.upper())

    assert session.status_code == 200, session.text
    assert session.json()["subject_id"] == survivor["id"]


async def test_the_absorbed_members_own_password_no_longer_signs_in_and_its_id_acts_for_no_one(
    identity,
) -> None:
    survivor = await identity.register()
    absorbed_email = identity.unique_email()
    absorbed = await identity.post(
        "/internal/members", {"email": absorbed_email, "password": "copper meadow dances"}
    )
    assert absorbed.status_code == 201, absorbed.text
    absorbed_id = absorbed.json()["id"]
    await _merge(identity, survivor["id"], absorbed_id)

    refused = await identity.login(absorbed_email, "copper meadow dances")
    assert (refused.status_code, refused.json()["code"]) == (401, "INVALID_CREDENTIALS")
    for requested in (absorbed_id, survivor["id"]):
        read = await identity.get(
            f"/internal/members/{requested}", actor=identity.member(absorbed_id)
        )
        assert (read.status_code, read.json()["code"]) == (403, "FORBIDDEN")
    own = await identity.get(
        f"/internal/members/{absorbed_id}", actor=identity.member(survivor["id"])
    )
    assert (own.status_code, own.json()["id"]) == (200, survivor["id"])
    feed = (await identity.get("/internal/revocations", actor=None)).json()["revocations"]
    assert [(r["kind"], r["subject"]) for r in feed if r["subject"] == absorbed_id] == [
        ("member", absorbed_id)
    ]


async def test_a_chain_of_merges_resolves_every_absorbed_id_to_the_final_survivor(
    identity,
) -> None:
    a, b, c, d = [await identity.register() for _ in range(4)]

    assert (await _merge(identity, b["id"], a["id"])).status_code == 201
    assert (await _merge(identity, c["id"], b["id"])).status_code == 201
    # a survivor given by an absorbed id is followed to its own survivor
    assert (await _merge(identity, a["id"], d["id"])).json()["survivor_id"] == c["id"]

    for member in (a, b, c, d):
        fetched = await identity.get(f"/internal/members/{member['id']}", actor=identity.ADMIN)
        assert fetched.json()["id"] == c["id"]
    final = (await identity.get(f"/internal/members/{c['id']}", actor=identity.ADMIN)).json()
    assert sorted(final["merged_from"]) == sorted([a["id"], b["id"], d["id"]])
    assert len(final["identifiers"]) == 4
    # path compression: every absorbed member points straight at the survivor
    assert (
        await identity.count(
            "members", "merged_into = CAST(:c AS uuid) AND status = 'merged'", c=c["id"]
        )
        == 3
    )


async def test_merging_a_member_into_itself_is_refused(identity) -> None:
    a, b = await identity.register(), await identity.register()
    await _merge(identity, b["id"], a["id"])

    same = await _merge(identity, a["id"], a["id"])
    via_absorbed = await _merge(identity, a["id"], b["id"])

    assert same.json()["code"] == "SAME_MEMBER"
    assert via_absorbed.json()["code"] == "SAME_MEMBER"


async def test_a_member_already_merged_cannot_be_absorbed_again(identity) -> None:
    a, b, c = [await identity.register() for _ in range(3)]
    await _merge(identity, b["id"], a["id"])

    response = await _merge(identity, c["id"], a["id"])

    assert response.status_code == 409
    assert response.json()["code"] == "ALREADY_MERGED"


async def test_merging_an_unknown_member_is_not_found(identity) -> None:
    member = await identity.register()

    unknown_absorbed = await _merge(identity, member["id"], str(uuid.uuid4()))
    unknown_survivor = await _merge(identity, str(uuid.uuid4()), member["id"])

    assert unknown_absorbed.status_code == 404
    assert unknown_absorbed.json()["code"] == "MEMBER_NOT_FOUND"
    assert unknown_survivor.json()["code"] == "MEMBER_NOT_FOUND"


@pytest.mark.parametrize("kind", ["member", "staff", "system", "anonymous"])
async def test_only_an_admin_may_merge(identity, kind: str) -> None:
    from services.common.actor import Actor, ActorKind

    a, b = await identity.register(), await identity.register()
    before = await identity.count("merges")

    response = await _merge(identity, a["id"], b["id"], actor=Actor(ActorKind(kind), a["id"]))

    assert response.status_code == 403
    assert response.json()["code"] == "FORBIDDEN"
    assert await identity.count("merges") == before


async def test_two_admins_merging_the_same_duplicate_at_once_merge_it_once(identity) -> None:
    absorbed = await identity.register()
    survivors = [await identity.register() for _ in range(4)]

    responses = await asyncio.gather(
        *(_merge(identity, s["id"], absorbed["id"]) for s in survivors)
    )

    assert sorted(r.status_code for r in responses) == [201, 409, 409, 409]
    assert await identity.count("merges", "absorbed_id = CAST(:a AS uuid)", a=absorbed["id"]) == 1


async def test_crossed_merges_at_once_never_deadlock_and_leave_one_survivor(identity) -> None:
    a, b = await identity.register(), await identity.register()

    responses = await asyncio.gather(
        _merge(identity, a["id"], b["id"]), _merge(identity, b["id"], a["id"])
    )

    assert sorted(r.status_code for r in responses) == [201, 409]
    winner = next(r.json() for r in responses if r.status_code == 201)
    for member in (a, b):
        fetched = await identity.get(f"/internal/members/{member['id']}", actor=identity.ADMIN)
        assert fetched.json()["id"] == winner["survivor_id"]


async def test_a_malformed_merge_is_refused(identity) -> None:
    before = await identity.count("merges")
    for body in (
        {"survivor_id": "nope", "absorbed_id": str(uuid.uuid4()), "reason": "x"},
        {"survivor_id": str(uuid.uuid4()), "absorbed_id": str(uuid.uuid4()), "reason": ""},
        {"survivor_id": str(uuid.uuid4()), "absorbed_id": str(uuid.uuid4()), "reason": "x" * 501},
    ):
        response = await identity.post("/internal/merges", body, actor=identity.ADMIN)
        assert response.status_code == 422
        assert response.json()["code"] == "INVALID_INPUT"
    assert await identity.count("merges") == before
