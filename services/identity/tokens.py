"""Access tokens (EdDSA JWTs), opaque refresh tokens and partner API keys.

Access tokens are signed with an Ed25519 key whose public half is published as a JWKS, so the
gateway verifies them without calling identity. Refresh tokens and API keys are high-entropy
random secrets: stored as SHA-256 digests, compared in constant time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import string
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

ALGORITHM = "EdDSA"
API_KEY_PREFIX = "lk_"
_PREFIX_ALPHABET = string.ascii_lowercase + string.digits
_PREFIX_LENGTH = 8
_API_SECRET_BYTES = 24  # 32 url-safe characters
_REFRESH_SECRET_BYTES = 32


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def same_digest(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("ascii"), b.encode("ascii"))


# ---- signing keys ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SigningKey:
    kid: str
    private_key: Ed25519PrivateKey
    public_jwk: dict[str, str]

    @classmethod
    def generate(cls) -> SigningKey:
        private_key = Ed25519PrivateKey.generate()
        x = _b64url(
            private_key.public_key().public_bytes(
                serialization.Encoding.Raw, serialization.PublicFormat.Raw
            )
        )
        # RFC 7638 thumbprint: the key id is derived from the key itself
        thumbprint = json.dumps(
            {"crv": "Ed25519", "kty": "OKP", "x": x}, separators=(",", ":"), sort_keys=True
        )
        kid = _b64url(hashlib.sha256(thumbprint.encode()).digest())
        jwk = {"kty": "OKP", "crv": "Ed25519", "x": x, "kid": kid, "alg": ALGORITHM, "use": "sig"}
        return cls(kid=kid, private_key=private_key, public_jwk=jwk)

    @classmethod
    def from_private_bytes(cls, kid: str, raw: bytes, public_jwk: Mapping[str, str]) -> SigningKey:
        """The key from its raw 32-byte private half; ``ValueError`` if it is not the key that
        ``public_jwk`` publishes."""
        key = Ed25519PrivateKey.from_private_bytes(raw)
        x = _b64url(
            key.public_key().public_bytes(
                serialization.Encoding.Raw, serialization.PublicFormat.Raw
            )
        )
        if x != public_jwk.get("x"):
            raise ValueError(f"the private key of {kid} does not match its public key")
        return cls(kid=kid, private_key=key, public_jwk=dict(public_jwk))

    def private_bytes(self) -> bytes:
        """The raw 32-byte private half (to be sealed before it is stored)."""
        return self.private_key.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )


def jwks(public_jwks: Iterable[Mapping[str, str]]) -> dict[str, list[dict[str, str]]]:
    return {"keys": [dict(k) for k in public_jwks]}


# ---- access tokens ---------------------------------------------------------------------------


def issue_access_token(
    key: SigningKey,
    *,
    issuer: str,
    audience: str,
    subject: UUID,
    kind: str,
    venues: Iterable[UUID] = (),
    session: UUID | None = None,
    ttl_seconds: int,
    now: datetime,
) -> str:
    """A signed access token; ``session`` (the ``sid`` claim) names its refresh family, so that
    revoking the family revokes the token too."""
    claims: dict[str, Any] = {
        "iss": issuer,
        "aud": audience,
        "sub": str(subject),
        "kind": kind,
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(seconds=ttl_seconds)).timestamp()),
        "jti": uuid.uuid4().hex,
    }
    if session is not None:
        claims["sid"] = str(session)
    if kind != "member":
        claims["venues"] = sorted(str(v) for v in venues)
    return jwt.encode(claims, key.private_key, algorithm=ALGORITHM, headers={"kid": key.kid})


def decode_access_token(
    token: str, key_set: Mapping[str, Any], *, issuer: str, audience: str, leeway: int = 0
) -> dict[str, Any]:
    """Verify a token against a JWKS; raises ``jwt.PyJWTError`` when it must be refused."""
    kid = jwt.get_unverified_header(token).get("kid")
    for candidate in key_set.get("keys", []):
        if candidate.get("kid") == kid:
            public_key = jwt.PyJWK(dict(candidate), algorithm=ALGORITHM).key
            break
    else:
        raise jwt.InvalidTokenError("unknown signing key")
    claims: dict[str, Any] = jwt.decode(
        token,
        public_key,
        algorithms=[ALGORITHM],
        audience=audience,
        issuer=issuer,
        leeway=leeway,
        options={"require": ["exp", "iat", "sub", "iss", "aud", "jti"]},
    )
    return claims


# ---- refresh tokens --------------------------------------------------------------------------


def new_refresh_token(token_id: UUID) -> tuple[str, str]:
    """``(token, digest)``: the token ``<id>.<secret>`` goes to the client, the digest is stored."""
    token = f"{token_id}.{secret_token(_REFRESH_SECRET_BYTES)}"
    return token, sha256_hex(token)


def refresh_token_id(token: str) -> UUID | None:
    token_id, dot, secret = token.partition(".")
    if not dot or not secret:
        return None
    try:
        return UUID(token_id)
    except ValueError:
        return None


# ---- partner API keys ------------------------------------------------------------------------


def secret_token(nbytes: int) -> str:
    return secrets.token_urlsafe(nbytes)


def new_api_key() -> tuple[str, str]:
    """``(prefix, key)`` with ``key = lk_<prefix>_<secret>``; the prefix is public, for lookup."""
    prefix = "".join(secrets.choice(_PREFIX_ALPHABET) for _ in range(_PREFIX_LENGTH))
    return prefix, f"{API_KEY_PREFIX}{prefix}_{secret_token(_API_SECRET_BYTES)}"


def api_key_prefix(key: str) -> str | None:
    """The lookup prefix of a well-formed key, or ``None``."""
    if not key.startswith(API_KEY_PREFIX):
        return None
    body = key[len(API_KEY_PREFIX) :]
    prefix, secret = body[:_PREFIX_LENGTH], body[_PREFIX_LENGTH + 1 :]
    if len(body) <= _PREFIX_LENGTH + 1 or body[_PREFIX_LENGTH] != "_" or not secret:
        return None
    if any(c not in _PREFIX_ALPHABET for c in prefix):
        return None
    return prefix
