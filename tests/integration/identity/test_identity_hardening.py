"""Identity's internal API against hostile input: a control character in any string of a body
is refused with a 422 ``CONTROL_CHARACTER`` before anything is written, and a crash answers a
JSON 500 that names no SQL, parameter or password hash."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from services.common.problems import Problem
from services.identity.organisations.use_cases import create_admin
from tests.integration.identity.conftest import unique_email


@pytest.mark.parametrize("field", ["email", "password", "display_name", "idempotency_key"])
async def test_a_nul_in_any_field_of_a_registration_is_refused_and_writes_nothing(
    identity: Any, field: str
) -> None:
    email = unique_email("nul")
    body = {"email": email, "password": "a long passphrase", field: "a\u0000b"}
    before = await identity.count("members")
    response = await identity.post("/internal/members", content=json.dumps(body))  # "\u0000"
    assert response.status_code == 422
    assert response.json() == {
        "code": "CONTROL_CHARACTER",
        "message": f"{field} contains a control character, which is not allowed",
        "details": {"field": field},
    }
    assert await identity.count("members") == before


@pytest.mark.parametrize(
    ("password", "code"),
    [
        ("aaaaaaaa", "PASSWORD_TOO_SIMPLE"),
        ("password", "PASSWORD_TOO_COMMON"),
        ("the-root-password", "PASSWORD_CONTAINS_IDENTIFIER"),
    ],
)
async def test_create_admin_refuses_a_common_simple_or_own_password(
    identity: Any, password: str, code: str
) -> None:
    email = f"root.{uuid.uuid4().hex[:6]}@example.org"
    with pytest.raises(Problem) as refused:
        await create_admin(identity.engine, email, password)
    assert (refused.value.code, refused.value.status) == (code, 422)
    assert await identity.count("accounts", "email = :e", e=email) == 0
    admin = await create_admin(identity.engine, email, "a long passphrase for the programme")
    assert admin.role.value == "admin"
