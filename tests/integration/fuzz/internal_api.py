"""The services' internal HTTP APIs described for fuzzing: every route of identity and loyalty
with the contract model its body is parsed into and the query parameters it reads, written as an
OpenAPI document that Schemathesis generates requests from (valid ones, and in its negative mode
ones that break the schema), then hardened the way an attacker (or a confused caller) would: ids
that exist, wrong credentials, odd actors, control characters, huge numbers, bodies that are not
JSON objects or not UTF-8."""

from __future__ import annotations

import base64
import datetime as dt
import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import jwt
import schemathesis
from hypothesis import strategies as st
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema
from schemathesis import GenerationMode
from starlette.applications import Starlette
from starlette.routing import Route

from services.common.actor import Actor, ActorKind, PartnerScope
from services.identity import contract as identity
from services.identity.contract import EventType
from services.loyalty import contract as loyalty
from services.loyalty.experiences import contract as experiences
from services.loyalty.referrals import contract as referrals
from tests.integration.fuzz.values import (
    PRINTABLE,
    instants,
    long_strings,
    mostly,
    one_in,
    texts,
)

LOCALE = {"type": "string", "enum": ["en", "fr"]}
FIRST = {"type": "integer", "minimum": 1, "maximum": 100}
UUID_TEXT = {"type": "string", "format": "uuid"}
FLAG = {"type": "string", "enum": ["true", "false", "1", "0", "yes"]}
CURSOR = {"type": "string", "maxLength": 40}


@dataclass(frozen=True)
class Operation:
    """What one route reads: the contract model of its JSON body and its query parameters."""

    body: type[BaseModel] | None = None
    query: dict[str, dict[str, Any]] = field(default_factory=dict)


IDENTITY: dict[tuple[str, str], Operation] = {
    ("GET", "/healthz"): Operation(),
    ("GET", "/readyz"): Operation(),
    ("GET", "/metrics"): Operation(),
    ("GET", "/.well-known/jwks.json"): Operation(),
    ("POST", "/internal/members"): Operation(identity.RegisterMember),
    ("GET", "/internal/members/{member_id}"): Operation(),
    ("POST", "/internal/members/{member_id}/identifiers"): Operation(identity.LinkIdentifier),
    (
        "GET",
        "/internal/resolve",
    ): Operation(
        query={
            "kind": {"type": "string", "enum": [k.value for k in identity.IdentifierKind]},
            "value": {"type": "string", "minLength": 1, "maxLength": 100},
        }
    ),
    ("POST", "/internal/merges"): Operation(identity.MergeMembers),
    ("POST", "/internal/venues"): Operation(identity.CreateVenue),
    ("GET", "/internal/venues/{venue_id}"): Operation(),
    ("POST", "/internal/partners"): Operation(identity.CreatePartner),
    ("POST", "/internal/staff"): Operation(identity.CreateStaffAccount),
    ("POST", "/internal/partners/{partner_id}/api-keys"): Operation(identity.IssueApiKey),
    ("POST", "/internal/api-keys/verify"): Operation(identity.VerifyApiKey),
    ("POST", "/internal/api-keys/{key_id}/revoke"): Operation(),
    ("PUT", "/internal/api-keys/{key_id}/scope"): Operation(identity.PartnerScope),
    ("PUT", "/internal/members/{member_id}/preferences"): Operation(identity.UpdatePreferences),
    ("GET", "/internal/members/{member_id}/export"): Operation(),
    ("POST", "/internal/members/{member_id}/erase"): Operation(),
    ("POST", "/internal/referees/resolve"): Operation(identity.ResolveReferee),
    ("GET", "/internal/revocations"): Operation(
        query={
            "after": {"type": "integer", "minimum": 0, "maximum": 2**63 - 1},
            "wait": {"type": "number", "minimum": 0, "maximum": 0.05},
        }
    ),
    ("POST", "/internal/login"): Operation(identity.Login),
    ("POST", "/internal/refresh"): Operation(identity.Refresh),
    ("POST", "/internal/members/{member_id}/verifications"): Operation(identity.IdentifierRef),
    ("POST", "/internal/members/{member_id}/verifications/check"): Operation(
        identity.VerifyIdentifier
    ),
}

_LOCALE = {"locale": LOCALE}
LOYALTY: dict[tuple[str, str], Operation] = {
    ("GET", "/healthz"): Operation(),
    ("GET", "/readyz"): Operation(),
    ("GET", "/metrics"): Operation(),
    ("GET", "/.well-known/jwks.json"): Operation(),
    ("POST", "/internal/events"): Operation(loyalty.EventBatch),
    ("GET", "/internal/members/{member_id}/export"): Operation(),
    ("GET", "/internal/members/{member_id}/account"): Operation(
        query={"first": FIRST, "after": CURSOR, **_LOCALE}
    ),
    ("GET", "/internal/liability"): Operation(),
    ("POST", "/internal/earn"): Operation(loyalty.RecordEarn, _LOCALE),
    ("POST", "/internal/earn/simulate"): Operation(loyalty.SimulateEarn),
    ("POST", "/internal/reversals"): Operation(loyalty.ReverseEarn, _LOCALE),
    ("POST", "/internal/jobs/settle-points"): Operation(),
    ("POST", "/internal/redemptions"): Operation(loyalty.RedeemReward, _LOCALE),
    ("GET", "/internal/rewards"): Operation(query={"member_id": UUID_TEXT, **_LOCALE}),
    ("POST", "/internal/rewards"): Operation(loyalty.CreateReward, _LOCALE),
    ("PATCH", "/internal/rewards/{reward_id}"): Operation(loyalty.UpdateReward, _LOCALE),
    ("POST", "/internal/rewards/{reward_id}/retire"): Operation(query=_LOCALE),
    ("GET", "/internal/rulebook"): Operation(query=_LOCALE),
    ("POST", "/internal/rule-sets"): Operation(loyalty.PublishRuleSet),
    ("POST", "/internal/experiences"): Operation(experiences.CreateExperience, _LOCALE),
    ("GET", "/internal/experiences"): Operation(
        query={"venue_id": UUID_TEXT, "include_past": FLAG, **_LOCALE}
    ),
    ("GET", "/internal/experiences/{experience_id}"): Operation(query=_LOCALE),
    ("PATCH", "/internal/experiences/{experience_id}"): Operation(
        experiences.UpdateExperience, _LOCALE
    ),
    ("POST", "/internal/experiences/{experience_id}/cancel"): Operation(
        experiences.CancelExperience, _LOCALE
    ),
    ("POST", "/internal/experiences/{experience_id}/issuances"): Operation(
        experiences.IssueInvitations, _LOCALE
    ),
    ("GET", "/internal/experiences/{experience_id}/issuances"): Operation(query=_LOCALE),
    ("GET", "/internal/issuances/{issuance_id}"): Operation(query=_LOCALE),
    ("GET", "/internal/members/{member_id}/invitations"): Operation(query=_LOCALE),
    ("POST", "/internal/invitations/{invitation_id}/respond"): Operation(
        experiences.RespondToInvitation, _LOCALE
    ),
    ("POST", "/internal/invitations/{invitation_id}/rating"): Operation(experiences.RateExperience),
    ("POST", "/internal/door/redeem"): Operation(experiences.RedeemInvitation, _LOCALE),
    ("POST", "/internal/door/redeem-batch"): Operation(experiences.RedeemBatch, _LOCALE),
    ("GET", "/internal/experience-figures"): Operation(query={"venue_id": UUID_TEXT, **_LOCALE}),
    ("POST", "/internal/jobs/experiences"): Operation(),
    ("GET", "/internal/members/{member_id}/referral-code"): Operation(),
    ("GET", "/internal/referral-codes"): Operation(
        query={"code": {"type": "string", "maxLength": 40}}
    ),
    ("POST", "/internal/referrals"): Operation(referrals.RegisterReferral, _LOCALE),
    ("POST", "/internal/referrals/signup"): Operation(referrals.SignupReferral, _LOCALE),
    ("POST", "/internal/referrals/guest"): Operation(referrals.GuestReferral),
    ("POST", "/internal/referrals/guests/due"): Operation(query={"first": FIRST}),
    ("POST", "/internal/referrals/guests/drop"): Operation(referrals.GuestDone),
    ("GET", "/internal/partner/referrals"): Operation(query={"first": FIRST, "after": CURSOR}),
    ("GET", "/internal/members/{member_id}/referrals"): Operation(query=_LOCALE),
    ("GET", "/internal/ambassadors"): Operation(query={"first": FIRST, **_LOCALE}),
    ("PUT", "/internal/partner/webhook"): Operation(referrals.SetWebhook),
    ("POST", "/internal/partner/webhook/rotate"): Operation(referrals.RotateSecret),
    ("GET", "/internal/partner/webhook/deliveries"): Operation(
        query={"partner_id": UUID_TEXT, "first": FIRST}
    ),
    ("POST", "/internal/jobs/referrals"): Operation(),
}

SERVICES = {"identity": IDENTITY, "loyalty": LOYALTY}


def app_routes(app: Starlette) -> set[tuple[str, str]]:
    """Every (method, path) the app answers (HEAD aside: Starlette adds it to each GET)."""
    return {
        (method, route.path)
        for route in app.routes
        if isinstance(route, Route)
        for method in route.methods or ()
        if method != "HEAD"
    }


def openapi_document(service: str) -> dict[str, Any]:
    """The service's routes as an OpenAPI 3.1 document, the bodies' schemas from the contract
    models (as pydantic validates them)."""
    table = SERVICES[service]
    models = sorted({op.body for op in table.values() if op.body is not None}, key=str)
    refs, defs = models_json_schema(
        [(model, "validation") for model in models], ref_template="#/components/schemas/{model}"
    )
    paths: dict[str, dict[str, Any]] = {}
    for (method, path), operation in sorted(table.items()):
        parameters = [
            {"name": name, "in": "path", "required": True, "schema": UUID_TEXT}
            for name in _path_names(path)
        ] + [
            {"name": name, "in": "query", "required": False, "schema": schema}
            for name, schema in operation.query.items()
        ]
        spec: dict[str, Any] = {
            "operationId": f"{method} {path}",
            "parameters": parameters,
            "responses": {"default": {"description": "an answer"}},
        }
        if operation.body is not None:
            schema = refs[(operation.body, "validation")]
            spec["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": schema}},
            }
        paths.setdefault(path, {})[method.lower()] = spec
    return {
        "openapi": "3.1.0",
        "info": {"title": f"{service} (internal)", "version": "1"},
        "paths": paths,
        "components": {"schemas": defs.get("$defs", {})},
    }


def _path_names(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{")]


@dataclass(frozen=True)
class Request:
    """One request as sent: what a failure prints, and what a regression example spells."""

    method: str
    path: str
    params: tuple[tuple[str, str], ...] = ()
    headers: tuple[tuple[str, str], ...] = ()
    content: bytes | None = None

    def __repr__(self) -> str:  # short, as Hypothesis prints it
        return f"Request({fuzz_text_of(self)})"


@dataclass
class Known:
    """Ids and secrets that exist on the running platform, so that requests reach its data."""

    ids: dict[str, list[str]]
    emails: list[str]
    passwords: list[str]
    api_keys: list[str]
    refresh_tokens: list[str]
    codes: list[str]  # members' referral codes and the door codes of accepted invitations
    door_tokens: list[str]


# ---- values ----------------------------------------------------------------------------------

#: Instants at the ends of what Python and PostgreSQL hold, with the widest offsets.
EDGES = st.sampled_from(
    [
        "0001-01-01T00:00:00+14:00",
        "0001-01-01T00:00:00-23:59",
        "9999-12-31T23:59:59-14:00",
        "9999-12-31T23:59:59.999999+23:59",
        "4714-11-24T00:00:00Z",
        "294276-12-31T23:59:59Z",
        "2026-12-01T19:30:00+24:00",
        "2026-12-01T19:30:00.1234567+01:00",
    ]
)
HUGE_INTS = [2**31, 2**63, -(2**63) - 1, 10**30, 10**400, -1, 0]


def hostile_values() -> st.SearchStrategy[Any]:
    """What goes where a value of another shape was expected."""
    return st.one_of(
        texts(),
        st.sampled_from(HUGE_INTS),
        st.integers(),
        st.floats(),
        st.booleans(),
        st.none(),
        st.just([]),
        st.just({}),
        st.lists(st.integers(), max_size=3),
        st.dictionaries(st.text(PRINTABLE, max_size=5), st.integers(), max_size=2),
        st.sampled_from(["\x00", "a\x00b", "\u202e", "\ufeff", "\x1b[31m", "%00", "' OR 1=1--"]),
    )


def raw_bodies() -> st.SearchStrategy[bytes]:
    """Bodies that are not a JSON object: other JSON, broken JSON, bytes that are not UTF-8."""
    deep = st.integers(100, 100_000).map(lambda n: b"[" * n + b"]" * n)
    deep_object = st.integers(100, 20_000).map(lambda n: b'{"a":' * n + b"1" + b"}" * n)
    return st.one_of(
        st.sampled_from(
            [
                b"",
                b"null",
                b"[]",
                b"[{}]",
                b'"text"',
                b"42",
                b"true",
                b"{",
                b'{"a":',
                b"{}}",
                b"\xff\xfe{}",
                b'{"email": "\xc3\x28"}',
                b'{"\xed\xa0\x80": 1}',
                b"\xef\xbb\xbf{}",
                b'{"a": NaN}',
                b'{"a": 1e999}',
                b'{"a": "\\ud800"}',
                b'{"a": "\\u0000"}',
                b'{"a": 1, "a": 2}',
                b"1" * 5000,
                b'{"a": ' + b"9" * 5000 + b"}",
            ]
        ),
        deep,
        deep_object,
        st.binary(max_size=64),
        st.recursive(
            st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=8)),
            lambda children: st.lists(children, max_size=3),
            max_leaves=8,
        ).map(lambda v: json.dumps(v).encode()),
    )


def _ids(known: Known, kind: str) -> st.SearchStrategy[str]:
    existing = known.ids.get(kind) or []
    fresh = st.uuids().map(str)
    return st.sampled_from(existing) | fresh if existing else fresh


def payloads(known: Known) -> st.SearchStrategy[dict[str, Any]]:
    """Identity's event payloads, as the relay would send them and not quite."""
    member = _ids(known, "member")
    fields = st.fixed_dictionaries(
        {"member_id": member},
        optional={
            "survivor_id": member,
            "absorbed_id": member,
            "merge_id": st.uuids().map(str),
            "kind": st.sampled_from(["email", "phone", "membership_card", "device"]),
            "identifier_hash": st.text("0123456789abcdef", min_size=64, max_size=64),
            "identifier_hashes": st.fixed_dictionaries(
                {}, optional={"email": st.text("0123456789abcdef", min_size=64, max_size=64)}
            ),
            "locale": st.sampled_from(["en", "fr", "de"]),
            "birth_date": st.one_of(st.none(), st.dates().map(str)),
            "erased_at": instants(),
            "preferences": st.fixed_dictionaries(
                {},
                optional={
                    "consents": st.dictionaries(
                        st.sampled_from(["email", "sms", "push", "post", "x"]), st.booleans()
                    ),
                    "invitation_cap_per_30_days": st.sampled_from([0, 3, 30, -1, 10**20]),
                    "quiet_hours": st.one_of(
                        st.none(),
                        st.fixed_dictionaries(
                            {
                                "start": st.sampled_from(["22:00", "07:00", "25:00"]),
                                "end": st.sampled_from(["07:00", "x"]),
                                "timezone": st.sampled_from(["Europe/Paris", "Mars/Base", ""]),
                            }
                        ),
                    ),
                    "interests": st.lists(st.text(PRINTABLE, max_size=10), max_size=3),
                },
            ),
        },
    )
    broken = st.dictionaries(
        st.sampled_from(["member_id", "survivor_id", "absorbed_id", "erased_at", "preferences"]),
        hostile_values(),
        max_size=3,
    )
    return mostly(fields, broken)


def cursors() -> st.SearchStrategy[str]:
    """The lists' cursors as they are spelled (an account's history: ``e<sequence>``; a
    partner's referrals: base64 of ``<registered at>|<referral id>``), with odd contents."""
    sequence = st.one_of(st.integers(0, 10**6), st.sampled_from(HUGE_INTS)).map(lambda n: f"e{n}")
    moments = st.one_of(
        instants(),
        st.datetimes().map(dt.datetime.isoformat),  # without an offset
        st.sampled_from(["9999-12-31T23:59:59+00:00", "0001-01-01T00:00:00+14:00"]),
    )
    referral = st.tuples(moments, st.uuids().map(str) | texts()).map(
        lambda pair: base64.urlsafe_b64encode(f"{pair[0]}|{pair[1]}".encode()).decode()
    )
    return st.one_of(sequence, referral)


def targets(known: Known) -> dict[str, st.SearchStrategy[Any]]:
    """Values for the body fields and query parameters whose names say what they hold, so that
    most requests get past the first validation and reach the data."""
    instant = mostly(
        st.datetimes(min_value=dt.datetime(2025, 6, 1), max_value=dt.datetime(2027, 6, 30)).map(
            lambda d: d.replace(microsecond=0).isoformat() + "+01:00"
        ),
        instants() | EDGES,
    )
    email = mostly(
        st.one_of(
            st.sampled_from(known.emails),
            st.emails(domains=st.sampled_from(["example.org", "example.com"])),
        ),
        texts(),
    )
    members = _ids(known, "member")
    venues = _ids(known, "venue")
    return {
        "email": email,
        "password": mostly(
            st.sampled_from([*known.passwords, "correct horse battery staple"]), texts()
        ),
        "phone": mostly(st.sampled_from(["+33612345678", "+442071838750", "0612345678"]), texts()),
        "api_key": mostly(st.sampled_from(known.api_keys), texts()),
        "refresh_token": mostly(st.sampled_from(known.refresh_tokens), texts()),
        "code": mostly(st.sampled_from(known.codes or ["K7QM-4XRF"]), texts()),
        "token": mostly(st.sampled_from(known.door_tokens or ["x.y.z"]), texts()),
        "amount": mostly(st.decimals(min_value=0, max_value=500, places=2).map(str), texts()),
        "currency": mostly(st.just("EUR"), st.sampled_from(["USD", "eur", "XXX", "", "EURO"])),
        "member_id": members,
        "survivor_id": members,
        "absorbed_id": members,
        "venue_id": venues,
        "venue_ids": st.lists(venues, max_size=3),
        "partner_id": _ids(known, "partner"),
        "reward_id": _ids(known, "reward"),
        "experience_id": _ids(known, "experience"),
        "invitation_id": _ids(known, "invitation"),
        "issuance_id": _ids(known, "issuance"),
        "key_id": _ids(known, "key"),
        "after": mostly(cursors(), texts()),
        # an erasure now and then: the members it erases earn and redeem no more
        "type": mostly(
            st.sampled_from([t.value for t in EventType if t is not EventType.MEMBER_ERASED]),
            st.sampled_from([t.value for t in EventType]) | texts(),
        ),
        "payload": payloads(known),
        **{
            name: instant
            for name in (
                "occurred_at",
                "starts_at",
                "ends_at",
                "scanned_at",
                "given_at",
                "invitations_open_at",
                "invitations_close_at",
                "valid_from",
                "valid_until",
            )
        },
    }


def retarget(value: Any, draw: st.DrawFn, strategies: dict[str, st.SearchStrategy[Any]]) -> Any:
    """``value`` with the members named in ``strategies`` drawn again (each two times in three),
    at any depth."""
    if isinstance(value, list):
        return [retarget(item, draw, strategies) for item in value]
    if not isinstance(value, dict):
        return value
    changed = {}
    for key, item in value.items():
        strategy = strategies.get(key)
        if strategy is not None and not draw(one_in(3)):
            changed[key] = draw(strategy)
        else:
            changed[key] = retarget(item, draw, strategies)
    return changed


def scrub(value: Any) -> Any:
    """``value`` without control characters in its strings (Schemathesis puts them in valid
    bodies, and the services refuse them before anything else)."""
    if isinstance(value, str):
        return "".join(c for c in value if c.isprintable() or c == " ")
    if isinstance(value, list):
        return [scrub(item) for item in value]
    if isinstance(value, dict):
        return {scrub(key): scrub(item) for key, item in value.items()}
    return value


def spoil(body: Any, draw: st.DrawFn) -> Any:
    """A valid body made invalid the way callers do: a member missing, one more, one of another
    kind or with a NUL inside."""
    if not isinstance(body, dict):
        return body
    spoiled = dict(body)
    how = draw(st.sampled_from(["missing", "extra", "hostile", "nul"]))
    keys = sorted(spoiled)
    if how == "extra" or not keys:
        spoiled[draw(st.sampled_from(["id", "admin", "__proto__", "extra", "x" * 300]))] = draw(
            hostile_values()
        )
    elif how == "missing":
        del spoiled[draw(st.sampled_from(keys))]
    elif how == "hostile":
        spoiled[draw(st.sampled_from(keys))] = draw(hostile_values())
    else:
        key = draw(st.sampled_from(keys))
        spoiled[key] = f"{spoiled[key]}\x00" if isinstance(spoiled[key], str) else "\x00"
    return spoiled


# ---- who is calling --------------------------------------------------------------------------

HEADER_TEXT = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"), max_size=60
)


def credentials(secret: str, audience: str) -> st.SearchStrategy[str | None]:
    """The service credential: valid nine times in ten, else missing, for another service,
    signed with another secret, expired, or not a token at all."""
    now = int(time.time())

    def token(claims: dict[str, Any], key: str = secret, algorithm: str = "HS256") -> str:
        return "Bearer " + jwt.encode(claims, key, algorithm=algorithm)

    valid = st.builds(lambda: token({"aud": audience, "iat": now, "exp": int(time.time()) + 300}))
    odd: st.SearchStrategy[str | None] = st.one_of(
        st.none(),
        st.just(token({"aud": "gateway", "iat": now, "exp": now + 300})),
        st.just(token({"aud": audience, "exp": now + 300}, "another-secret-0123456789abcdef!")),
        st.just(token({"aud": audience, "iat": now - 900, "exp": now - 600})),
        st.just(token({"aud": audience})),
        st.just(token({"aud": audience, "exp": 10**20})),
        st.just("Bearer " + jwt.encode({"aud": audience}, key="", algorithm="none")),
        st.sampled_from(["Bearer", "Bearer ", "Basic YTpi", "bearer x.y.z", "Bearer a.b.c"]),
        HEADER_TEXT.map(lambda s: "Bearer " + s),
    )
    return one_in(10).flatmap(lambda odd_one: odd if odd_one else valid)


def actors(known: Known) -> st.SearchStrategy[dict[str, str]]:
    """Who the gateway says is acting, and headers no gateway would send."""
    members, venues = _ids(known, "member"), _ids(known, "venue")
    partner = _ids(known, "partner")
    scope = st.builds(
        PartnerScope,
        st.frozensets(st.sampled_from(["purchase", "ticket_purchase", "signup", "x"]), max_size=3),
        st.one_of(st.none(), st.frozensets(venues, max_size=2)),
        st.booleans(),
    )
    partners = st.builds(
        Actor, st.just(ActorKind.PARTNER), partner, st.just(frozenset()), st.none() | scope
    )
    system = st.just(Actor(ActorKind.SYSTEM, "system"))
    admin = st.builds(Actor, st.just(ActorKind.ADMIN), st.uuids().map(str))
    sensible = st.sampled_from(
        [
            system,
            system,
            admin,
            admin,
            st.just(Actor(ActorKind.ANONYMOUS)),
            st.builds(Actor, st.just(ActorKind.MEMBER), members),
            st.builds(Actor, st.just(ActorKind.STAFF), st.uuids().map(str), st.frozensets(venues)),
            partners,
            partners,
        ]
    ).flatmap(lambda actor: actor.map(Actor.headers))
    odd = st.fixed_dictionaries(
        {},
        optional={
            "x-actor-kind": st.sampled_from([k.value for k in ActorKind]) | HEADER_TEXT,
            "x-actor-id": HEADER_TEXT | members,
            "x-actor-venues": HEADER_TEXT | st.lists(venues).map(",".join),
            "x-actor-scope": HEADER_TEXT
            | st.sampled_from(
                [
                    "{}",
                    "[]",
                    "null",
                    '{"triggers": "purchase", "venue_ids": null, "register_referrals": 1}',
                    '{"triggers": [1], "venue_ids": [null], "register_referrals": true}',
                ]
            ),
        },
    )
    return mostly(sensible, odd)


# ---- requests --------------------------------------------------------------------------------


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value)


def _path_value(value: Any) -> str:
    return quote(_text(value), safe="%")  # Schemathesis encodes its own


def _body_bytes(body: Any) -> bytes:
    if isinstance(body, bytes):
        return body
    try:
        return json.dumps(body, ensure_ascii=False).encode("utf-8", "surrogatepass")
    except (TypeError, ValueError):
        return json.dumps(body, default=str).encode()


def requests(service: str, known: Known, secret: str) -> st.SearchStrategy[Request]:
    """Requests to any route of ``service``, the routes drawn evenly."""
    schema = schemathesis.openapi.from_dict(openapi_document(service))
    table = SERVICES[service]
    cases = {
        (method, path): (
            schema[path][method].as_strategy(generation_mode=GenerationMode.POSITIVE),
            schema[path][method].as_strategy(generation_mode=GenerationMode.NEGATIVE),
        )
        for method, path in table
    }
    named = targets(known)
    credential = credentials(secret, service)
    actor = actors(known)

    @st.composite
    def request(draw: st.DrawFn) -> Request:
        method, path = draw(st.sampled_from(sorted(table)))
        operation = table[(method, path)]
        positive, negative = cases[(method, path)]
        valid = not draw(one_in(4))
        case = draw(positive if valid else negative)

        parameters = dict(case.path_parameters or {})
        if valid:
            parameters = retarget(parameters, draw, named)
        url = path
        for name in _path_names(path):
            value = _path_value(parameters.get(name, ""))[:2000]
            url = url.replace(f"{{{name}}}", value or "x")

        query = dict(case.query or {})
        if valid:
            query = retarget(query, draw, named)
        if operation.query and draw(one_in(10)):
            query[draw(st.sampled_from(sorted(operation.query)))] = draw(
                st.sampled_from([str(n) for n in HUGE_INTS]) | texts() | long_strings()
            )
        if "wait" in query:  # a long poll would only make the run slower
            query["wait"] = "0"
        params = tuple(
            (str(name)[:200], _text(item)[:2000])  # an address has at most 64 KiB
            for name, value in sorted(query.items(), key=lambda kv: str(kv[0]))
            for item in (value if isinstance(value, list) else [value])
        )

        content: bytes | None = None
        if operation.body is not None:
            body = case.body
            if valid:
                if not draw(one_in(4)):
                    body = scrub(body)
                body = retarget(body, draw, named)
                if draw(one_in(6)):
                    body = spoil(body, draw)
            content = _body_bytes(body)
            if draw(one_in(10)):
                content = draw(raw_bodies())
        elif draw(one_in(10)):
            content = draw(raw_bodies())

        headers = dict(draw(actor))
        token = draw(credential)
        if token is not None:
            headers["authorization"] = token
        if content is not None:
            headers["content-type"] = draw(
                st.sampled_from(["application/json"] * 4 + ["text/plain", "application/xml"])
            )
        return Request(method, url, params, tuple(sorted(headers.items())), content)

    return request()


def fuzz_text_of(request: Request) -> str:
    """The request, for a failure's message."""
    body = request.content[:600] if request.content is not None else b""
    return (
        f"{request.method} {request.path[:300]} params={_short(request.params)} "
        f"headers={_short(request.headers)} body={body!r}"
    )


def _short(pairs: tuple[tuple[str, str], ...]) -> str:
    return repr({k[:100]: v[:200] for k, v in pairs})
