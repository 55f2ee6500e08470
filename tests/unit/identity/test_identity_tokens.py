"""Access tokens are refused unless signed by a published key, for us, and still fresh; refresh
tokens and API keys have shapes we can check before any lookup."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from services.identity.tokens import (
    SigningKey,
    api_key_prefix,
    decode_access_token,
    issue_access_token,
    jwks,
    new_api_key,
    new_refresh_token,
    refresh_token_id,
    same_digest,
    sha256_hex,
)

ISSUER, AUDIENCE = "loyalty-identity", "loyalty-gateway"
KEY = SigningKey.generate()


def _token(key: SigningKey = KEY, *, now: datetime | None = None, ttl: int = 900, **kw) -> str:
    return issue_access_token(
        key,
        issuer=kw.get("issuer", ISSUER),
        audience=kw.get("audience", AUDIENCE),
        subject=kw.get("subject", uuid.UUID(int=7)),
        kind=kw.get("kind", "member"),
        venues=kw.get("venues", ()),
        ttl_seconds=ttl,
        now=now or datetime.now(UTC),
    )


def _decode(token: str, key_set=None) -> dict:
    return decode_access_token(
        token, key_set or jwks([KEY.public_jwk]), issuer=ISSUER, audience=AUDIENCE
    )


def test_a_fresh_token_verifies_with_the_published_public_key() -> None:
    venue = uuid.uuid4()
    claims = _decode(_token(kind="staff", venues=[venue]))

    assert claims["sub"] == str(uuid.UUID(int=7))
    assert claims["kind"] == "staff"
    assert claims["venues"] == [str(venue)]
    assert claims["exp"] - claims["iat"] == 900
    assert claims["jti"]


def test_two_tokens_for_one_subject_have_different_ids() -> None:
    assert _decode(_token())["jti"] != _decode(_token())["jti"]


def test_an_expired_token_is_refused() -> None:
    token = _token(now=datetime.now(UTC) - timedelta(hours=1), ttl=60)

    with pytest.raises(jwt.ExpiredSignatureError):
        _decode(token)


def test_a_tampered_token_is_refused() -> None:
    header, payload, signature = _token().split(".")
    forged = jwt.utils.base64url_encode(
        jwt.utils.base64url_decode(payload).replace(b'"member"', b'"admin"')
    ).decode()

    with pytest.raises(jwt.InvalidSignatureError):
        _decode(f"{header}.{forged}.{signature}")


def test_a_token_signed_by_another_key_is_refused_even_with_our_kid() -> None:
    other = SigningKey.generate()
    impostor = SigningKey(kid=KEY.kid, private_key=other.private_key, public_jwk=KEY.public_jwk)

    with pytest.raises(jwt.InvalidSignatureError):
        _decode(_token(impostor))


def test_a_token_from_an_unpublished_key_is_refused() -> None:
    with pytest.raises(jwt.InvalidTokenError):
        _decode(_token(SigningKey.generate()))


def test_a_token_for_another_audience_or_issuer_is_refused() -> None:
    with pytest.raises(jwt.InvalidAudienceError):
        _decode(_token(audience="someone-else"))
    with pytest.raises(jwt.InvalidIssuerError):
        _decode(_token(issuer="someone-else"))


def test_an_hmac_token_using_the_public_key_as_secret_is_refused() -> None:
    forged = jwt.encode(
        {"sub": "x", "iss": ISSUER, "aud": AUDIENCE, "exp": 9999999999, "iat": 0, "jti": "j"},
        KEY.public_jwk["x"] + "-padding-to-32-bytes-or-more",
        algorithm="HS256",
        headers={"kid": KEY.kid},
    )

    with pytest.raises(jwt.InvalidTokenError):
        _decode(forged)


def test_a_signing_key_opened_from_its_private_half_signs_as_it_did() -> None:
    restored = SigningKey.from_private_bytes(KEY.kid, KEY.private_bytes(), KEY.public_jwk)

    assert _decode(_token(restored))["sub"] == str(uuid.UUID(int=7))
    assert "d" not in KEY.public_jwk
    assert KEY.public_jwk["kid"] == KEY.kid


def test_a_refresh_token_names_its_row_and_is_stored_as_a_digest() -> None:
    token_id = uuid.uuid4()
    token, digest = new_refresh_token(token_id)

    assert refresh_token_id(token) == token_id
    assert digest == sha256_hex(token)
    assert len(digest) == 64
    assert token.split(".", 1)[1] not in digest


@pytest.mark.parametrize("token", ["", "abc", "not-a-uuid.secret", f"{uuid.uuid4()}.", "."])
def test_a_malformed_refresh_token_names_no_row(token: str) -> None:
    assert refresh_token_id(token) is None


def test_an_api_key_carries_a_public_prefix_and_a_long_secret() -> None:
    prefix, key = new_api_key()

    assert key.startswith(f"lk_{prefix}_")
    assert len(prefix) == 8
    assert len(key) == len("lk_") + 8 + 1 + 32
    assert api_key_prefix(key) == prefix


@pytest.mark.parametrize(
    "key", ["", "lk_", "lk_abcdefgh", "lk_abcdefgh_", "xx_abcdefgh_secret", "lk_ABCDEFGH_secret"]
)
def test_a_malformed_api_key_has_no_prefix(key: str) -> None:
    assert api_key_prefix(key) is None


def test_digests_compare_in_constant_time_and_exactly() -> None:
    assert same_digest(sha256_hex("a"), sha256_hex("a"))
    assert not same_digest(sha256_hex("a"), sha256_hex("b"))
