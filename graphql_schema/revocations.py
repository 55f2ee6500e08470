"""Revocations the gateway honours at once, without a call to identity per request.

Access tokens are verified here with identity's public keys, so a revoked token would stay
valid until it expires unless the gateway knows it was revoked. ``RevocationFeed`` keeps every
revocation still in force: it loads them all at start, then long-polls identity for those after
its cursor (identity answers as soon as one is committed, on any replica). Tokens are refused
when their refresh family (``sid``) was revoked, or when their member's tokens were revoked
after they were issued (erasure, merge); a partner API key revoked is never taken from memory,
and one whose scope changed is asked of identity again (what was remembered of it before the
change is forgotten).

A kind of revocation this gateway does not know yet (identity is upgraded first) is neither a
failure nor a guess: what the gateway remembers that identity can answer again (every partner
API key, every member found to exist) is forgotten and asked of identity again, and a warning
names the kind once, so that the gateway is upgraded. The feed itself never stops: a poll that
fails in any way is retried with backoff, and past ``max_staleness`` the gateway fails closed.

If the feed could not be followed for ``max_staleness`` seconds, the gateway fails closed:
tokens are refused (``UNAUTHENTICATED``), API keys are asked of identity each time, and
``/readyz`` reports not ready.
"""

from __future__ import annotations

import asyncio
import math
import time
import traceback
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import structlog

from graphql_schema.clients.base import ServiceProblem, ServiceUnavailable
from graphql_schema.clients.identity import IdentityClient
from graphql_schema.errors import UNAUTHENTICATED, ApiError
from services.identity import contract as ic

log = structlog.get_logger(__name__)

Clock = Callable[[], float]
WallClock = Callable[[], datetime]
RETRY_SECONDS = (0.2, 0.5, 1.0, 2.0)  # waits after failed polls, then the last one again
FIRST_LOAD_TIMEOUT = 5.0
HELD_HERE = timedelta(minutes=5)  # a revocation made here, until the feed brings it


def _utc_now() -> datetime:
    return datetime.now(UTC)


class RevocationFeed:
    def __init__(
        self,
        identity: IdentityClient,
        *,
        wait: float,
        max_staleness: float,
        clock: Clock = time.monotonic,
        wall: WallClock = _utc_now,
    ) -> None:
        self.identity = identity
        self.wait = wait
        self.max_staleness = max_staleness
        self.clock = clock
        self.wall = wall
        self.cursor: int | None = None
        self._synced = -math.inf  # when the last poll that caught up was sent
        self._sessions: dict[str, datetime] = {}  # family id: until when it matters
        self._members: dict[str, tuple[float, datetime]] = {}  # id: (revoked up to, until when)
        self._api_keys: dict[str, datetime] = {}
        self._scope_changes = 0  # scope changes (and unknown kinds) applied here so far
        self._scopes: dict[str, tuple[int, datetime]] = {}  # key id: (its last change, until)
        self._all_changed = 0  # the mark of the last kind not known here: everything changed
        self._unknown_kinds: set[str] = set()  # those already warned about

    # ---- what requests ask -------------------------------------------------------------------

    @property
    def current(self) -> bool:
        """Whether every revocation committed ``max_staleness`` seconds ago is known here."""
        return self.clock() - self._synced <= self.max_staleness

    def check(self, claims: Mapping[str, Any]) -> None:
        """Refuse verified claims whose token was revoked, or that cannot be checked now."""
        if not self.current:
            raise ApiError(
                UNAUTHENTICATED,
                "sign-in cannot be checked right now; try again shortly",
                reason="REVOCATIONS_UNAVAILABLE",
            )
        sid = claims.get("sid")
        if isinstance(sid, str) and sid in self._sessions:
            raise _revoked("this session was ended; sign in again")
        revoked = self._members.get(str(claims.get("sub")))
        if revoked is not None and claims.get("kind") == "member":
            issued = claims.get("iat")
            if not isinstance(issued, int | float) or issued <= revoked[0]:
                raise _revoked("this account's sessions were ended; sign in again")

    def member_revoked(self, member_id: str) -> bool:
        """Whether the member's tokens were revoked lately (erased, or merged into another)."""
        return member_id in self._members

    def api_key_revoked(self, key_id: str) -> bool:
        return key_id in self._api_keys

    @property
    def scope_mark(self) -> int:
        """A mark of the changes known now: take it before asking identity about a key (or a
        member), then ``scope_changed_since`` (``forgotten_since``) says whether what identity
        answered may be out of date."""
        return self._scope_changes

    def scope_changed_since(self, key_id: str, mark: int) -> bool:
        """Whether the key's scope changed after ``mark`` was taken (or a kind of revocation
        not known here came, which may concern any key)."""
        changed = self._scopes.get(key_id)
        return self.forgotten_since(mark) or (changed is not None and changed[0] > mark)

    def forgotten_since(self, mark: int) -> bool:
        """Whether a kind of revocation not known here came after ``mark`` was taken: whatever
        identity answered before it is to be asked again."""
        return self._all_changed > mark

    # ---- following identity ------------------------------------------------------------------

    def revoked_here(self, member_id: str, at: datetime) -> None:
        """A member's tokens revoked through this gateway are refused here at once, before the
        feed brings the revocation (it does within ``max_staleness``, or the gateway fails
        closed)."""
        self._revoke_member(member_id, at, at + HELD_HERE)

    def apply(self, page: ic.RevocationPage) -> None:
        for r in page.revocations:
            if r.kind is ic.RevocationKind.SESSION:
                self._sessions[r.subject] = r.expires_at
            elif r.kind is ic.RevocationKind.MEMBER:
                self._revoke_member(r.subject, r.revoked_at, r.expires_at)
            elif r.kind is ic.RevocationKind.API_KEY_SCOPE:
                self._scope_changes += 1
                self._scopes[r.subject] = (self._scope_changes, r.expires_at)
            elif r.kind is ic.RevocationKind.API_KEY:
                self._api_keys[r.subject] = r.expires_at
            else:
                self._unknown(r.kind)
        self.cursor = page.cursor
        self._forget_expired()

    def _unknown(self, kind: str) -> None:
        """A kind of revocation this gateway does not know: it cannot tell what it concerns, so
        everything remembered that identity can answer again is forgotten (tokens, which only
        the known kinds can refuse, are judged as before)."""
        self._scope_changes += 1
        self._all_changed = self._scope_changes
        if kind not in self._unknown_kinds:
            self._unknown_kinds.add(kind)
            log.warning("revocations.unknown_kind", kind=kind)

    def _revoke_member(self, member_id: str, at: datetime, until: datetime) -> None:
        up_to = float(math.ceil(at.timestamp()))  # ``iat`` is in whole seconds
        before = self._members.get(member_id)
        if before is not None:
            up_to, until = max(before[0], up_to), max(before[1], until)
        self._members[member_id] = (up_to, until)

    def _forget_expired(self) -> None:
        now = self.wall()
        for kept in (self._sessions, self._api_keys):
            for subject in [s for s, until in kept.items() if until <= now]:
                del kept[subject]
        for subject in [s for s, (_, until) in self._members.items() if until <= now]:
            del self._members[subject]
        for subject in [s for s, (_, until) in self._scopes.items() if until <= now]:
            del self._scopes[subject]

    async def poll(self) -> bool:
        """Ask identity once (all revocations in force the first time, then those after the
        cursor, waiting for one); whether another page is ready at once."""
        sent = self.clock()
        first = self.cursor is None
        page = await self.identity.revocations(self.cursor, wait=0.0 if first else self.wait)
        self.apply(page)
        if not page.more:
            self._synced = sent
        return page.more

    async def load(self) -> None:
        """The first load, at start (a gateway that cannot load yet keeps trying in ``run``)."""
        try:
            async with asyncio.timeout(FIRST_LOAD_TIMEOUT):
                while await self.poll():
                    pass
        except (TimeoutError, ServiceUnavailable, ServiceProblem, httpx.HTTPError) as exc:
            log.warning("revocations.first_load_failed", error=type(exc).__name__)
        except Exception as exc:  # an answer not understood: start, fail closed, keep trying
            log.error("revocations.first_load_failed", **_described(exc))

    async def run(self) -> None:
        """Follow identity for as long as the gateway runs."""
        failures = 0
        while True:
            started = self.clock()
            cursor = self.cursor
            try:
                more = await self.poll()
            except Exception as exc:  # the feed never stops; past its bound it fails closed
                if isinstance(exc, ServiceUnavailable | ServiceProblem | httpx.HTTPError):
                    log.warning("revocations.poll_failed", error=type(exc).__name__)
                else:
                    log.error("revocations.poll_failed", **_described(exc))
                await asyncio.sleep(RETRY_SECONDS[min(failures, len(RETRY_SECONDS) - 1)])
                failures += 1
                continue
            failures = 0
            if not more and self.cursor == cursor:
                # nothing new: an identity that answered before the wait was over is not asked
                # again until it is (a long-poll never does that)
                idle = self.wait - (self.clock() - started)
                if idle > 0:
                    await asyncio.sleep(idle)


def _described(exc: Exception) -> dict[str, str]:
    """An unexpected failure, for the log: its type and where it was raised, never its message
    or values (an answer of identity's may hold subjects and keys' ids)."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = f"{frames[-1].filename}:{frames[-1].lineno}" if frames else "unknown"
    return {"error": type(exc).__name__, "raised_at": where}


def _revoked(message: str) -> ApiError:
    return ApiError(UNAUTHENTICATED, message, reason="TOKEN_REVOKED")
