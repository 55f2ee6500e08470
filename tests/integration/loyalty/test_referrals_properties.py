"""Properties of referrals against PostgreSQL, driven by Hypothesis.

A referrer, a friend a partner referred, and whatever identity and the tills tell loyalty about
them, in any order and any number of times: the friend registers (identity's event, delivered
again under the same id or told anew), buys or celebrates a birthday, the referrer links the
friend's email (before the friend joins: identity would refuse it after), one is merged into the
other (after the friend joins: identity merges members). After every step:

- the referral's status is what these facts say: voided once the two are one person, converted
  once the friend joined and took part, joined, or pending;
- the referrer holds, from referrals, the rule's award times the conversions that stand (never
  anything for a self-referral, whatever was linked or merged before or after), and the friend
  the welcome likewise;
- at most one reward and one welcome were ever written, and at most one reversal of each.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Coroutine
from datetime import UTC, datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from services.common.actor import SYSTEM, Actor, ActorKind
from services.common.db import create_engine
from services.loyalty import contract
from services.loyalty.earning.earn import earn_points
from services.loyalty.identity_events.use_cases import receive_identity_events
from services.loyalty.referrals import contract as rc
from services.loyalty.referrals.hooks import after_earn
from services.loyalty.referrals.use_cases import member_code, register_referral
from services.loyalty.rulebook.book import RuleBook
from services.loyalty.rulebook.use_cases import publish_rule_set
from tests.integration.loyalty.referrals_support import (
    REFERRAL_POINTS,
    VENUE,
    WELCOME_POINTS,
    Person,
    consent,
    now,
    partner,
    rules_document,
)

T = TypeVar("T")
STAFF = Actor(ActorKind.STAFF, "property-staff", frozenset({str(VENUE)}))
PUBLISHED: set[str] = set()


class ReferralMachine(RuleBasedStateMachine):
    database_url = ""

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.engine = create_engine(self.database_url, pool_size=2, application_name="property")
        self.book = RuleBook()
        self.events: list[contract.IdentityEvent] = []
        self.joined = self.linked = self.merged = self.qualified = False

    def run(self, work: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(work)

    def teardown(self) -> None:
        self.run(self.engine.dispose())
        self.loop.close()

    def tell(
        self, kind: str, payload: dict[str, Any], *, event_id: uuid.UUID | None = None
    ) -> None:
        event = contract.IdentityEvent(
            event_id=event_id or uuid.uuid4(),
            type=kind,
            occurred_at=datetime.now(UTC),
            payload=payload,
        )
        self.events.append(event)
        self.run(
            receive_identity_events(self.engine, contract.EventBatch(events=[event]), self.book)
        )

    def registered(self, person: Person) -> dict[str, Any]:
        return {
            "member_id": str(person.id),
            "locale": "en",
            "identifier_hashes": {"email": person.email, "phone": person.phone},
        }

    @initialize()
    def a_partner_refers_a_friend(self) -> None:
        if self.database_url not in PUBLISHED:
            start = now().replace(year=now().year - 1)
            self.run(
                publish_rule_set(
                    self.engine,
                    self.book,
                    SYSTEM,
                    contract.PublishRuleSet(document=rules_document(start), idempotency_key="p-1"),
                    now=start,
                )
            )
            PUBLISHED.add(self.database_url)
        self.referrer, self.friend = Person.new(), Person.new()
        self.tell("member.registered", self.registered(self.referrer))
        code = self.run(member_code(self.engine, SYSTEM, self.referrer.id, "https://x.example/j"))
        body = rc.RegisterReferral(
            code=code.code,
            reference=uuid.uuid4().hex,
            referee=rc.RefereeIdentity(email_hash=self.friend.email, phone_hash=self.friend.phone),
            consent=rc.Consent.model_validate(consent()),
        )
        decision = self.run(register_referral(self.engine, self.book, partner(), body))
        assert decision.referral is not None
        self.referral = decision.referral.id

    # ---- what identity and the tills tell ------------------------------------------------------

    @precondition(lambda self: not self.linked)
    @rule(again=st.booleans())
    def the_friend_registers(self, again: bool) -> None:
        self.tell("member.registered", self.registered(self.friend))
        if again:  # the relay delivers the same event twice
            self.tell(
                "member.registered", self.registered(self.friend), event_id=self.events[-1].event_id
            )
        self.joined = True

    @rule(trigger=st.sampled_from(["purchase", "attendance", "birthday"]))
    def the_friend_earns(self, trigger: str) -> None:
        event = contract.EarnEvent(
            trigger=contract.Trigger(trigger),
            occurred_at=datetime.now(UTC),
            venue_id=VENUE,
            **({"amount": "12", "currency": "EUR"} if trigger == "purchase" else {}),
        )
        body = contract.RecordEarn(
            member_id=self.friend.id, external_id=uuid.uuid4().hex, event=event
        )
        outcome = self.run(earn_points(self.engine, self.book, STAFF, body))
        self.run(
            after_earn(
                self.engine, self.book, self.friend.id, trigger, event.occurred_at, outcome.entry.id
            )
        )
        self.qualified = self.qualified or trigger != "birthday"

    @precondition(lambda self: not self.joined)
    @rule()
    def the_referrer_links_the_friends_email(self) -> None:
        payload = {
            "member_id": str(self.referrer.id),
            "kind": "email",
            "identifier_hash": self.friend.email,
        }
        self.tell("identifier.linked", payload)
        self.linked = True

    @precondition(lambda self: self.joined and not self.merged)
    @rule(friend_survives=st.booleans())
    def the_two_are_merged(self, friend_survives: bool) -> None:
        survivor, absorbed = (
            (self.friend, self.referrer) if friend_survives else (self.referrer, self.friend)
        )
        payload = {
            "member_id": str(survivor.id),
            "survivor_id": str(survivor.id),
            "absorbed_id": str(absorbed.id),
            "merge_id": str(uuid.uuid4()),
        }
        self.tell("members.merged", payload)
        self.merged = True

    @precondition(lambda self: bool(self.events))
    @rule(data=st.data(), same_id=st.booleans())
    def an_event_is_told_again(self, data: st.DataObject, same_id: bool) -> None:
        event = data.draw(st.sampled_from(self.events))
        self.tell(event.type, event.payload, event_id=event.event_id if same_id else None)

    # ---- what must hold -----------------------------------------------------------------------

    def expected(self) -> str:
        if self.linked or self.merged:
            return "voided"
        if self.joined and self.qualified:
            return "converted"
        return "joined" if self.joined else "pending"

    @invariant()
    def the_referral_stands_as_the_facts_say_and_rewards_only_what_stands(self) -> None:
        if not hasattr(self, "referral"):
            return
        self.run(self._check())

    async def _check(self) -> None:
        async with self.engine.connect() as conn:
            status = await conn.scalar(
                sa.text("SELECT status FROM loyalty.referrals WHERE id = :r"), {"r": self.referral}
            )
            assert status == self.expected(), (status, self.expected())
            rows = (
                await conn.execute(
                    sa.text(
                        "SELECT external_id, kind, points FROM loyalty.journal_entries"
                        " WHERE source = 'system' AND external_id LIKE :k"
                    ),
                    {"k": f"%referral:{self.referral}:%"},
                )
            ).all()
        net = {"referrer": 0, "referee": 0}
        written: dict[str, int] = {}
        for external_id, kind, points in rows:
            side = external_id.rsplit(":", 1)[1]
            net[side] += points
            written[f"{kind}:{side}"] = written.get(f"{kind}:{side}", 0) + 1
        assert all(count == 1 for count in written.values()), written
        converted = status == "converted"
        assert net == {
            "referrer": REFERRAL_POINTS * converted,
            "referee": WELCOME_POINTS * converted,
        }, (status, rows)


def test_referrals_reward_exactly_what_stands_whatever_is_told_in_whatever_order(
    make_database: Any,
) -> None:
    ReferralMachine.database_url = make_database()
    run_state_machine_as_test(
        ReferralMachine,
        settings=settings(
            max_examples=40,
            stateful_step_count=10,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
