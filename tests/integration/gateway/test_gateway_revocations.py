"""Revocations honoured at once by every gateway: two gateways (two app objects) share one
identity service and one loyalty service over PostgreSQL, and what is revoked through one is
refused by both as soon as identity's revocation feed has delivered it (polled for, never
timed), while access tokens are still verified without a call to identity per request."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import pytest_asyncio

from graphql_schema.app import create_app as create_gateway
from services.common.db import create_engine
from services.common.settings import Settings
from services.demo import seed_demo
from services.identity.api import create_app as create_identity
from services.loyalty.api import create_app as create_loyalty
from tests.conftest import KEY_ENCRYPTION_SECRET, service_urls
from tests.integration.gateway.conftest import LOGIN, PASSWORD, REGISTER, SECRET, Gateway

ME = "{ me { id } }"
REFRESH = """mutation Refresh($input: RefreshSessionInput!) { refreshSession(input: $input) {
  __typename ... on Session { accessToken refreshToken } ... on UserError { code message } } }"""
REVOKED = {"code": "UNAUTHENTICATED", "reason": "TOKEN_REVOKED"}
POLLS = 200  # a bound on how long a revocation may take to reach a gateway (about 10 s)


class CutTransport(httpx.AsyncBaseTransport):
    """An ASGI transport whose revocation feed can be cut, as if identity were unreachable, or
    can bring a kind of revocation the gateway does not know, as a newer identity would; it
    counts the API keys the gateway asks identity to verify."""

    def __init__(self, app: Any) -> None:
        self.inner = httpx.ASGITransport(app=app)
        self.feed_cut = False
        self.newer_kind: dict[str, str] | None = None  # added to the next page with revocations
        self.key_checks = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if self.feed_cut and path == "/internal/revocations":
            raise httpx.ConnectError("connection refused", request=request)
        self.key_checks += path == "/internal/api-keys/verify"
        response = await self.inner.handle_async_request(request)
        if self.newer_kind is None or path != "/internal/revocations":
            return response
        page = json.loads(await response.aread())
        if not page["revocations"]:
            return httpx.Response(response.status_code, json=page)
        first = page["revocations"][0]
        page["revocations"].insert(0, {**first, **self.newer_kind})
        self.newer_kind = None
        return httpx.Response(response.status_code, json=page)


@dataclass
class Platform:
    a: Gateway
    b: Gateway
    feed: CutTransport  # the transport of gateway ``b`` to identity

    def both(self) -> Iterator[Gateway]:
        yield self.a
        yield self.b


@pytest.fixture(scope="module")
def platform_database_url(make_database: Callable[[], str]) -> str:
    return make_database()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def platform(platform_database_url: str) -> AsyncIterator[Platform]:
    url = platform_database_url
    engine = create_engine(url, pool_size=3, application_name="revocation-tests")
    demo = await seed_demo(engine, key_encryption_secret=KEY_ENCRYPTION_SECRET)
    urls = service_urls(url)
    # ``b`` fails closed when it could not follow the revocations for 1.5 s (polls held 0.5 s)
    settings = Settings(environment="test", relay_interval_seconds=0.05)
    b_settings = Settings(
        environment="test", revocation_poll_seconds=0.5, revocation_max_staleness_seconds=1.5
    )
    loyalty = create_loyalty(settings, database_url=urls.loyalty, service_secret=SECRET)
    identity = create_identity(
        settings,
        database_url=urls.identity,
        service_secret=SECRET,
        loyalty_url="http://loyalty",
        loyalty_transport=httpx.ASGITransport(app=loyalty),
    )
    feed = CutTransport(identity)
    gateways = [
        create_gateway(
            gateway_settings,
            identity_url="http://identity",
            loyalty_url="http://loyalty",
            service_secret=SECRET,
            identity_transport=transport,
            loyalty_transport=httpx.ASGITransport(app=loyalty),
        )
        for gateway_settings, transport in (
            (settings, httpx.ASGITransport(app=identity)),
            (b_settings, feed),
        )
    ]
    async with contextlib.AsyncExitStack() as stack:
        for app in (loyalty, identity, *gateways):
            await stack.enter_async_context(app.router.lifespan_context(app))
        clients = [
            await stack.enter_async_context(
                httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw")
            )
            for app in gateways
        ]
        yield Platform(Gateway(clients[0], engine, demo), Gateway(clients[1], engine, demo), feed)
    await engine.dispose()


async def error_of(gateway: Gateway, token: str, query: str = ME) -> dict[str, Any] | None:
    """The extensions of the error a signed-in query gets, or ``None`` when it is answered."""
    body = await gateway.gql(query, token=token)
    if "errors" not in body:
        return None
    extensions: dict[str, Any] = body["errors"][0]["extensions"]
    return extensions


async def eventually(check: Callable[[], Awaitable[bool]]) -> None:
    for _ in range(POLLS):
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("not within the bound")


async def refused_everywhere(platform: Platform, *tokens: str) -> None:
    """Every token is refused as revoked by both gateways, once the feed has delivered."""
    for gateway in platform.both():
        for token in tokens:

            async def refused(gateway: Gateway = gateway, token: str = token) -> bool:
                return await error_of(gateway, token) == REVOKED

            await eventually(refused)


async def register(gateway: Gateway, password: str = PASSWORD) -> tuple[str, str]:
    email = f"r.{uuid.uuid4().hex[:12]}@example.org"
    result = (await gateway.data(REGISTER, {"input": {"email": email, "password": password}}))[
        "registerMember"
    ]
    assert result["__typename"] == "MemberRegistered", result
    return result["member"]["id"], email


async def test_a_refresh_family_revoked_on_reuse_ends_its_access_tokens_on_every_gateway(
    platform: Platform,
) -> None:
    member_id, email = await register(platform.a)
    first = await platform.a.login(email)
    for gateway in platform.both():  # verified by each gateway on its own
        assert (await gateway.data(ME, token=first["accessToken"]))["me"]["id"] == member_id
    second = (await platform.a.data(REFRESH, {"input": {"refreshToken": first["refreshToken"]}}))[
        "refreshSession"
    ]
    assert second["__typename"] == "Session", second
    assert (await platform.b.data(ME, token=second["accessToken"]))["me"]["id"] == member_id
    other = await platform.b.login(email)  # another family of the same member

    reused = (await platform.a.data(REFRESH, {"input": {"refreshToken": first["refreshToken"]}}))[
        "refreshSession"
    ]
    assert reused == {
        "__typename": "RefreshRejected",
        "code": "REFRESH_TOKEN_REUSED",
        "message": "this refresh token was already used; every session of its family is revoked",
    }
    await refused_everywhere(platform, first["accessToken"], second["accessToken"])
    body = await platform.b.gql(ME, token=second["accessToken"])
    assert body["errors"][0]["message"] == "this session was ended; sign in again"
    for gateway in platform.both():  # the member's other session is not the revoked family's
        assert (await gateway.data(ME, token=other["accessToken"]))["me"]["id"] == member_id


async def test_a_gateway_that_cannot_follow_the_revocations_fails_closed_until_it_can_again(
    platform: Platform,
) -> None:
    member_id, email = await register(platform.a)
    token = (await platform.b.login(email))["accessToken"]
    assert (await platform.b.data(ME, token=token))["me"]["id"] == member_id
    ready = await platform.b.client.get("/readyz")
    assert (ready.status_code, ready.json()["revocations"]) == (200, True)
    platform.feed.feed_cut = True
    try:

        async def closed() -> bool:
            return await error_of(platform.b, token) == {
                "code": "UNAUTHENTICATED",
                "reason": "REVOCATIONS_UNAVAILABLE",
            }

        await eventually(closed)
        body = await platform.b.gql(ME, token=token)
        assert body["errors"][0]["message"] == (
            "sign-in cannot be checked right now; try again shortly"
        )
        unready = await platform.b.client.get("/readyz")
        assert unready.status_code == 503
        assert unready.json() == {
            "status": "unavailable",
            "identity": True,
            "loyalty": True,
            "revocations": False,
        }
        # the other gateway follows the feed: it still accepts the token; anonymous reads work
        assert (await platform.a.data(ME, token=token))["me"]["id"] == member_id
        assert "errors" not in await platform.b.gql("{ tiers { name } }")
    finally:
        platform.feed.feed_cut = False

    async def open_again() -> bool:
        return await error_of(platform.b, token) is None

    await eventually(open_again)
    assert (await platform.b.client.get("/readyz")).status_code == 200


EARN = """mutation Earn($input: RecordEarnEventInput!) { recordEarnEvent(input: $input) {
  __typename ... on EarnRecorded { created points } ... on UserError { code message } } }"""
REDEEM = """mutation Redeem($input: RedeemRewardInput!) { redeemReward(input: $input) {
  __typename ... on UserError { code message } } }"""


def ticket(gateway: Gateway, member_id: str) -> dict[str, Any]:
    return {
        "input": {
            "memberId": member_id,
            "externalId": f"ticket-{uuid.uuid4().hex}",
            "trigger": "PURCHASE",
            "occurredAt": datetime.now(UTC).isoformat(),
            "amount": "40.00",
            "currency": "EUR",
            "category": "ticket",
            "venueId": gateway.demo["staff"][0]["venueId"],
        }
    }


async def test_an_erased_member_s_tokens_are_refused_everywhere_and_nothing_more_is_earned(
    platform: Platform,
) -> None:
    member_id, email = await register(platform.a)
    tokens = [(await gateway.login(email))["accessToken"] for gateway in platform.both()]
    staff = await platform.a.staff_token()
    for gateway in platform.both():  # each gateway now knows the member
        earned = await gateway.data(EARN, ticket(gateway, member_id), token=staff)
        assert earned["recordEarnEvent"]["__typename"] == "EarnRecorded", earned
    erased = await platform.b.data("mutation { eraseMe { memberId } }", token=tokens[1])
    assert erased == {"eraseMe": {"memberId": member_id}}
    # the gateway that erased refuses the member's tokens at once, the other once told
    assert await error_of(platform.b, tokens[0]) == REVOKED
    await refused_everywhere(platform, *tokens)
    reward = platform.a.demo["rewards"][0]["rewardId"]
    redeem = {"input": {"rewardId": reward, "idempotencyKey": uuid.uuid4().hex}}
    for gateway in platform.both():
        body = await gateway.gql(REDEEM, redeem, token=tokens[0])
        assert body["errors"][0]["extensions"] == REVOKED
    await platform.a.settle()  # loyalty has received member.erased
    entries = await platform.a.count(f"loyalty.journal_entries WHERE member_id = '{member_id}'")
    for gateway in platform.both():
        refused = await gateway.data(EARN, ticket(gateway, member_id), token=staff)
        assert refused["recordEarnEvent"] == {
            "__typename": "MemberNotFound",
            "code": "MEMBER_ERASED",
            "message": "this member was erased",
        }
    assert await platform.a.count(f"loyalty.journal_entries WHERE member_id = '{member_id}'") == (
        entries
    )


SURVIVOR_PASSWORD = "violet lantern quietly"
ABSORBED_PASSWORD = "copper meadow dances"
MERGE = """mutation Merge($input: MergeMembersInput!) { mergeMembers(input: $input) {
  __typename ... on MembersMerged { survivorId absorbedId } ... on UserError { code } } }"""


async def login_answer(gateway: Gateway, email: str, password: str) -> dict[str, Any]:
    variables = {"input": {"email": email, "password": password, "portal": "MEMBER"}}
    answer: dict[str, Any] = (await gateway.data(LOGIN, variables))["login"]
    return answer


async def test_after_a_merge_the_absorbed_member_s_tokens_and_password_open_nothing(
    platform: Platform,
) -> None:
    survivor_id, survivor_email = await register(platform.a, SURVIVOR_PASSWORD)
    absorbed_id, absorbed_email = await register(platform.a, ABSORBED_PASSWORD)
    absorbed_tokens = [
        (await gateway.login(absorbed_email, ABSORBED_PASSWORD))["accessToken"]
        for gateway in platform.both()
    ]
    survivor_token = (await platform.b.login(survivor_email, SURVIVOR_PASSWORD))["accessToken"]
    admin = await platform.a.admin_token()
    merge = {"input": {"survivorId": survivor_id, "absorbedId": absorbed_id, "reason": "twice"}}
    merged = (await platform.a.data(MERGE, merge, token=admin))["mergeMembers"]
    assert merged == {
        "__typename": "MembersMerged",
        "survivorId": survivor_id,
        "absorbedId": absorbed_id,
    }
    # the gateway that merged refuses the absorbed member's tokens at once, the other once told
    assert await error_of(platform.a, absorbed_tokens[1]) == REVOKED
    await refused_everywhere(platform, *absorbed_tokens)
    for gateway in platform.both():
        # the absorbed email now names the survivor, who signs in with their own password only
        assert await login_answer(gateway, absorbed_email, ABSORBED_PASSWORD) == {
            "__typename": "InvalidCredentials",
            "code": "INVALID_CREDENTIALS",
            "message": "wrong email or password",
        }
        session = await login_answer(gateway, absorbed_email, SURVIVOR_PASSWORD)
        assert (session["__typename"], session["subjectId"]) == ("Session", survivor_id)
        me = await gateway.data("{ me { id identifiers { value } } }", token=survivor_token)
        assert me["me"]["id"] == survivor_id
        assert {i["value"] for i in me["me"]["identifiers"]} == {survivor_email, absorbed_email}


PARTNER = """mutation($i: CreatePartnerInput!) { createPartner(input: $i) { partner { id } } }"""
ISSUE = """mutation($i: IssuePartnerApiKeyInput!) { issuePartnerApiKey(input: $i) {
  ... on ApiKeyIssued { secret key { id } } } }"""
REVOKE = """mutation($i: RevokePartnerApiKeyInput!) { revokePartnerApiKey(input: $i) {
  __typename } }"""
PUBLIC = "{ rewardRules { version } }"  # a partner's key authenticates the caller


async def _a_partner_key(
    platform: Platform, admin: str, scope: dict[str, Any] | None = None
) -> tuple[dict[str, str], str]:
    """A new partner's API key (with ``scope``, if given), issued through gateway ``a``: the
    header that sends it, and its id."""
    name = f"Partner {uuid.uuid4().hex[:8]}"
    partner = (await platform.a.data(PARTNER, {"i": {"name": name}}, token=admin))["createPartner"][
        "partner"
    ]
    fields = {"partnerId": partner["id"], **({"scope": scope} if scope is not None else {})}
    issued = (await platform.a.data(ISSUE, {"i": fields}, token=admin))["issuePartnerApiKey"]
    return {"x-api-key": issued["secret"]}, issued["key"]["id"]


async def test_a_partner_key_revoked_through_one_gateway_is_refused_by_the_other_at_once(
    platform: Platform,
) -> None:
    admin = await platform.a.admin_token()
    key, key_id = await _a_partner_key(platform, admin)
    for gateway in platform.both():  # each gateway now remembers the key as valid
        for _ in range(2):
            assert "errors" not in await gateway.gql(PUBLIC, headers=key)
    revoked = await platform.a.data(REVOKE, {"i": {"keyId": key_id}}, token=admin)
    assert revoked == {"revokePartnerApiKey": {"__typename": "ApiKeyRevoked"}}

    async def refused_by_the_other() -> bool:
        body = await platform.b.gql(PUBLIC, headers=key)
        return "errors" in body

    await eventually(refused_by_the_other)  # within the bound, far below the cache's 30 s
    for gateway in platform.both():
        body = await gateway.gql(PUBLIC, headers=key)
        assert body == {
            "data": None,
            "errors": [
                {
                    "message": "the API key is not valid",
                    "locations": [{"line": 1, "column": 3}],
                    "path": ["rewardRules"],
                    "extensions": {"code": "UNAUTHENTICATED"},
                }
            ],
        }


SET_SCOPE = """mutation($i: SetPartnerScopeInput!) { setPartnerScope(input: $i) {
  __typename } }"""
PARTNER_EARN = """mutation($i: RecordEarnEventInput!) { recordEarnEvent(input: $i) {
  __typename ... on UserError { code message } } }"""
TRIGGER_REFUSED = {
    "recordEarnEvent": {
        "__typename": "OutOfScope",
        "code": "TRIGGER_NOT_ALLOWED",
        "message": "this API key may not record purchase events",
    }
}
RECORDED = {"recordEarnEvent": {"__typename": "PartnerEarnRecorded"}}


async def test_a_partner_key_s_scope_changed_through_one_gateway_applies_on_the_other_at_once(
    platform: Platform,
) -> None:
    admin = await platform.a.admin_token()
    venue = platform.a.demo["staff"][0]["venueId"]
    scope = {"triggers": ["PURCHASE"], "venueIds": [venue], "registerReferrals": False}
    key, key_id = await _a_partner_key(platform, admin, scope)
    member_id = platform.a.demo["members"][0]["memberId"]

    async def earn(gateway: Gateway) -> dict[str, Any]:
        purchase = {
            "memberId": member_id,
            "externalId": uuid.uuid4().hex,
            "trigger": "PURCHASE",
            "occurredAt": datetime.now(UTC).isoformat(),
            "amount": "10",
            "currency": "EUR",
            "venueId": venue,
        }
        return await gateway.data(PARTNER_EARN, {"i": purchase}, headers=key)

    for gateway in platform.both():  # each gateway now remembers the key and its scope
        for _ in range(2):
            assert await earn(gateway) == RECORDED

    narrowed = {**scope, "triggers": ["ATTENDANCE"]}
    changed = await platform.a.data(
        SET_SCOPE, {"i": {"keyId": key_id, "scope": narrowed}}, token=admin
    )
    assert changed == {"setPartnerScope": {"__typename": "PartnerScopeSet"}}

    async def refused_by_the_other() -> bool:
        return await earn(platform.b) == TRIGGER_REFUSED

    await eventually(refused_by_the_other)  # within the bound, far below the cache's 30 s
    for gateway in platform.both():
        assert await earn(gateway) == TRIGGER_REFUSED

    changed = await platform.b.data(
        SET_SCOPE, {"i": {"keyId": key_id, "scope": scope}}, token=admin
    )
    assert changed == {"setPartnerScope": {"__typename": "PartnerScopeSet"}}

    async def allowed_by_the_other() -> bool:  # widened again, through the other gateway
        return await earn(platform.a) == RECORDED

    await eventually(allowed_by_the_other)
    for gateway in platform.both():
        assert await earn(gateway) == RECORDED

    unchanged = await platform.a.data(
        SET_SCOPE, {"i": {"keyId": key_id, "scope": scope}}, token=admin
    )
    assert unchanged == {"setPartnerScope": {"__typename": "PartnerScopeSet"}}
    told = await platform.a.count(
        f"identity.revocations WHERE kind = 'api_key_scope' AND subject = '{key_id}'"
    )
    assert told == 2  # each change once; setting the same scope again tells nobody


async def test_a_kind_of_revocation_the_gateway_does_not_know_is_applied_with_the_rest_of_its_page(
    platform: Platform,
) -> None:
    admin = await platform.a.admin_token()
    key, key_id = await _a_partner_key(platform, admin)
    checks = platform.feed.key_checks
    for _ in range(2):
        assert "errors" not in await platform.b.gql(PUBLIC, headers=key)
    assert platform.feed.key_checks == checks + 1  # remembered after identity's first answer
    member_id, email = await register(platform.a)
    first = await platform.a.login(email)
    other = await platform.b.login(email)
    second = (await platform.a.data(REFRESH, {"input": {"refreshToken": first["refreshToken"]}}))[
        "refreshSession"
    ]
    assert second["__typename"] == "Session", second
    # identity, newer than gateway ``b``, sends a kind ``b`` does not know about the key, in the
    # page that also ends the refresh family
    platform.feed.newer_kind = {"kind": "api_key_device", "subject": key_id}
    reused = (await platform.a.data(REFRESH, {"input": {"refreshToken": first["refreshToken"]}}))[
        "refreshSession"
    ]
    assert reused["__typename"] == "RefreshRejected", reused
    await refused_everywhere(platform, first["accessToken"], second["accessToken"])
    assert platform.feed.newer_kind is None  # it was sent, in that page
    assert (await platform.b.data(ME, token=other["accessToken"]))["me"]["id"] == member_id
    ready = await platform.b.client.get("/readyz")
    assert (ready.status_code, ready.json()["revocations"]) == (200, True)
    # the key is no revoked key: it works, once asked of identity again, then is remembered
    checks = platform.feed.key_checks
    for _ in range(2):
        assert "errors" not in await platform.b.gql(PUBLIC, headers=key)
    assert platform.feed.key_checks == checks + 1
    # and the feed is still followed: the member's other family, ended now, is refused too
    refresh = {"input": {"refreshToken": other["refreshToken"]}}
    assert (await platform.b.data(REFRESH, refresh))["refreshSession"]["__typename"] == "Session"
    reused = (await platform.b.data(REFRESH, refresh))["refreshSession"]
    assert reused["__typename"] == "RefreshRejected", reused
    await refused_everywhere(platform, other["accessToken"])
