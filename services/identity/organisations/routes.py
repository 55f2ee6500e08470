"""Organisations' internal HTTP routes: parse, call one use case, serialise."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from services.common.http import parse_body, reply
from services.identity import contract
from services.identity.organisations import api_keys, use_cases
from services.identity.routing import INTERNAL, actor, created, engine, path_uuid


async def create_venue(request: Request) -> Response:
    body = await parse_body(request, contract.CreateVenue)
    return created(await use_cases.create_venue(engine(request), actor(request), body))


async def get_venue(request: Request) -> Response:
    return reply(await use_cases.get_venue(engine(request), path_uuid(request, "venue_id")))


async def create_partner(request: Request) -> Response:
    body = await parse_body(request, contract.CreatePartner)
    return created(await use_cases.create_partner(engine(request), actor(request), body))


async def create_staff_account(request: Request) -> Response:
    body = await parse_body(request, contract.CreateStaffAccount)
    return created(await use_cases.create_staff_account(engine(request), actor(request), body))


async def issue_api_key(request: Request) -> Response:
    partner_id = path_uuid(request, "partner_id")
    body = await parse_body(request, contract.IssueApiKey)
    return created(await api_keys.issue_api_key(engine(request), actor(request), partner_id, body))


async def revoke_api_key(request: Request) -> Response:
    key_id = path_uuid(request, "key_id")
    return reply(await api_keys.revoke_api_key(engine(request), actor(request), key_id))


async def set_scope(request: Request) -> Response:
    key_id = path_uuid(request, "key_id")
    body = await parse_body(request, contract.PartnerScope)
    return reply(await api_keys.set_scope(engine(request), actor(request), key_id, body))


async def verify_api_key(request: Request) -> Response:
    body = await parse_body(request, contract.VerifyApiKey)
    return reply(await api_keys.verify_api_key(engine(request), body))


routes = [
    Route(f"{INTERNAL}/venues", create_venue, methods=["POST"]),
    Route(f"{INTERNAL}/venues/{{venue_id}}", get_venue, methods=["GET"]),
    Route(f"{INTERNAL}/partners", create_partner, methods=["POST"]),
    Route(f"{INTERNAL}/staff", create_staff_account, methods=["POST"]),
    Route(f"{INTERNAL}/partners/{{partner_id}}/api-keys", issue_api_key, methods=["POST"]),
    Route(f"{INTERNAL}/api-keys/verify", verify_api_key, methods=["POST"]),
    Route(f"{INTERNAL}/api-keys/{{key_id}}/revoke", revoke_api_key, methods=["POST"]),
    Route(f"{INTERNAL}/api-keys/{{key_id}}/scope", set_scope, methods=["PUT"]),
]
