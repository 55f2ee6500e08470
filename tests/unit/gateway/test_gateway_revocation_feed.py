"""The gateway's copy of identity's revocations: what it refuses, at the edges, and how it
fails closed when it could not follow them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio
import structlog

from graphql_schema import revocations as feed_module
from graphql_schema.clients.identity import IdentityClient
from graphql_schema.errors import ApiError
from graphql_schema.revocations import RevocationFeed
from services.common.http import ServiceTokens
from services.identity import contract as ic

SECRET = "unit-tests-service-secret-0123456789"
REVOKED_AT = datetime(2026, 12, 1, 20, 0, 0, 250_000, tzinfo=UTC)  # ceil: 20:00:01


class Clocks:
    def __init__(self) -> None:
        self.now = 1000.0
        self.wall = REVOKED_AT

    def __call__(self) -> float:
        return self.now


def revocation(n: int, kind: ic.RevocationKind | str, subject: str, **kw: Any) -> ic.Revocation:
    return ic.Revocation(
        id=n,
        kind=kind,
        subject=subject,
        revoked_at=kw.get("revoked_at", REVOKED_AT),
        expires_at=kw.get("expires_at", REVOKED_AT + timedelta(hours=1)),
    )


@pytest_asyncio.fixture
async def feed(services: Any) -> AsyncIterator[tuple[RevocationFeed, Clocks]]:
    clocks = Clocks()
    client = IdentityClient(
        "http://identity", ServiceTokens(SECRET), httpx.MockTransport(services.identity)
    )
    try:
        yield (
            RevocationFeed(
                client, wait=1.0, max_staleness=3.0, clock=clocks, wall=lambda: clocks.wall
            ),
            clocks,
        )
    finally:
        await client.aclose()


def refusal(feed: RevocationFeed, **claims: Any) -> dict[str, Any] | None:
    try:
        feed.check({"kind": "member", **claims})
    except ApiError as refused:
        return {"message": refused.message, **refused.extensions}
    return None


SESSION_ENDED = {
    "message": "this session was ended; sign in again",
    "code": "UNAUTHENTICATED",
    "reason": "TOKEN_REVOKED",
}
ACCOUNT_ENDED = {**SESSION_ENDED, "message": "this account's sessions were ended; sign in again"}


async def test_nothing_is_accepted_before_the_first_load(feed: Any) -> None:
    revocations, _ = feed
    assert not revocations.current
    assert refusal(revocations, sub="m", iat=1) == {
        "message": "sign-in cannot be checked right now; try again shortly",
        "code": "UNAUTHENTICATED",
        "reason": "REVOCATIONS_UNAVAILABLE",
    }


async def test_a_revoked_family_and_a_member_revoked_up_to_a_time_are_refused_at_the_edge(
    feed: Any, services: Any
) -> None:
    revocations, _ = feed
    services.revocations = [
        revocation(1, ic.RevocationKind.SESSION, "family-1"),
        revocation(2, ic.RevocationKind.MEMBER, "member-1"),
        revocation(3, ic.RevocationKind.API_KEY, "key-1"),
    ]
    await revocations.load()
    assert revocations.cursor == 3 and revocations.current
    assert refusal(revocations, sub="member-2", sid="family-1", iat=1) == SESSION_ENDED
    assert refusal(revocations, sub="member-2", sid="family-2", iat=1) is None
    up_to = 1_796_155_201  # 20:00:00.25 rounded up: tokens of that second are refused too
    assert datetime.fromtimestamp(up_to, UTC) == datetime(2026, 12, 1, 20, 0, 1, tzinfo=UTC)
    assert refusal(revocations, sub="member-1", iat=up_to) == ACCOUNT_ENDED
    assert refusal(revocations, sub="member-1", iat="soon") == ACCOUNT_ENDED
    assert refusal(revocations, sub="member-1", iat=up_to + 1) is None  # signed in since
    assert refusal(revocations, sub="member-1", iat=up_to, kind="staff") is None
    assert revocations.api_key_revoked("key-1") and not revocations.api_key_revoked("key-2")


async def test_revocations_are_forgotten_once_no_token_they_concern_can_be_valid(
    feed: Any, services: Any
) -> None:
    revocations, clocks = feed
    services.revocations = [revocation(1, ic.RevocationKind.SESSION, "family-1")]
    await revocations.load()
    clocks.wall = REVOCATIONS_END = REVOKED_AT + timedelta(hours=1)
    services.revocations.append(
        revocation(2, ic.RevocationKind.API_KEY, "key-1", expires_at=REVOCATIONS_END)
    )
    await revocations.poll()
    assert refusal(revocations, sub="m", sid="family-1", iat=1) is None
    assert not revocations.api_key_revoked("key-1")


async def test_a_feed_not_followed_for_longer_than_its_bound_fails_closed(
    feed: Any, services: Any
) -> None:
    revocations, clocks = feed
    await revocations.load()
    clocks.now += 3.0
    assert revocations.current and refusal(revocations, sub="m", iat=1) is None
    clocks.now += 0.001
    assert not revocations.current
    assert refusal(revocations, sub="m", iat=1) == {
        "message": "sign-in cannot be checked right now; try again shortly",
        "code": "UNAUTHENTICATED",
        "reason": "REVOCATIONS_UNAVAILABLE",
    }
    services.revocations_up = False
    with pytest.raises(Exception, match="identity answered 503"):
        await revocations.poll()
    assert not revocations.current
    services.revocations_up = True
    await revocations.poll()
    assert revocations.current


async def test_a_scope_change_is_known_after_the_mark_taken_before_it_until_it_expires(
    feed: Any, services: Any
) -> None:
    revocations, clocks = feed
    services.revocations = [revocation(1, ic.RevocationKind.API_KEY_SCOPE, "key-1")]
    await revocations.load()
    before = revocations.scope_mark
    assert not revocations.scope_changed_since("key-1", before)  # known when the mark was taken
    assert not revocations.scope_changed_since("key-2", before)
    services.revocations.append(revocation(2, ic.RevocationKind.API_KEY_SCOPE, "key-1"))
    await revocations.poll()
    assert revocations.scope_changed_since("key-1", before)
    assert not revocations.scope_changed_since("key-1", revocations.scope_mark)
    assert not revocations.scope_changed_since("key-2", before)
    assert not revocations.api_key_revoked("key-1")  # its key still works
    clocks.wall = REVOKED_AT + timedelta(hours=2)  # past both changes' expiry
    services.revocations.append(revocation(3, ic.RevocationKind.SESSION, "family-9"))
    await revocations.poll()
    assert not revocations.scope_changed_since("key-1", before)


async def test_a_kind_not_known_here_is_applied_with_its_page_and_forgets_what_identity_answered(
    feed: Any, services: Any
) -> None:
    revocations, _ = feed
    services.revocations = [revocation(1, ic.RevocationKind.API_KEY_SCOPE, "key-1")]
    await revocations.load()
    before = revocations.scope_mark
    unknown = [
        revocation(2, ic.RevocationKind.SESSION, "family-1"),
        revocation(3, "api_key_device", "key-1"),
        revocation(4, ic.RevocationKind.API_KEY, "key-2"),
        revocation(5, "api_key_device", "key-3"),
        revocation(6, "partner", "partner-1"),
    ]
    assert [r.kind for r in unknown] == [
        ic.RevocationKind.SESSION,
        "api_key_device",
        ic.RevocationKind.API_KEY,
        "api_key_device",
        "partner",
    ]
    services.revocations.extend(unknown)
    with structlog.testing.capture_logs() as logs:
        await revocations.poll()
    assert (revocations.cursor, revocations.current) == (6, True)
    # the known entries are applied as ever
    assert refusal(revocations, sub="m", sid="family-1", iat=1) == SESSION_ENDED
    assert revocations.api_key_revoked("key-2")
    # an unknown kind revokes nothing it cannot name, and every key or member identity vouched
    # for before it is asked of identity again (those asked after it are not)
    assert not revocations.api_key_revoked("key-1") and not revocations.api_key_revoked("key-3")
    assert revocations.forgotten_since(before)
    assert revocations.scope_changed_since("key-9", before)
    after = revocations.scope_mark
    assert not revocations.forgotten_since(after)
    assert not revocations.scope_changed_since("key-9", after)
    assert refusal(revocations, sub="member-1", iat=1) is None
    # a warning names each kind once
    assert logs == [
        {"event": "revocations.unknown_kind", "kind": "api_key_device", "log_level": "warning"},
        {"event": "revocations.unknown_kind", "kind": "partner", "log_level": "warning"},
    ]
    services.revocations.append(revocation(7, "partner", "partner-2"))
    with structlog.testing.capture_logs() as logs:
        await revocations.poll()
    assert (logs, revocations.cursor, revocations.forgotten_since(after)) == ([], 7, True)


async def test_a_page_not_understood_at_start_leaves_the_gateway_closed_not_crashed(
    feed: Any, services: Any
) -> None:
    revocations, _ = feed
    services.feed_answers = [httpx.Response(200, json={"cursor": "soon", "more": False})]
    with structlog.testing.capture_logs() as logs:
        await revocations.load()
    assert (revocations.current, revocations.cursor) == (False, None)
    assert [(e["event"], e["error"], e["log_level"]) for e in logs] == [
        ("revocations.first_load_failed", "ValidationError", "error")
    ]
    assert "soon" not in str(logs)  # what identity answered is not logged
    await revocations.load()
    assert (revocations.current, revocations.cursor) == (True, 0)


async def test_a_poll_that_fails_unexpectedly_is_retried_and_the_feed_goes_on(
    feed: Any, services: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    revocations, _ = feed
    monkeypatch.setattr(feed_module, "RETRY_SECONDS", (0.0,))
    await revocations.load()
    services.revocations = [revocation(1, ic.RevocationKind.SESSION, "family-1")]
    broken = {"cursor": 1, "revocations": [{"id": 1, "kind": "session"}], "more": False}
    services.feed_answers = [httpx.Response(200, json=broken), RuntimeError("key-1 went wrong")]
    polls = services.revocation_polls
    with structlog.testing.capture_logs() as logs:
        follow = asyncio.create_task(revocations.run())
        try:
            for _ in range(1000):
                if revocations.cursor == 1:
                    break
                await asyncio.sleep(0)
            assert not follow.done()
        finally:
            follow.cancel()
            with pytest.raises(asyncio.CancelledError):
                await follow
    assert services.revocation_polls - polls >= 3  # two answers not understood, then the page
    assert refusal(revocations, sub="m", sid="family-1", iat=1) == SESSION_ENDED
    assert [(e["event"], e["error"], e["log_level"]) for e in logs] == [
        ("revocations.poll_failed", "ValidationError", "error"),
        ("revocations.poll_failed", "RuntimeError", "error"),
    ]
    assert "key-1" not in str(logs)  # what went wrong is named by its type only
