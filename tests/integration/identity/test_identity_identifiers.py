"""Linking identifiers and resolving them: one member behind many touchpoints, and never a
silent takeover of someone else's identifier."""

from __future__ import annotations

import asyncio
import uuid

import pytest


async def test_any_spelling_of_an_identifier_resolves_to_its_member(identity) -> None:
    email, phone = identity.unique_email(), identity.unique_phone()
    member = await identity.register_verified(email, phone=phone)
    digits = phone.replace(" ", "")

    for kind, value in [
        ("email", email.upper()),
        ("email", f"  {email} "),
        ("phone", phone),
        ("phone", digits),
        ("phone", "+33" + digits[1:]),
        ("phone", ".".join(digits[i : i + 2] for i in range(0, 10, 2))),
        ("phone", "-".join(digits[i : i + 2] for i in range(0, 10, 2))),
    ]:
        response = await identity.get(
            "/internal/resolve", params={"kind": kind, "value": value}, actor=identity.SYSTEM
        )
        assert response.status_code == 200, (kind, value, response.text)
        assert response.json()["member_id"] == member["id"]


async def test_resolving_an_unknown_identifier_is_member_not_found(identity) -> None:
    response = await identity.get(
        "/internal/resolve",
        params={"kind": "email", "value": identity.unique_email()},
        actor=identity.SYSTEM,
    )

    assert response.status_code == 404
    assert response.json()["code"] == "MEMBER_NOT_FOUND"


async def test_members_and_anonymous_callers_cannot_resolve_identifiers(identity) -> None:
    member = await identity.register()
    for actor in (identity.ANONYMOUS, identity.member(member["id"])):
        response = await identity.get(
            "/internal/resolve",
            params={"kind": "email", "value": member["identifiers"][0]["value"]},
            actor=actor,
        )
        assert response.status_code == 403
        assert response.json()["code"] == "FORBIDDEN"


@pytest.mark.parametrize(
    "params",
    [
        {"kind": "shoe_size", "value": "42"},
        {"kind": "email"},
        {"kind": "email", "value": "x" * 101},
    ],
)
async def test_a_malformed_resolution_is_refused(identity, params: dict[str, str]) -> None:
    response = await identity.get("/internal/resolve", params=params, actor=identity.SYSTEM)

    assert response.status_code == 422
    assert response.json()["code"] == "INVALID_INPUT"


async def test_a_member_links_a_card_and_linking_it_again_changes_nothing(identity) -> None:
    member = await identity.register()
    me = identity.member(member["id"])
    path = f"/internal/members/{member['id']}/identifiers"
    card = f"card-{uuid.uuid4().hex[:8]}"

    first = await identity.post(path, {"kind": "membership_card", "value": card}, actor=me)
    again = await identity.post(
        path, {"kind": "membership_card", "value": card.upper().replace("-", " ")}, actor=me
    )

    assert first.status_code == 201, first.text
    assert first.json()["value"] == card.upper().replace("-", "")
    assert again.status_code == 200
    assert again.json() == first.json()
    assert (
        await identity.count(
            "outbox", "type = 'identifier.linked' AND payload->>'member_id' = :m", m=member["id"]
        )
        == 1
    )
    fetched = (await identity.get(f"/internal/members/{member['id']}", actor=me)).json()
    assert {i["kind"] for i in fetched["identifiers"]} == {"email", "membership_card"}


async def test_linking_an_identifier_that_belongs_to_another_member_is_a_conflict(identity) -> None:
    owner = await identity.register_verified()
    other = await identity.register()
    email = owner["identifiers"][0]["value"]

    response = await identity.post(
        f"/internal/members/{other['id']}/identifiers",
        {"kind": "email", "value": email.upper()},
        actor=identity.member(other["id"]),
    )

    assert response.status_code == 409
    assert response.json()["code"] == "IDENTIFIER_TAKEN"
    resolved = await identity.get(
        "/internal/resolve", params={"kind": "email", "value": email}, actor=identity.SYSTEM
    )
    assert resolved.json()["member_id"] == owner["id"]


async def test_of_two_members_racing_for_one_identifier_exactly_one_gets_it(identity) -> None:
    members = [await identity.register() for _ in range(6)]
    ticketing_id = f"TKT-{uuid.uuid4().hex}"

    responses = await asyncio.gather(
        *(
            identity.post(
                f"/internal/members/{m['id']}/identifiers",
                {"kind": "ticketing_id", "value": ticketing_id},
                actor=identity.member(m["id"]),
            )
            for m in members
        )
    )

    assert sorted(r.status_code for r in responses) == [201] + [409] * 5
    winner = members[[r.status_code for r in responses].index(201)]
    assert await identity.count("identifiers", "value = :v", v=ticketing_id) == 1
    resolved = await identity.get(
        "/internal/resolve",
        params={"kind": "ticketing_id", "value": ticketing_id},
        actor=identity.SYSTEM,
    )
    assert resolved.json()["member_id"] == winner["id"]


async def test_a_member_cannot_link_identifiers_to_someone_else(identity) -> None:
    member = await identity.register()
    intruder = await identity.register()

    response = await identity.post(
        f"/internal/members/{member['id']}/identifiers",
        {"kind": "device", "value": "device-123"},
        actor=identity.member(intruder["id"]),
    )

    assert response.status_code == 403
    assert response.json()["code"] == "FORBIDDEN"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"kind": "membership_card", "value": "ab"}, "INVALID_IDENTIFIER"),
        ({"kind": "membership_card", "value": "ab$cd"}, "INVALID_IDENTIFIER"),
        ({"kind": "phone", "value": "123"}, "INVALID_PHONE"),
        ({"kind": "email", "value": "nope"}, "INVALID_EMAIL"),
        ({"kind": "ticketing_id", "value": "bad\u0000id"}, "CONTROL_CHARACTER"),
        ({"kind": "passport", "value": "X1234567"}, "INVALID_INPUT"),
        ({"kind": "device", "value": "d" * 101}, "INVALID_INPUT"),
        ({"kind": "device"}, "INVALID_INPUT"),
        ({"kind": "device", "value": 42}, "INVALID_INPUT"),
    ],
)
async def test_a_malformed_identifier_is_refused_and_nothing_is_written(
    identity, body: dict[str, object], code: str
) -> None:
    member = await identity.register()
    before = await identity.count("identifiers")

    response = await identity.post(
        f"/internal/members/{member['id']}/identifiers", body, actor=identity.member(member["id"])
    )

    assert response.status_code == 422, response.text
    assert response.json()["code"] == code
    assert await identity.count("identifiers") == before


async def test_a_member_id_that_is_not_a_uuid_is_refused(identity) -> None:
    response = await identity.get("/internal/members/not-a-uuid", actor=identity.ADMIN)

    assert response.status_code == 422
    assert response.json()["code"] == "INVALID_INPUT"


async def test_an_unknown_member_is_not_found_for_an_admin(identity) -> None:
    response = await identity.get(f"/internal/members/{uuid.uuid4()}", actor=identity.ADMIN)

    assert response.status_code == 404
    assert response.json()["code"] == "MEMBER_NOT_FOUND"


async def test_preferences_record_consent_history_and_normalise_interests(identity) -> None:
    member = await identity.register()
    me = identity.member(member["id"])
    path = f"/internal/members/{member['id']}/preferences"

    first = await identity.put(
        path,
        {
            "consents": [
                {"channel": "email", "granted": True},
                {"channel": "sms", "granted": True},
            ],
            "invitation_cap_per_30_days": 2,
            "quiet_hours": {"start": "21:00:00", "end": "09:00:00", "timezone": "Europe/Paris"},
            "interests": [" Theatre ", "theatre", "Contemporary  Dance", "MUSIC"],
            "source": "member_app",
        },
        actor=me,
    )
    second = await identity.put(
        path,
        {"consents": [{"channel": "sms", "granted": False}], "clear_quiet_hours": True},
        actor=me,
    )

    assert first.status_code == 200, first.text
    assert first.json()["interests"] == ["theatre", "contemporary dance", "music"]
    assert first.json()["quiet_hours"]["start"] == "21:00:00"
    prefs = second.json()
    assert {c["channel"]: c["granted"] for c in prefs["consents"]} == {"email": True, "sms": False}
    assert prefs["invitation_cap_per_30_days"] == 2
    assert prefs["quiet_hours"] is None
    assert prefs["interests"] == ["theatre", "contemporary dance", "music"]
    assert await identity.count("consents", "member_id = CAST(:m AS uuid)", m=member["id"]) == 3
    events = await identity.count(
        "outbox", "type = 'preferences.updated' AND payload->>'member_id' = :m", m=member["id"]
    )
    assert events == 2


@pytest.mark.parametrize(
    "body",
    [
        {"invitation_cap_per_30_days": 31},
        {"invitation_cap_per_30_days": "lots"},
        {"consents": [{"channel": "pigeon", "granted": True}]},
        {"quiet_hours": {"start": "21:00", "end": "09:00", "timezone": "Mars/Olympus"}},
        {"quiet_hours": {"start": "21:00", "end": "21:00"}},
        {"quiet_hours": {"start": "21:00", "end": "09:00"}, "clear_quiet_hours": True},
        {"interests": ["x" * 41]},
        {"interests": [f"i{n}" for n in range(31)]},
    ],
)
async def test_malformed_preferences_are_refused_and_nothing_is_written(
    identity, body: dict[str, object]
) -> None:
    member = await identity.register()
    before = [await identity.count(t) for t in ("consents", "outbox")]

    response = await identity.put(
        f"/internal/members/{member['id']}/preferences", body, actor=identity.member(member["id"])
    )

    assert response.status_code == 422, response.text
    assert response.json()["code"] == "INVALID_INPUT"
    assert [await identity.count(t) for t in ("consents", "outbox")] == before
