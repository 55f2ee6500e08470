"""Fuzzing the services' internal HTTP APIs: Schemathesis writes requests for every route of
identity and loyalty from an OpenAPI document made of the routes and their contract models (valid
requests and, in its negative mode, requests that break the schema), with ids that exist, hostile
values and bodies, odd actors and wrong service credentials mixed in. Whatever the request, a
service answers without a 5xx, without an INTERNAL_ERROR and without a word of its implementation
(tracebacks, SQL, drivers, paths).

``LOYALTY_FUZZ_SERVICE_REQUESTS`` sets how many requests each service is sent (600 by default)."""

from __future__ import annotations

import base64
import inspect
import json
import os
import re
from typing import Any
from urllib.parse import urlencode

import httpx
import jwt
import pytest
from hypothesis import example, given

from services.common.actor import SYSTEM
from tests.integration.fuzz.internal_api import (
    SERVICES,
    Known,
    Request,
    app_routes,
    fuzz_text_of,
    requests,
)
from tests.integration.fuzz.platform import SECRET, Platform, assert_answered_cleanly, fuzzing

EXAMPLES = int(os.environ.get("LOYALTY_FUZZ_SERVICE_REQUESTS", "600"))


def _bearer(claims: dict[str, Any]) -> str:
    return "Bearer " + jwt.encode(claims, SECRET, algorithm="HS256")


def _event(kind: str, payload: dict[str, Any]) -> bytes:
    event = {
        "event_id": "5d7f3a2b-1c4e-4f6a-8b9c-0d1e2f3a4b5c",
        "type": kind,
        "occurred_at": "2026-12-01T19:30:00+01:00",
        "payload": payload,
    }
    return json.dumps({"events": [event]}).encode()


def _referral_cursor(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


#: stands for a valid service credential, made when the request is sent
VALID = ("authorization", "<a valid service token>")
_SYSTEM = (VALID, ("x-actor-kind", "system"), ("x-actor-id", "system"))
_MEMBER = "3f2b5c1e-8a7d-4e6f-9b0c-1d2e3f4a5b6c"

#: Requests that once failed inside, kept so that they are tried on every run.
REGRESSIONS: dict[str, list[Request]] = {
    "identity": [
        # a service token signed with the secret but without an expiry: the middleware read
        # the missing claim and answered INTERNAL_ERROR
        Request(
            "GET",
            f"/internal/members/{_MEMBER}",
            headers=(("authorization", _bearer({"aud": "identity"})), *_SYSTEM[1:]),
        ),
    ],
    "loyalty": [
        Request(
            "GET",
            "/internal/experiences/e3e70682-c209-1cac-a29f-6fbed82c07cd",
            headers=(("authorization", _bearer({"aud": "loyalty"})),),
        ),
        # identity's events whose payloads lack the ids loyalty reads, or carry a cap beyond
        # PostgreSQL's integers: KeyError, ValueError, DataError inside the consumer
        *(
            Request("POST", "/internal/events", headers=_SYSTEM, content=_event(kind, payload))
            for kind, payload in [
                ("member.erased", {}),
                ("members.merged", {"survivor_id": _MEMBER}),
                ("member.registered", {"member_id": "0"}),
                ("registration.attempted", {"member_id": 7}),
                ("member.registered", {"member_id": _MEMBER, "identifier_hashes": [1]}),
                (
                    "preferences.updated",
                    {"member_id": _MEMBER, "preferences": {"invitation_cap_per_30_days": 10**20}},
                ),
            ]
        ),
        # a staff member's venue or a partner's id that is not a UUID, read as one
        Request(
            "GET",
            "/internal/experience-figures",
            headers=(
                VALID,
                ("x-actor-kind", "staff"),
                ("x-actor-id", "s"),
                ("x-actor-venues", "0"),
            ),
        ),
        Request(
            "POST",
            "/internal/door/redeem",
            headers=(
                VALID,
                ("x-actor-kind", "staff"),
                ("x-actor-id", "s"),
                ("x-actor-venues", "0"),
            ),
            content=b'{"code": "7KQM-X3TD"}',
        ),
        Request(
            "GET",
            "/internal/partner/referrals",
            headers=(VALID, ("x-actor-kind", "partner"), ("x-actor-id", "p-1")),
        ),
        Request(
            "PUT",
            "/internal/partner/webhook",
            headers=(VALID, ("x-actor-kind", "partner"), ("x-actor-id", "p-1")),
            content=b'{"url": "https://partner.example.org/hooks"}',
        ),
        # instants of year 1 or 9999 whose offset takes them out of those years in UTC
        Request(
            "PATCH",
            "/internal/rewards/e3e70682-c209-1cac-a29f-6fbed82c07cd",
            headers=_SYSTEM,
            content=b'{"valid_until": "9999-12-31T23:59:59-14:00"}',
        ),
        Request(
            "POST",
            "/internal/door/redeem-batch",
            headers=(
                VALID,
                ("x-actor-kind", "staff"),
                ("x-actor-id", "s"),
                ("x-actor-venues", _MEMBER),
            ),
            content=b'{"device_id": "d", "scans": [{"scan_id": "s", "code": "7KQM-X3TD",'
            b' "scanned_at": "0001-01-01T00:00:00+14:00"}]}',
        ),
        *(
            Request(
                "POST",
                "/internal/events",
                headers=_SYSTEM,
                content=_event("registration.attempted", {}).replace(
                    b"2026-12-01T19:30:00+01:00", instant
                ),
            )
            for instant in (b"0001-01-01T00:00:00+14:00", b"9999-12-31T23:59:59-14:00")
        ),
        # a partner's cursor whose time is before year 1 in UTC reached PostgreSQL
        Request(
            "GET",
            "/internal/partner/referrals",
            params=(("after", _referral_cursor(f"0001-01-01T00:00:00+14:00|{_MEMBER}")),),
            headers=(VALID, ("x-actor-kind", "partner"), ("x-actor-id", _MEMBER)),
        ),
    ],
}


def test_every_route_of_each_service_has_a_fuzzing_plan(platform: Platform) -> None:
    """A new route cannot be forgotten: the table lists exactly the routes each app answers, and
    the body model it names is the one the route parses."""
    parsed = re.compile(r"parse_body\(\s*request,\s*(?:[\w.]+\.)?(\w+)\s*\)")
    for service, table in SERVICES.items():
        app = platform.services[service]
        assert set(table) == app_routes(app), service
        endpoints = {
            (method, route.path): route.endpoint
            for route in app.routes
            for method in getattr(route, "methods", None) or ()
        }
        for key, operation in table.items():
            source = inspect.getsource(endpoints[key])
            named = parsed.findall(source)
            expected = [] if operation.body is None else [operation.body.__name__]
            assert named == expected, (service, key)


@pytest.fixture(scope="module")
def known(platform: Platform) -> Known:
    """The ids and secrets of the demo programme, read through the services themselves before
    any fuzzing (which may revoke the key, erase the members, ...)."""
    demo = platform.demo
    system = {**SYSTEM.headers()}

    def get(client: httpx.AsyncClient, audience: str, path: str) -> Any:
        headers = {**system, "authorization": platform.tokens.header(audience)}
        response = platform.run(client.get(path, headers=headers))
        assert response.status_code == 200, (path, response.text)
        return response.json()

    def post(client: httpx.AsyncClient, audience: str, path: str, body: Any) -> Any:
        headers = {**system, "authorization": platform.tokens.header(audience)}
        response = platform.run(client.post(path, json=body, headers=headers))
        assert response.status_code == 200, (path, response.text)
        return response.json()

    members = [m["memberId"] for m in demo["members"]]
    experiences = [e["experienceId"] for e in demo.get("experiences", [])]
    invitations = [
        invitation
        for member in members
        for invitation in get(
            platform.loyalty, "loyalty", f"/internal/members/{member}/invitations"
        )
    ]
    issuances = [
        issuance["id"]
        for experience in experiences
        for issuance in get(
            platform.loyalty, "loyalty", f"/internal/experiences/{experience}/issuances"
        )
    ]
    codes = [
        get(platform.loyalty, "loyalty", f"/internal/members/{member}/referral-code")["code"]
        for member in members
    ]
    api_keys = [p["apiKey"] for p in demo["partners"]]
    keys = [
        post(platform.identity, "identity", "/internal/api-keys/verify", {"api_key": key})["key_id"]
        for key in api_keys
    ]
    member = demo["members"][0]
    session = post(
        platform.identity,
        "identity",
        "/internal/login",
        {"email": member["email"], "password": member["password"], "client_address": "fuzz"},
    )
    doors = [i["door"] for i in invitations if i.get("door")]
    return Known(
        ids={
            "member": members,
            "venue": [s["venueId"] for s in demo["staff"]],
            "partner": [p["partnerId"] for p in demo["partners"]],
            "reward": [r["rewardId"] for r in demo["rewards"]],
            "experience": experiences,
            "invitation": [i["id"] for i in invitations],
            "issuance": issuances,
            "key": keys,
        },
        emails=[m["email"] for m in demo["members"]] + [s["email"] for s in demo["staff"]],
        passwords=[m["password"] for m in demo["members"]],
        api_keys=api_keys,
        refresh_tokens=[session["refresh_token"]],
        codes=codes + [d["code"] for d in doors],
        door_tokens=[d["token"] for d in doors],
    )


def send(platform: Platform, service: str, request: Request) -> httpx.Response:
    client = platform.identity if service == "identity" else platform.loyalty
    url = request.path
    if request.params:
        url += "?" + urlencode(request.params, encoding="utf-8", errors="surrogatepass")
    headers = [
        (k.encode(), (platform.tokens.header(service) if (k, v) == VALID else v).encode("latin-1"))
        for k, v in request.headers
    ]
    platform.sent += 1
    return platform.run(
        client.request(request.method, url, headers=headers, content=request.content)
    )


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_generated_requests_never_fail_inside(
    platform: Platform, known: Known, service: str
) -> None:
    answered: list[int] = []

    @fuzzing(EXAMPLES)
    @given(request=requests(service, known, SECRET))
    def call(request: Request) -> None:
        response = send(platform, service, request)
        answered.append(response.status_code)
        assert_answered_cleanly(response, fuzz_text_of(request))

    for regression in REGRESSIONS[service]:
        call = example(request=regression)(call)
    call()
    assert len(answered) >= EXAMPLES
