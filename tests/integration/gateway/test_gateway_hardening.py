"""The platform against hostile input, through the public API: what used to end in
INTERNAL_ERROR (with SQL, its parameters and a password hash in the message) is refused at the
edge with a typed code, and writes nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.integration.gateway.conftest import REGISTER


@pytest.mark.parametrize("field", ["displayName", "idempotencyKey", "password", "phone"])
async def test_a_nul_in_an_anonymous_registration_is_invalid_input_and_writes_nothing(
    gateway: Any, field: str
) -> None:
    variables = {"input": {"email": "nul.case@example.org", "password": "a long passphrase"}}
    variables["input"][field] = "x\u0000y"
    members = await gateway.count("identity.members")
    response = await gateway.client.post(
        "/graphql",
        content=json.dumps({"query": REGISTER, "variables": variables}),  # "\u0000", escaped
        headers={"content-type": "application/json"},
    )
    body = response.json()
    assert body == {
        "data": None,
        "errors": [
            {
                "message": f"variables.input.{field} contains a control character, which is not allowed",
                "extensions": {"code": "INVALID_INPUT", "reason": "CONTROL_CHARACTER"},
            }
        ],
    }
    assert "SQL" not in response.text and "argon2" not in response.text
    assert await gateway.count("identity.members") == members
