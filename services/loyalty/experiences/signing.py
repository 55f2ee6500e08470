"""The door pass's signature: an Ed25519 key held by the loyalty service, created by the first
replica to need it and shared by all through the database; its public half published as a JSON
Web Key Set, so door devices verify passes offline. The pass is drawn as a QR code in SVG.

The private half is stored sealed (``services.common.sealing``) under loyalty's own
key-encryption key, which each replica is given at start (``open_door_key``); a replica with the
wrong one refuses to start, and signs nothing."""

from __future__ import annotations

import base64
import hashlib
import io
import json
from dataclasses import dataclass
from typing import Any

import jwt
import segno
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common import sealing
from services.common.uow import UnitOfWork
from services.loyalty.experiences import door_pass
from services.loyalty.experiences.queries import door as queries

ALGORITHM = "EdDSA"
#: HKDF's info for loyalty's key-encryption key: the same secret gives identity another key.
PURPOSE = b"loyalty service: door pass keys at rest, AES-256-GCM, v1"


def derive_kek(secret: str) -> bytes:
    """Loyalty's key-encryption key for door keys, derived from ``secret`` (32 bytes or more)."""
    return sealing.derive_kek(secret, PURPOSE)


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


@dataclass(frozen=True, slots=True)
class DoorKey:
    kid: str
    private_key: Ed25519PrivateKey
    public_jwk: dict[str, str]

    @classmethod
    def generate(cls) -> DoorKey:
        private_key = Ed25519PrivateKey.generate()
        x = _b64url(
            private_key.public_key().public_bytes(
                serialization.Encoding.Raw, serialization.PublicFormat.Raw
            )
        )
        # the key id is the key's RFC 7638 thumbprint
        thumbprint = json.dumps({"crv": "Ed25519", "kty": "OKP", "x": x}, separators=(",", ":"))
        kid = _b64url(hashlib.sha256(thumbprint.encode()).digest())
        jwk = {"kty": "OKP", "crv": "Ed25519", "x": x, "kid": kid, "alg": ALGORITHM, "use": "sig"}
        return cls(kid, private_key, jwk)

    def private_bytes(self) -> bytes:
        """The raw 32-byte private half (to be sealed before it is stored)."""
        return self.private_key.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )

    def sealed(self, kek: bytes) -> bytes:
        return sealing.seal(kek, self.kid, self.private_bytes())

    @classmethod
    def from_sealed(
        cls, kek: bytes, kid: str, sealed: bytes, public_jwk: dict[str, str]
    ) -> DoorKey:
        """The key sealed for ``kid``; ``KeyEncryptionError`` when ``kek`` does not open it,
        ``ValueError`` when it is not the key that ``public_jwk`` publishes."""
        raw = sealing.unseal(kek, kid, sealed, what="door key")
        key = Ed25519PrivateKey.from_private_bytes(raw)
        x = key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        if _b64url(x) != public_jwk.get("x"):
            raise ValueError(f"the private door key {kid} does not match its public key")
        return cls(kid, key, dict(public_jwk))


_KEYS: dict[str, DoorKey] = {}
_KEKS: dict[str, bytes] = {}
_PUBLIC: dict[str, dict[str, Ed25519PublicKey]] = {}


def _engine_key(engine: AsyncEngine) -> str:
    return engine.url.render_as_string(hide_password=True)


async def open_door_key(engine: AsyncEngine, kek: bytes) -> DoorKey:
    """At start: remember ``kek`` for ``engine`` and load the active key with it (creating it if
    there is none), so that a wrong key-encryption key fails now, not at the first door pass."""
    _KEKS[_engine_key(engine)] = kek
    _KEYS.pop(_engine_key(engine), None)
    return await door_key(engine)


async def door_key(engine: AsyncEngine) -> DoorKey:
    """The active signing key (at most one is active; a replica that loses the race to create
    it uses the winner's), opened with the key-encryption key given to ``open_door_key``."""
    cached = _KEYS.get(_engine_key(engine))
    if cached is not None:
        return cached
    kek = _KEKS.get(_engine_key(engine))
    if kek is None:
        raise sealing.KeyEncryptionError("no key-encryption key was given for the door keys")
    async with UnitOfWork(engine) as uow:
        row = await queries.active_key(uow.conn)
        if row is None:
            fresh = DoorKey.generate()
            await queries.insert_key(
                uow.conn,
                kid=fresh.kid,
                private_key_sealed=fresh.sealed(kek),
                public_jwk=fresh.public_jwk,
            )
            row = await queries.active_key(uow.conn)
            assert row is not None
        await uow.commit()
    key = DoorKey.from_sealed(kek, row.kid, bytes(row.private_key_sealed), dict(row.public_jwk))
    _KEYS[_engine_key(engine)] = key
    return key


async def jwks(engine: AsyncEngine) -> dict[str, Any]:
    """The public keys that verify door passes (the active one created if none exists yet)."""
    await door_key(engine)
    async with engine.connect() as conn:
        return {"keys": await queries.public_keys(conn)}


def sign(key: DoorKey, claims: door_pass.DoorPass) -> str:
    return jwt.encode(
        claims.claims(), key.private_key, algorithm=ALGORITHM, headers={"kid": key.kid}
    )


async def _public_key(engine: AsyncEngine, kid: str) -> Ed25519PublicKey | None:
    known = _PUBLIC.setdefault(_engine_key(engine), {})
    if kid not in known:
        for jwk in (await jwks(engine))["keys"]:
            found = jwt.PyJWK(dict(jwk), algorithm=ALGORITHM).key
            if isinstance(found, Ed25519PublicKey):
                known[jwk["kid"]] = found
    return known.get(kid)


async def verify(engine: AsyncEngine, token: str) -> door_pass.DoorPass | None:
    """The pass a token carries if its signature is the programme's, else ``None``. Its time
    claims are not checked here: the door answers "outside the window" from the experience."""
    try:
        kid = jwt.get_unverified_header(token).get("kid")
        key = await _public_key(engine, kid) if isinstance(kid, str) else None
        if key is None:
            return None
        claims = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            audience=door_pass.AUDIENCE,
            issuer=door_pass.ISSUER,
            options={"verify_exp": False, "verify_nbf": False, "verify_iat": False},
        )
        return door_pass.from_claims(claims)
    except (jwt.PyJWTError, door_pass.InvalidPass):
        return None


def qr_svg(token: str) -> str:
    """The token as a QR code: a standalone SVG document."""
    out = io.BytesIO()
    segno.make(token, error="m").save(out, kind="svg", scale=4, border=2, xmldecl=False)
    return out.getvalue().decode("utf-8")
