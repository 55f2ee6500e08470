"""Properties of identity resolution: one value per identifier whatever its spelling, one member
behind it, never a silent takeover, and merges that always lead to the final survivor.

The database properties are sync tests that run their coroutines on a private event loop with
an engine of their own (Hypothesis drives sync functions; the session engine belongs to another
loop). Each example creates fresh members with unique identifiers, so examples never interfere.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.common.actor import Actor, ActorKind
from services.common.db import create_engine
from services.common.problems import Problem
from services.identity import contract
from services.identity.members import use_cases as members
from services.identity.normalise import normalise
from services.identity.passwords import COST_ENV
from services.identity.verification import queries as verifications
from services.identity.verification import use_cases as verification

os.environ.setdefault(COST_ENV, "low")

T = TypeVar("T")
ADMIN = Actor(ActorKind.ADMIN, "property-tests")
SYSTEM = Actor(ActorKind.SYSTEM, "property-tests")
PASSWORD = "property password"
DB_SETTINGS = settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

# ---- strategies ------------------------------------------------------------------------------

_local = st.from_regex(r"[a-z0-9]([a-z0-9._+-]{0,15}[a-z0-9])?", fullmatch=True).filter(
    lambda s: ".." not in s
)
# a hyphen may not be doubled in a label (``xn--`` and the like are reserved for IDNA)
_label = st.from_regex(r"[a-z]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True).filter(
    lambda s: "--" not in s
)
_domain = st.builds(
    lambda labels, tld: ".".join([*labels, tld]),
    st.lists(_label, min_size=1, max_size=2),
    st.sampled_from(["org", "com", "fr", "museum"]),
)
emails = st.builds(lambda local, domain: f"{local}@{domain}", _local, _domain)
_spaces = st.sampled_from(["", " ", "  ", "\t", " \n"])


@st.composite
def spelled(draw: st.DrawFn, canonical: str) -> str:
    """The same email with any letters in upper case and whitespace around it."""
    cased = "".join(c.upper() if draw(st.booleans()) else c for c in canonical)
    return f"{draw(_spaces)}{cased}{draw(_spaces)}"


# French mobile numbers: the national significant number, e.g. 612345678
mobiles = st.from_regex(r"6[0-24-8][0-9]{7}", fullmatch=True)


def _pairs(digits: str) -> list[str]:
    return [digits[i : i + 2] for i in range(0, len(digits), 2)]


PHONE_SPELLINGS: list[Callable[[str], str]] = [
    lambda n: f"+33 {n[0]} {' '.join(_pairs(n[1:]))}",  # +33 6 12 34 56 78
    lambda n: " ".join(_pairs("0" + n)),  # 06 12 34 56 78
    lambda n: "0" + n,  # 0612345678
    lambda n: "+33" + n,  # +33612345678
    lambda n: ".".join(_pairs("0" + n)),  # 06.12.34.56.78
    lambda n: "-".join(_pairs("0" + n)),  # 06-12-34-56-78
    lambda n: "0033 " + n,  # 0033 612345678
    lambda n: f" +33 (0){n} ",
]
phone_spelling = st.sampled_from(PHONE_SPELLINGS)


# ---- pure properties -------------------------------------------------------------------------


@given(st.data(), emails)
def test_any_spelling_of_an_email_normalises_to_one_value(data: st.DataObject, email: str) -> None:
    first, second = data.draw(spelled(email)), data.draw(spelled(email))

    assert normalise("email", first) == normalise("email", second) == email.lower()


@given(mobiles, phone_spelling, phone_spelling)
def test_any_spelling_of_a_phone_normalises_to_its_e164_form(
    number: str, one: Callable[[str], str], other: Callable[[str], str]
) -> None:
    assert normalise("phone", one(number)) == normalise("phone", other(number)) == f"+33{number}"


@given(st.text(max_size=40))
def test_normalising_twice_changes_nothing(raw: str) -> None:
    for kind in contract.IdentifierKind:
        try:
            once = normalise(kind, raw)
        except Problem:
            continue
        assert normalise(kind, once) == once


# ---- against PostgreSQL ----------------------------------------------------------------------


class Database:
    """A private event loop and an engine living in it."""

    def __init__(self, database_url: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.engine = create_engine(database_url, pool_size=4, application_name="properties")

    def run(self, coroutine: Awaitable[T]) -> T:
        return self.loop.run_until_complete(coroutine)

    def close(self) -> None:
        self.run(self.engine.dispose())
        self.loop.close()


@pytest.fixture(scope="module")
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    try:
        yield database
    finally:
        database.close()


def _unique(email: str) -> str:
    local, domain = email.split("@")
    return f"{local}.{uuid.uuid4().hex[:10]}@{domain}"[-254:]


async def _register(
    engine: Any, email: str, phone: str | None = None, *, verified: bool = False
) -> uuid.UUID:
    outcome = await members.register_member(
        engine, SYSTEM, contract.RegisterMember(email=email, password=PASSWORD, phone=phone)
    )
    if verified:
        for identifier in outcome.value.identifiers:
            await _verify(engine, outcome.value.id, identifier.kind.value, identifier.value)
    return outcome.value.id


async def _verify(engine: Any, member_id: uuid.UUID, kind: str, value: str) -> None:
    """Give back the code sent to ``value`` (normalised), read from the outbox as the messaging
    system reads it."""
    async with engine.connect() as conn:
        sent = await verifications.codes_to_send(conn, member_id=member_id, value=value)
    body = contract.VerifyIdentifier(
        kind=contract.IdentifierKind(kind),
        value=value,
        verification_code=sent[-1].verification_code,
    )
    member = Actor(ActorKind.MEMBER, str(member_id))
    assert (await verification.verify_identifier(engine, member, member_id, body)).verified


async def _resolve(engine: Any, kind: str, value: str) -> uuid.UUID:
    resolution = await members.resolve(engine, SYSTEM, contract.IdentifierKind(kind), value)
    return resolution.member_id


async def _code(awaitable: Awaitable[Any]) -> str | None:
    try:
        await awaitable
    except Problem as problem:
        return problem.code
    return None


def _fresh_mobile() -> str:
    """A French mobile number no earlier example used (Hypothesis replays its own draws)."""
    n = uuid.uuid4().int
    return f"6{'01245678'[n % 8]}{n // 8 % 10**7:07d}"


@DB_SETTINGS
@given(st.data(), emails, st.lists(phone_spelling, min_size=2, max_size=4))
def test_registering_and_linking_with_any_spelling_resolves_to_one_member(
    db: Database, data: st.DataObject, email: str, phones: list[Callable[[str], str]]
) -> None:
    email = _unique(email)
    number = _fresh_mobile()
    spellings = data.draw(st.lists(spelled(email), min_size=2, max_size=4))

    async def scenario() -> None:
        member_id = await _register(db.engine, spellings[0], verified=True)
        for other in spellings[1:]:
            assert await _code(_register(db.engine, other)) == "IDENTIFIER_TAKEN"
        for spelling in spellings:
            assert await _resolve(db.engine, "email", spelling) == member_id

        link = contract.LinkIdentifier(kind=contract.IdentifierKind.PHONE, value=phones[0](number))
        linked = await members.link_identifier(db.engine, SYSTEM, member_id, link)
        assert linked.value.value == f"+33{number}"
        await _verify(db.engine, member_id, "phone", f"+33{number}")
        for spelling in phones:
            assert await _resolve(db.engine, "phone", spelling(number)) == member_id
            # and no one else can register with it, in any spelling
            taken = _register(db.engine, _unique(email), phone=spelling(number))
            assert await _code(taken) == "IDENTIFIER_TAKEN"

    db.run(scenario())


_cards = st.from_regex(r"[A-Z0-9]{4,12}", fullmatch=True)


@DB_SETTINGS
@given(st.data(), st.sampled_from(["email", "membership_card", "ticketing_id", "device"]))
def test_linking_never_takes_an_identifier_from_another_member(
    db: Database, data: st.DataObject, kind: str
) -> None:
    tag = uuid.uuid4().hex[:10]
    if kind == "email":
        canonical = _unique(data.draw(emails))
        first, second = data.draw(spelled(canonical)), data.draw(spelled(canonical))
    elif kind == "membership_card":
        canonical = data.draw(_cards) + tag.upper()
        first = "-".join(_pairs(canonical))
        second = " ".join(_pairs(canonical.lower()))
    else:
        canonical = f"{data.draw(st.from_regex(r'[A-Za-z0-9:/-]{1,20}', fullmatch=True))}{tag}"
        first, second = canonical, f"  {canonical} "

    async def scenario() -> None:
        owner = await _register(db.engine, f"owner.{tag}@example.org")
        other = await _register(db.engine, f"other.{tag}@example.org")
        link = contract.LinkIdentifier(kind=contract.IdentifierKind(kind), value=first)
        linked = await members.link_identifier(db.engine, SYSTEM, owner, link)
        if kind == "email":  # an email is the owner's once its code comes back
            await _verify(db.engine, owner, kind, linked.value.value)
        attempt = contract.LinkIdentifier(kind=contract.IdentifierKind(kind), value=second)

        assert await _code(members.link_identifier(db.engine, SYSTEM, other, attempt)) == (
            "IDENTIFIER_TAKEN"
        )
        assert await _resolve(db.engine, kind, second) == owner
        again = await members.link_identifier(db.engine, SYSTEM, owner, attempt)
        assert not again.created
        other_member = await members.get_member(db.engine, SYSTEM, other)
        assert [i.kind for i in other_member.identifiers] == [contract.IdentifierKind.EMAIL]

    db.run(scenario())


@DB_SETTINGS
@given(
    st.integers(min_value=2, max_value=6).flatmap(
        lambda n: st.tuples(
            st.just(n),
            st.lists(
                st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), min_size=1, max_size=8
            ),
        )
    )
)
def test_a_chain_of_merges_resolves_every_absorbed_id_to_the_final_survivor(
    db: Database, case: tuple[int, list[tuple[int, int]]]
) -> None:
    size, merges = case
    tag = uuid.uuid4().hex[:10]

    async def scenario() -> None:
        ids = [
            await _register(db.engine, f"m{i}.{tag}@example.org", verified=True)
            for i in range(size)
        ]
        survivor_of = {m: m for m in ids}  # the model: who each member stands for today

        for s, a in merges:
            survivor, absorbed = ids[s], ids[a]
            body = contract.MergeMembers(
                survivor_id=survivor, absorbed_id=absorbed, reason="duplicate"
            )
            code = await _code(members.merge_members(db.engine, ADMIN, body))
            if survivor == absorbed or survivor_of[survivor] == absorbed:
                assert code == "SAME_MEMBER"
            elif survivor_of[absorbed] != absorbed:
                assert code == "ALREADY_MERGED"
            else:
                assert code is None
                final = survivor_of[survivor]
                for member, current in survivor_of.items():
                    if current == absorbed:
                        survivor_of[member] = final

        for i, member in enumerate(ids):
            fetched = await members.get_member(db.engine, ADMIN, member)
            assert fetched.id == survivor_of[member]
            assert (
                await _resolve(db.engine, "email", f"m{i}.{tag}@example.org")
                == (survivor_of[member])
            )
        for survivor in set(survivor_of.values()):
            fetched = await members.get_member(db.engine, ADMIN, survivor)
            assert fetched.status is contract.MemberStatus.ACTIVE
            assert sorted(fetched.merged_from) == sorted(
                m for m, s in survivor_of.items() if s == survivor and m != survivor
            )

    db.run(scenario())
