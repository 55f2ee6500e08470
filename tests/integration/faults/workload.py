"""The operations the faults interrupt, as clients send them to the services' internal APIs:
earns at a box office, redemptions, door check-ins, referrals to conversion (a partner registers
the referral, the referee registers with identity, identity's outbox tells loyalty, the referee's
first purchase qualifies), registrations and contact preferences changed with identity (each one
an outbox event relayed to loyalty). Every request is retried unchanged, with its idempotency
key or external id, until its answer is definite; what each client was finally told is kept, for
the invariants to compare with what the database holds."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from services.common.actor import SYSTEM, Actor, ActorKind, PartnerScope
from services.common.db import create_engine
from services.loyalty.experiences.jobs import EARN_GRACE, run_experience_jobs
from services.loyalty.referrals.effects import LEASE, perform_effects
from services.loyalty.rulebook.book import RuleBook
from tests.integration.faults.services import Caller
from tests.integration.programme import (
    create_coffee,
    publish_a_year_ago,
    referral_rules,
)

VENUE = uuid.UUID("00000000-0000-4000-8000-0000000fa017")
STAFF = Actor(ActorKind.STAFF, str(uuid.uuid4()), frozenset({str(VENUE)}))
ADMIN = Actor(ActorKind.ADMIN, str(uuid.uuid4()))
PARTNER = Actor(
    ActorKind.PARTNER,
    str(uuid.uuid4()),
    scope=PartnerScope(frozenset({"purchase"}), None, register_referrals=True),
)
PASSWORD = "quiet-harbour-lantern-42"
REWARD_STOCK = 100_000
#: Clients taking referrals to conversion, one after another, besides the others.
REFERRAL_CLIENTS = 3
#: How long a referee's registration may take to reach loyalty through the outbox, kills included.
JOIN_PATIENCE_SECONDS = 60


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def rules_document(effective_at: datetime) -> dict[str, Any]:
    return referral_rules(effective_at, cap=1000, qualifying_triggers=["purchase"])


async def publish_programme(loyalty_url: str) -> uuid.UUID:
    """The rule set (in force since a year ago) and one reward, before the services start; the
    reward's id."""
    engine = create_engine(loyalty_url, pool_size=1, application_name="faults-setup")
    try:
        await publish_a_year_ago(engine, rules_document, idempotency_key="faults")
        return await create_coffee(engine, key="faults-coffee", stock=REWARD_STOCK)
    finally:
        await engine.dispose()


@dataclass
class Invitation:
    id: str
    member_id: str
    token: str


@dataclass
class Outcomes:
    """What the clients were finally told."""

    #: external id -> (member id, entry id, points) of each earn answered 200 or 201
    earns: dict[str, tuple[str, str, int]] = field(default_factory=dict)
    #: idempotency key -> (member id, redemption id) of each redemption answered 200 or 201
    redemptions: dict[str, tuple[str, str]] = field(default_factory=dict)
    #: idempotency key -> member id of each redemption refused for want of points
    refused: dict[str, str] = field(default_factory=dict)
    #: invitation id -> the kinds of outcome its scans were answered
    scans: dict[str, list[str]] = field(default_factory=dict)
    #: referral id -> (referrer id, referee id)
    referrals: dict[str, tuple[str, str]] = field(default_factory=dict)
    #: member ids registered with identity (201 or 200)
    members: set[str] = field(default_factory=set)
    #: member id -> the invitation cap last acknowledged by identity
    caps: dict[str, int] = field(default_factory=dict)
    operations: Counter[str] = field(default_factory=Counter)


@dataclass
class World:
    loyalty: Caller
    identity: Caller
    reward_id: uuid.UUID
    admin_dsn: str
    loyalty_url: str
    outcomes: Outcomes = field(default_factory=Outcomes)
    regulars: list[str] = field(default_factory=list)
    invitations: list[Invitation] = field(default_factory=list)
    codes: list[str] = field(default_factory=list)
    locks: dict[str, asyncio.Lock] = field(default_factory=dict)

    # ---- identity ------------------------------------------------------------------------

    async def register(self, label: str = "register") -> str:
        key = uuid.uuid4().hex
        body = {"email": f"fault.{key[:16]}@example.org", "password": PASSWORD}
        return await self.register_as(body | {"idempotency_key": key}, label)

    async def register_as(self, body: dict[str, Any], label: str) -> str:
        response = await self.identity.call(
            "POST", "/internal/members", SYSTEM, label=label, json=body
        )
        assert response.status_code in (200, 201), response.text
        member_id = str(response.json()["id"])
        self.outcomes.members.add(member_id)
        self.outcomes.operations[label] += 1
        return member_id

    async def set_cap(self, member_id: str, cap: int, *, consent: bool = False) -> None:
        body: dict[str, Any] = {"invitation_cap_per_30_days": cap, "clear_quiet_hours": True}
        if consent:
            body["consents"] = [{"channel": "email", "granted": True}]
        async with self.locks.setdefault(member_id, asyncio.Lock()):
            response = await self.identity.call(
                "PUT",
                f"/internal/members/{member_id}/preferences",
                SYSTEM,
                label="preferences",
                json=body,
            )
            assert response.status_code == 200, response.text
            self.outcomes.caps[member_id] = cap
        self.outcomes.operations["preferences"] += 1

    # ---- loyalty -------------------------------------------------------------------------

    async def earn(
        self, member_id: str, amount: int, *, production: str | None = None, label: str = "earn"
    ) -> dict[str, Any]:
        external_id = uuid.uuid4().hex
        event: dict[str, Any] = {
            "trigger": "purchase",
            "occurred_at": now().isoformat(),
            "amount": str(amount),
            "currency": "EUR",
            "venue_id": str(VENUE),
        }
        if production is not None:
            event["production_id"] = production
        body = {"member_id": member_id, "external_id": external_id, "event": event}
        response = await self.loyalty.call("POST", "/internal/earn", STAFF, label=label, json=body)
        assert response.status_code in (200, 201), response.text
        found: dict[str, Any] = response.json()
        entry = found["entry"]
        self.outcomes.earns[external_id] = (member_id, entry["id"], int(entry["points"]))
        self.outcomes.operations[label] += 1
        return found

    async def redeem(self, member_id: str) -> None:
        key = uuid.uuid4().hex
        body = {"member_id": member_id, "reward_id": str(self.reward_id), "idempotency_key": key}
        member = Actor(ActorKind.MEMBER, member_id)
        response = await self.loyalty.call(
            "POST", "/internal/redemptions", member, label="redeem", json=body
        )
        if response.status_code in (200, 201):
            self.outcomes.redemptions[key] = (member_id, str(response.json()["id"]))
        else:
            assert response.json()["code"] == "NOT_ENOUGH_POINTS", response.text
            self.outcomes.refused[key] = member_id
        self.outcomes.operations["redeem"] += 1

    async def check_in(self, invitation: Invitation, label: str = "check-in") -> None:
        body = {"token": invitation.token, "venue_id": str(VENUE)}
        response = await self.loyalty.call(
            "POST", "/internal/door/redeem", STAFF, label=label, json=body
        )
        assert response.status_code == 200, response.text
        kind = response.json()["outcome"]["kind"]
        self.outcomes.scans.setdefault(invitation.id, []).append(kind)
        self.outcomes.operations[label] += 1

    async def referral(self, code: str, referrer: str) -> None:
        """A referral to conversion: registered by the partner, the referee joins through
        identity's outbox, then buys a ticket."""
        email = f"friend.{uuid.uuid4().hex[:16]}@example.org"
        resolved = await self.identity.call(
            "POST", "/internal/referees/resolve", PARTNER, label="resolve", json={"email": email}
        )
        assert resolved.status_code == 200, resolved.text
        consent = {"method": "online_form", "given_at": (now() - timedelta(hours=1)).isoformat()}
        body = {
            "code": code,
            "reference": uuid.uuid4().hex,
            "referee": resolved.json(),
            "consent": consent,
        }
        registered = await self.loyalty.call(
            "POST", "/internal/referrals", PARTNER, label="register referral", json=body
        )
        assert registered.status_code in (200, 201), registered.text
        decision = registered.json()
        assert decision["accepted"], decision
        referral_id = str(decision["referral"]["id"])
        referee = await self.register_as(
            {"email": email, "password": PASSWORD, "idempotency_key": uuid.uuid4().hex},
            "referee registers",
        )
        self.outcomes.referrals[referral_id] = (referrer, referee)
        await self._joined(referral_id, referee)
        await self.earn(referee, 20, label="referee's first purchase")
        self.outcomes.operations["referral"] += 1

    async def _joined(self, referral_id: str, referee: str) -> None:
        """Wait until identity's outbox has told loyalty that the referee registered."""
        deadline = asyncio.get_running_loop().time() + JOIN_PATIENCE_SECONDS
        conn = await asyncpg.connect(self.admin_dsn)
        try:
            while True:
                status = await conn.fetchval(
                    "SELECT status FROM loyalty.referrals WHERE id = $1", uuid.UUID(referral_id)
                )
                if status != "pending":
                    assert status == "joined", status
                    return
                if asyncio.get_running_loop().time() > deadline:
                    raise AssertionError(f"the referee never joined: {await _trail(conn, referee)}")
                await asyncio.sleep(0.1)
        finally:
            await conn.close()


async def _trail(conn: asyncpg.Connection, member_id: str) -> dict[str, Any]:
    """Where a member's registration is between identity's outbox and loyalty."""
    sent = await conn.fetch(
        "SELECT event_id, type, delivered_at, attempts, last_error FROM identity.outbox "
        "WHERE payload->>'member_id' = $1",
        member_id,
    )
    received = await conn.fetch(
        "SELECT event_id, type FROM loyalty.inbox WHERE payload->>'member_id' = $1", member_id
    )
    pending = await conn.fetchval("SELECT count(*) FROM identity.outbox WHERE delivered_at IS NULL")
    return {
        "sent": [dict(r) for r in sent],
        "received": [dict(r) for r in received],
        "undelivered": pending,
    }


async def prepare(world: World, *, regulars: int, guests: int) -> None:
    """Before the faults: members (those invited with email consent and never quiet hours), an
    experience at the venue for those who booked its production, their invitations accepted."""
    world.regulars = list(await asyncio.gather(*(world.register() for _ in range(regulars))))
    invited = list(await asyncio.gather(*(world.register() for _ in range(guests))))
    await asyncio.gather(*(world.set_cap(m, 4, consent=True) for m in invited))
    codes = await asyncio.gather(
        *(
            world.loyalty.call(
                "GET", f"/internal/members/{m}/referral-code", ADMIN, label="setup: code"
            )
            for m in world.regulars
        )
    )
    world.codes = [str(c.json()["code"]) for c in codes]
    await _delivered(world.admin_dsn)
    production = f"production-{uuid.uuid4().hex[:12]}"
    await asyncio.gather(
        *(world.earn(m, 30, production=production, label="setup: booking") for m in invited)
    )
    start = now() + timedelta(hours=1)
    experience = {
        "key": uuid.uuid4().hex,
        "venue_id": str(VENUE),
        "texts": {
            "title_en": "Open rehearsal",
            "title_fr": "Répétition ouverte",
            "description_en": "Watch the orchestra rehearse.",
            "description_fr": "Assistez à la répétition de l'orchestre.",
        },
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(hours=2)).isoformat(),
        "seats": guests,
        "guest_allowance": 0,
        "invitations_open_at": (now() - timedelta(minutes=1)).isoformat(),
        "invitations_close_at": start.isoformat(),
        "production_id": production,
        "eligibility": {"conditions": [{"kind": "booked_production"}]},
    }
    made = await world.loyalty.call(
        "POST", "/internal/experiences", STAFF, label="setup: experience", json=experience
    )
    assert made.status_code == 201, made.text
    issued = await world.loyalty.call(
        "POST",
        f"/internal/experiences/{made.json()['id']}/issuances",
        STAFF,
        label="setup: issuance",
        json={"key": uuid.uuid4().hex, "count": guests},
    )
    assert issued.status_code == 201, issued.text
    report = issued.json()
    assert report["issued"] == guests, report
    world.invitations = list(
        await asyncio.gather(
            *(
                _accepted(world, str(i["member_id"]), str(i["invitation_id"]))
                for i in report["invitations"]
            )
        )
    )


async def _accepted(world: World, member_id: str, invitation_id: str) -> Invitation:
    member = Actor(ActorKind.MEMBER, member_id)
    answered = await world.loyalty.call(
        "POST",
        f"/internal/invitations/{invitation_id}/respond",
        member,
        label="setup: accept",
        json={"member_id": member_id, "action": "accept", "guests": []},
    )
    assert answered.status_code == 200, answered.text
    invitation = answered.json()
    assert invitation["state"] == "accepted", invitation
    return Invitation(invitation_id, member_id, invitation["door"]["token"])


async def _delivered(admin_dsn: str, patience: float = 60) -> None:
    """Wait until identity's outbox holds nothing undelivered."""
    deadline = asyncio.get_running_loop().time() + patience
    conn = await asyncpg.connect(admin_dsn)
    try:
        while await conn.fetchval(
            "SELECT count(*) FROM identity.outbox WHERE delivered_at IS NULL"
        ):
            assert asyncio.get_running_loop().time() < deadline, "the outbox was not drained"
            await asyncio.sleep(0.1)
    finally:
        await conn.close()


async def stream(world: World, rng: random.Random, stop: asyncio.Event, workers: int) -> None:
    """``workers`` clients send operations until ``stop`` is set; check-ins until every
    invitation was scanned (a tenth of them scanned twice), referrals one after another."""
    pending = list(world.invitations)
    rng.shuffle(pending)
    referrers = list(zip(world.codes, world.regulars, strict=True))

    async def client(n: int) -> None:
        own = random.Random(rng.random())
        while not stop.is_set():
            kind = own.choices(
                ["earn", "redeem", "check-in", "register", "preferences"], [5, 3, 2, 1, 1]
            )[0]
            if kind == "earn":
                await world.earn(own.choice(world.regulars), own.randrange(10, 90))
            elif kind == "redeem":
                await world.redeem(own.choice(world.regulars))
            elif kind == "check-in" and pending:
                invitation = pending.pop()
                await world.check_in(invitation)
                if own.random() < 0.1:
                    await world.check_in(invitation, "check-in again")
            elif kind == "register":
                await world.register()
            elif kind == "preferences":
                await world.set_cap(own.choice(world.regulars), own.randrange(0, 31))

    async def referrals() -> None:
        own = random.Random(rng.random())
        while not stop.is_set():
            code, referrer = own.choice(referrers)
            await world.referral(code, referrer)

    await asyncio.gather(
        *(client(n) for n in range(workers)), *(referrals() for _ in range(REFERRAL_CLIENTS))
    )
    for invitation in pending:  # those the stream did not reach
        await world.check_in(invitation)


async def settle(world: World) -> None:
    """After the faults: identity's outbox drained, then the loyalty jobs run as they will once
    their grace periods lapse: a check-in whose attendance earn a fault cut off is left to the
    experiences job for a minute, and a referral effect claimed by a request that was cut off
    waits for its lease to lapse."""
    await _delivered(world.admin_dsn)
    engine = create_engine(world.loyalty_url, pool_size=1, application_name="faults-settle")
    try:
        book = RuleBook()
        later = datetime.now(UTC) + max(EARN_GRACE, LEASE) + timedelta(seconds=1)
        await run_experience_jobs(engine, book, now=later)
        await perform_effects(engine, book, now=later)
    finally:
        await engine.dispose()
