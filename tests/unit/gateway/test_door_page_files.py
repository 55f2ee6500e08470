"""The door page and its keys, as the gateway serves them: the page under the strict policy with
its own files only, the loyalty service's keys passed on and kept a minute, and a clear 503 when
they cannot be read."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from graphql_schema import door_page
from graphql_schema.door_page import DOOR, KEYS_TTL, DoorKeys
from graphql_schema.pages import CONTENT_SECURITY_POLICY, STATIC_DIR

KEY = {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}


class FakeLoyalty:
    def __init__(self, jwks: dict[str, Any] | Exception) -> None:
        self.jwks = jwks
        self.calls = 0

    async def door_keys(self) -> dict[str, Any]:
        self.calls += 1
        if isinstance(self.jwks, Exception):
            raise self.jwks
        return self.jwks


def _client(loyalty: FakeLoyalty) -> httpx.AsyncClient:
    app = Starlette(routes=door_page.routes(lambda: loyalty))  # type: ignore[arg-type, return-value]
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway")


async def test_the_door_page_is_served_under_the_strict_policy_with_its_own_script_and_style() -> (
    None
):
    async with _client(FakeLoyalty({"keys": []})) as client:
        response = await client.get("/door")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert re.findall(r'(?:href|src)="([^"]+)"', response.text) == [
        "data:,",
        "/static/door.css",
        "/static/door.js",
    ]
    assert "<script>" not in response.text and "http" not in response.text


def test_the_qr_decoder_the_page_loads_when_the_browser_has_none_is_among_the_static_files() -> (
    None
):
    script = (STATIC_DIR / "door.js").read_text()
    assert 'STATIC + "vendor/jsqr/jsQR.js"' in script
    assert (STATIC_DIR / "vendor" / "jsqr" / "jsQR.js").is_file()
    assert (STATIC_DIR / "vendor" / "jsqr" / "LICENSE").is_file()
    assert DOOR.scripts == ("door.js",)


async def test_the_keys_are_the_loyalty_services_passed_on_for_browsers_to_keep_five_minutes() -> (
    None
):
    loyalty = FakeLoyalty({"keys": [KEY, "not a key"]})
    async with _client(loyalty) as client:
        first = await client.get("/door/keys.json")
        second = await client.get("/door/keys.json")
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json() == {"keys": [KEY]}
    assert first.headers["cache-control"] == "public, max-age=300"
    assert loyalty.calls == 1  # kept by the gateway for a minute


async def test_the_gateway_asks_the_loyalty_service_again_once_a_minute_has_passed() -> None:
    now = [0.0]
    loyalty = FakeLoyalty({"keys": [KEY]})
    keys = DoorKeys(lambda: loyalty, clock=lambda: now[0])  # type: ignore[arg-type, return-value]
    await keys.get()
    now[0] = KEYS_TTL - 0.001
    await keys.get()
    assert loyalty.calls == 1
    now[0] = KEYS_TTL
    await keys.get()
    assert loyalty.calls == 2


@pytest.mark.parametrize(
    "failure", [httpx.ConnectError("refused"), KeyError("services")], ids=["down", "starting"]
)
async def test_keys_that_cannot_be_read_are_a_503_that_no_one_keeps(failure: Exception) -> None:
    async with _client(FakeLoyalty(failure)) as client:
        response = await client.get("/door/keys.json")
    assert response.status_code == 503
    assert response.json() == {
        "code": "UNAVAILABLE",
        "message": "the door keys cannot be read now",
    }
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["retry-after"] == "5"


async def test_the_service_worker_may_keep_the_door_page_and_names_the_version_of_its_files() -> (
    None
):
    async with _client(FakeLoyalty({"keys": []})) as client:
        response = await client.get("/door/sw.js")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/javascript; charset=utf-8"
    assert response.headers["service-worker-allowed"] == "/door"
    assert response.headers["cache-control"] == "no-cache"
    first, _, script = response.text.partition("\n")
    assert re.fullmatch(r'var VERSION = "[0-9a-f]{16}";', first)
    assert script == (STATIC_DIR / "door-sw.js").read_text()
    for name in door_page.OFFLINE_FILES:
        assert (STATIC_DIR / name).is_file()
        if name != "door-sw.js":
            assert f'"static/{name}"' in script  # kept for the page to open offline


def test_the_version_changes_with_any_of_the_pages_files(monkeypatch: pytest.MonkeyPatch) -> None:
    before = door_page.service_worker().partition("\n")[0]
    changed = door_page.Page("Door · check-in", scripts=("door.js",), body="<main></main>")
    monkeypatch.setattr(door_page, "DOOR", changed)
    assert door_page.service_worker().partition("\n")[0] != before
