"""What the gateway writes in its log when a service fails: the operation, the field and the
exception, never a password, a token, an API key, the document or its variables."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import structlog

from services.common.logs import REDACTED, configure_logging, redact_text

PASSWORD = "Sup3r-Secret-Passw0rd"
OTHER_PASSWORD = "an0ther-Secret-Passw0rd"
INLINE_LOGIN = f"""mutation {{ login(input: {{email: "ines@example.org", password: "{PASSWORD}"}}) {{
  __typename ... on Session {{ accessToken }} }} }}"""
LOGIN = """mutation($i: LoginInput!) { login(input: $i) { __typename } }"""
REGISTER = """mutation($i: RegisterMemberInput!) { registerMember(input: $i) { __typename } }"""
API_KEY = "lk_abcdefgh_the-partner-secret"


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """The JSON lines every logger writes while the test runs (the logging set-up is put back
    afterwards)."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    config = structlog.get_config()
    stream = io.StringIO()
    configure_logging("INFO", part="gateway", stream=stream)
    try:
        yield stream
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        structlog.configure(**config)


def identity_fails(request: httpx.Request) -> httpx.Response | None:
    if request.url.path in ("/internal/login", "/internal/members"):
        echoed = request.content.decode()  # a careless service echoing what it was sent
        return httpx.Response(500, text=f"Traceback (most recent call last): {echoed}")
    return None


@pytest.mark.parametrize("environment", ["development", "production"])
async def test_no_credential_reaches_the_log_when_identity_answers_500(
    make_gateway: Any, services: Any, log_lines: io.StringIO, environment: str
) -> None:
    services.overrides.append(identity_fails)
    async with make_gateway(environment=environment) as gateway:
        headers = {"x-api-key": API_KEY}
        await gateway.post(INLINE_LOGIN, headers=headers)
        await gateway.post(LOGIN, {"i": {"email": "a@example.org", "password": OTHER_PASSWORD}})
        await gateway.post(REGISTER, {"i": {"email": "b@example.org", "password": OTHER_PASSWORD}})
    text = log_lines.getvalue()
    for secret in (PASSWORD, OTHER_PASSWORD, API_KEY, "the-partner-secret"):
        assert secret not in text
    assert "mutation" not in text  # no document excerpt
    assert "variables" not in text
    lines = [json.loads(line) for line in log_lines.getvalue().splitlines()]
    failures = [line for line in lines if line["event"] == "unexpected error in a GraphQL field"]
    assert [(f["path"], f["level"]) for f in failures] == [
        (["login"], "error"),
        (["login"], "error"),
        (["registerMember"], "error"),
    ]
    assert all("identity answered 500" in f["exception"] for f in failures)


@pytest.mark.parametrize(
    ("text", "redacted"),
    [
        ('login(input: {password: "hunter2 22"})', f'login(input: {{password: "{REDACTED}"}})'),
        (
            '{"newPassword": "x,y", "email": "a@b.c"}',
            f'{{"newPassword": "{REDACTED}", "email": "a@b.c"}}',
        ),
        ("refreshToken='abc' next", f"refreshToken='{REDACTED}' next"),
        ("api_key=lk_1234_secret;", f"api_key={REDACTED};"),
        ("client_secret: s3cr3t)", f"client_secret: {REDACTED})"),
        ("Authorization: Bearer abc.def-ghi", f"Authorization: Bearer {REDACTED}"),
        ("sent Bearer abc.def-ghi", f"sent Bearer {REDACTED}"),
        ("key lk_abcd1234_Zz-9 used", f"key {REDACTED} used"),
        ("jwt eyJhbGciOi.eyJzdWIi.sig-n_at", f"jwt {REDACTED}"),
        ("hash $argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA end", f"hash {REDACTED} end"),
        (
            "[SQL: INSERT INTO t (a) VALUES ($1)]\n[parameters: ('x', 'y')]\n(Background on",
            f"[SQL: INSERT INTO t (a) VALUES ($1)]\n[parameters: {REDACTED}]\n(Background on",
        ),
        ("nothing to hide: 45.90 EUR", "nothing to hide: 45.90 EUR"),
    ],
)
def test_credentials_written_in_a_text_are_redacted(text: str, redacted: str) -> None:
    assert redact_text(text) == redacted


def test_values_under_credential_keys_are_redacted_at_any_depth(log_lines: io.StringIO) -> None:
    structlog.get_logger("test").warning(
        "calling",
        password="p1",
        body={"input": {"accessToken": "t1", "email": "a@b.c"}, "list": [{"apiKey": "k1"}]},
        headers={"Authorization": "Bearer t2", "X-API-Key": "k2", "accept": "*/*"},
    )
    [line] = [json.loads(line) for line in log_lines.getvalue().splitlines()]
    assert line["password"] == REDACTED
    assert line["body"] == {
        "input": {"accessToken": REDACTED, "email": "a@b.c"},
        "list": [{"apiKey": REDACTED}],
    }
    assert line["headers"] == {"Authorization": REDACTED, "X-API-Key": REDACTED, "accept": "*/*"}


CODE = "418263"
VERIFY = """mutation($i: VerifyIdentifierInput!) { verifyIdentifier(input: $i) { __typename } }"""
INLINE_VERIFY = f"""mutation {{ verifyIdentifier(input: {{kind: EMAIL, value: "ines@example.org", verificationCode: "{CODE}"}}) {{
  __typename }} }}"""


def verification_fails(request: httpx.Request) -> httpx.Response | None:
    if request.url.path.endswith("/verifications/check"):
        echoed = request.content.decode()  # a careless service echoing what it was sent
        return httpx.Response(500, text=f"Traceback (most recent call last): {echoed}")
    return None


@pytest.mark.parametrize("environment", ["development", "production"])
async def test_no_verification_code_reaches_the_log_when_identity_answers_500(
    make_gateway: Any, services: Any, log_lines: io.StringIO, environment: str
) -> None:
    services.overrides.append(verification_fails)
    member = services.token(services.add_member())
    async with make_gateway(environment=environment) as gateway:
        inline = await gateway.post(INLINE_VERIFY, token=member)
        given = {"kind": "EMAIL", "value": "ines@example.org", "verificationCode": CODE}
        by_variable = await gateway.post(VERIFY, {"i": given}, token=member)
    masked = {"message": "Unexpected error.", "extensions": {"code": "INTERNAL_ERROR"}}
    for answer in (inline, by_variable):
        assert answer["data"] is None
        assert [{k: e[k] for k in masked} for e in answer["errors"]] == [masked]
    text = log_lines.getvalue()
    assert CODE not in text
    lines = [json.loads(line) for line in text.splitlines()]
    failures = [line for line in lines if line["event"] == "unexpected error in a GraphQL field"]
    assert [(f["path"], f["level"]) for f in failures] == [(["verifyIdentifier"], "error")] * 2
    assert all("identity answered 500" in f["exception"] for f in failures)


@pytest.mark.parametrize(
    ("text", "redacted"),
    [
        (f'verificationCode: "{CODE}"', f'verificationCode: "{REDACTED}"'),
        (f'{{"verification_code": "{CODE}"}}', f'{{"verification_code": "{REDACTED}"}}'),
        (f"verification_code={CODE} sent", f"verification_code={REDACTED} sent"),
        (f"oneTimeCode: {CODE}", f"oneTimeCode: {REDACTED}"),
        ('code: "INVALID_INPUT"', 'code: "INVALID_INPUT"'),  # an error's code is no secret
    ],
)
def test_a_verification_code_written_in_a_text_is_redacted(text: str, redacted: str) -> None:
    assert redact_text(text) == redacted


def test_values_under_verification_code_keys_are_redacted(log_lines: io.StringIO) -> None:
    structlog.get_logger("test").warning(
        "sending",
        verification_code=CODE,
        payload={"value": "ines@example.org", "verificationCode": CODE, "code": "SENT"},
    )
    [line] = [json.loads(line) for line in log_lines.getvalue().splitlines()]
    assert line["verification_code"] == REDACTED
    assert line["payload"] == {
        "value": "ines@example.org",
        "verificationCode": REDACTED,
        "code": "SENT",
    }
