"""The demo printout tells a newcomer how each role signs in and the ids the examples need, and
every credential and id it prints works; the partner's key is issued once, kept in the data
folder for its owner only, shown again, and replaced (the old one revoked) when it is lost."""

from __future__ import annotations

import asyncio
import json
import re
import stat
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from served import LOYALTY, ROOT, Served, serve_env

from services.common.db import asyncpg_dsn
from tests.conftest import KEY_ENCRYPTION_SECRET

pytestmark = pytest.mark.e2e

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
LOGIN = """mutation($i: LoginInput!) { login(input: $i) {
  __typename ... on Session { accessToken subjectId subjectKind } ... on UserError { code } } }"""


def gql(url: str, query: str, variables: dict[str, Any] | None = None, **headers: str) -> Any:
    response = httpx.post(
        f"{url}/graphql",
        json={"query": query, "variables": variables or {}},
        headers={k.replace("_", "-"): v for k, v in headers.items()},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return response.json()


def login(url: str, email: str, password: str, portal: str | None = None) -> dict[str, Any]:
    given = {"email": email, "password": password}
    if portal:
        given["portal"] = portal
    result: dict[str, Any] = gql(url, LOGIN, {"i": given})["data"]["login"]
    return result


def printed(output: str, kind: str, text: str) -> str:
    """The id printed with ``kind`` on the line that names ``text``."""
    [found] = re.findall(rf"^.*{re.escape(text)}.*\b{kind} ({UUID})$", output, re.M)
    return str(found)


def test_serve_prints_how_each_role_signs_in_and_every_credential_and_id_works(
    newcomer: Served,
) -> None:
    output, url = newcomer.output(), newcomer.url
    assert f"GraphiQL: {url}/graphql  (headers go in its Headers tab)" in output.splitlines()
    assert "Members (login with portal MEMBER, the default):" in output
    assert "Venue staff (login with portal: STAFF; they record points for their venue):" in output
    assert "Admin (login with portal: STAFF):" in output
    assert 'Partner (no sign-in: send the header "X-API-Key: <key>"):' in output

    members = re.findall(rf"^  .+?  (\S+@\S+) / (\S+)\s+member ({UUID})$", output, re.M)
    assert [email for email, _, _ in members] == [
        "ines.moreau@example.org",
        "hugo.lefevre@example.org",
        "amelia.clarke@example.org",
    ]
    for email, password, member_id in members:
        assert login(url, email, password)["subjectId"] == member_id

    staff = re.findall(rf"^  .+?  (\S+@\S+) / (\S+)\s+venue ({UUID})$", output, re.M)
    assert len(staff) == 2
    for email, password, _venue in staff:
        # without the portal, staff meet the member portal, which does not know them
        assert login(url, email, password) == {
            "__typename": "InvalidCredentials",
            "code": "INVALID_CREDENTIALS",
        }
        assert login(url, email, password, "STAFF")["subjectKind"] == "staff"
    [(admin_email, admin_password)] = re.findall(
        r"^Admin \(login with portal: STAFF\):\n  (\S+) / (\S+)$", output, re.M
    )
    assert login(url, admin_email, admin_password, "STAFF")["subjectKind"] == "admin"

    [api_key] = re.findall(r"X-API-Key: (lk_\S+)", output)
    catalogue = gql(url, "{ rewards { id key cost } }", x_api_key=api_key)
    assert "errors" not in catalogue
    rewards = {r["key"]: r["id"] for r in catalogue["data"]["rewards"]}
    assert {key: printed(output, "reward", key) for key in rewards} == rewards
    refused = gql(url, "{ rewards { id } }", x_api_key=api_key[:-1] + "x")
    assert refused["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"

    assert (
        "Exclusive experience (staff of its venue issue invitations and check guests in at"
        " /door; members see theirs in me { invitations }):" in output
    )
    [(title, venue_name, starts_at, invited, accepted, experience_id)] = re.findall(
        rf"^  (.+?)  at (.+?), starts (\S+)  (\d+) invited, accepted by (.+?)"
        rf"  experience ({UUID})$",
        output,
        re.M,
    )
    assert (title, invited, accepted) == ("Open rehearsal with the orchestra", "3", "Inès Moreau")
    venues = {
        name: (email, password, venue)
        for name, email, password, venue in re.findall(
            rf"^  (.+?)\s+(\S+@\S+) / (\S+)\s+venue ({UUID})$", output, re.M
        )
    }
    staff_email, staff_password, venue_id = venues[venue_name]
    staff_token = login(url, staff_email, staff_password, "STAFF")["accessToken"]
    seen = gql(
        url,
        "query($id: ID!) { experience(id: $id) { id title venueId startsAt seats seatsTaken } }",
        {"id": experience_id},
        authorization=f"Bearer {staff_token}",
    )
    assert seen["data"]["experience"] == {
        "id": experience_id,
        "title": title,
        "venueId": venue_id,
        "startsAt": starts_at,
        "seats": 20,
        "seatsTaken": 2,  # Inès and her guest
    }
    invitations = "{ me { invitations { state guestSeats experience { id } door { code } } } }"
    for email, password, _member_id in members:
        token = login(url, email, password)["accessToken"]
        [mine] = gql(url, invitations, authorization=f"Bearer {token}")["data"]["me"]["invitations"]
        assert mine["experience"]["id"] == experience_id
        if email == "ines.moreau@example.org":
            assert (mine["state"], mine["guestSeats"]) == ("ACCEPTED", 1)
            assert re.fullmatch(r"[0-9A-Z]{4}-[0-9A-Z]{4}", mine["door"]["code"])
        else:
            assert (mine["state"], mine["guestSeats"], mine["door"]) == ("OFFERED", 0, None)


def seed_demo(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [str(LOYALTY), "seed-demo", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


async def working_demo_keys(url: str) -> list[str]:
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        rows = await conn.fetch(
            "SELECT k.idempotency_key FROM identity.api_keys k"
            " JOIN identity.partners p ON p.id = k.partner_id"
            " WHERE p.external_id = 'demo-partner-billetterie' AND k.revoked_at IS NULL"
        )
    finally:
        await conn.close()
    return [r["idempotency_key"] for r in rows]


def test_seed_demo_issues_the_partner_key_once_keeps_it_and_replaces_it_when_lost(
    make_database: Callable[[], str], tmp_path: Path
) -> None:
    url = make_database()
    data_dir = tmp_path / "data"
    # an external database: the secret that seals the signing and door keys must be given
    env = serve_env(
        data_dir, LOYALTY_DATABASE_URL=url, LOYALTY_KEY_ENCRYPTION_SECRET=KEY_ENCRYPTION_SECRET
    )
    kept_in = data_dir / "demo-partner-api-key.json"

    first = seed_demo(env)
    assert first.startswith(
        "The demo programme is in the database (seeded once: a second run adds nothing).\n"
    )
    assert "GraphiQL" not in first  # it serves nothing
    [key] = re.findall(r"X-API-Key: (lk_\S+)", first)
    assert (
        f"  This key was issued now and is kept in {kept_in} (only you can read it): later starts"
        " show it again."
    ) in first.splitlines()
    assert stat.S_IMODE(kept_in.stat().st_mode) == 0o600
    assert json.loads(kept_in.read_text())["apiKey"] == key

    second = seed_demo(env)
    assert re.findall(r"X-API-Key: (lk_\S+)", second) == [key]
    assert (
        f"  This key is the one kept in {kept_in} (only you can read it) since it was issued."
    ) in second.splitlines()
    assert json.loads(seed_demo(env, "--json"))["partners"][0]["apiKey"] == key
    assert asyncio.run(working_demo_keys(url)) == ["demo-partner-key-1"]

    kept_in.unlink()
    third = seed_demo(env)
    [new_key] = re.findall(r"X-API-Key: (lk_\S+)", third)
    assert new_key != key
    assert (
        f"  The key kept in {kept_in} was missing or did not work with this database: this new"
        " key replaces it there, and the earlier demo keys are revoked."
    ) in third.splitlines()
    assert asyncio.run(working_demo_keys(url)) == ["demo-partner-key-2"]
    assert json.loads(kept_in.read_text())["apiKey"] == new_key
