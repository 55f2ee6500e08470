"""Signing keys sealed at rest: the private key is stored encrypted under the key-encryption
key (AES-256-GCM, the key id as associated data), never as PEM.

Existing keys are sealed in place with the key-encryption secret the migration is given
(``loyalty migrate`` and ``serve`` pass it; else ``LOYALTY_KEY_ENCRYPTION_SECRET`` or
``LOYALTY_SERVICE_SECRET`` from the environment). Without one, a database that holds keys is
not migrated (nothing changes) and the error says what to set. Downgrading unseals them again.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

from services.common.settings import Settings
from services.identity import tokens
from services.identity.sessions import sealing

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "identity"
TABLE = f"{SCHEMA}.signing_keys"


def _kek() -> bytes:
    secret: str | None = context.config.attributes.get("key_encryption_secret")
    if secret is None:
        secret = Settings().key_encryption_secret_value()
    if secret is None:
        raise RuntimeError(
            "identity's signing keys are to be sealed at rest: set LOYALTY_KEY_ENCRYPTION_SECRET "
            "(or LOYALTY_SERVICE_SECRET) to the secret the identity service is given, then "
            "migrate again"
        )
    return sealing.derive_kek(secret)


def upgrade() -> None:
    bind = op.get_bind()
    op.add_column(
        "signing_keys",
        sa.Column("private_key_sealed", sa.LargeBinary, nullable=True),
        schema=SCHEMA,
    )
    rows = bind.execute(sa.text(f"SELECT kid, private_key_pem, public_jwk FROM {TABLE}")).all()
    if rows:
        kek = _kek()
        for kid, pem, public_jwk in rows:
            key = tokens.SigningKey.from_pem(kid, pem, public_jwk)
            bind.execute(
                sa.text(f"UPDATE {TABLE} SET private_key_sealed = :sealed WHERE kid = :kid"),
                {"sealed": sealing.seal(kek, kid, key.private_bytes()), "kid": kid},
            )
    op.alter_column("signing_keys", "private_key_sealed", nullable=False, schema=SCHEMA)
    op.drop_column("signing_keys", "private_key_pem", schema=SCHEMA)


def downgrade() -> None:
    bind = op.get_bind()
    op.add_column(
        "signing_keys", sa.Column("private_key_pem", sa.Text, nullable=True), schema=SCHEMA
    )
    rows = bind.execute(sa.text(f"SELECT kid, private_key_sealed, public_jwk FROM {TABLE}")).all()
    if rows:
        kek = _kek()
        for kid, sealed, public_jwk in rows:
            raw = sealing.unseal(kek, kid, bytes(sealed))
            pem = tokens.SigningKey.from_private_bytes(kid, raw, public_jwk).private_pem()
            bind.execute(
                sa.text(f"UPDATE {TABLE} SET private_key_pem = :pem WHERE kid = :kid"),
                {"pem": pem, "kid": kid},
            )
    op.alter_column("signing_keys", "private_key_pem", nullable=False, schema=SCHEMA)
    op.drop_column("signing_keys", "private_key_sealed", schema=SCHEMA)
