"""Door keys sealed at rest: the private key that signs door passes is stored encrypted under
loyalty's key-encryption key (AES-256-GCM, the key id as associated data), never as PEM.

Existing keys are sealed in place with the key-encryption secret the migration is given
(``loyalty migrate`` and ``serve`` pass it; else ``LOYALTY_KEY_ENCRYPTION_SECRET`` or
``LOYALTY_SERVICE_SECRET`` from the environment). Without one, a database that holds keys is
not migrated (nothing changes) and the error says what to set. Downgrading unseals them again.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

from services.common.settings import Settings
from services.loyalty.experiences import signing

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "loyalty"
TABLE = f"{SCHEMA}.door_keys"


def _kek() -> bytes:
    secret: str | None = context.config.attributes.get("key_encryption_secret")
    if secret is None:
        secret = Settings().key_encryption_secret_value()
    if secret is None:
        raise RuntimeError(
            "loyalty's door keys are to be sealed at rest: set LOYALTY_KEY_ENCRYPTION_SECRET "
            "(or LOYALTY_SERVICE_SECRET) to the secret the loyalty service is given, then "
            "migrate again"
        )
    return signing.derive_kek(secret)


def upgrade() -> None:
    bind = op.get_bind()
    op.add_column(
        "door_keys", sa.Column("private_key_sealed", sa.LargeBinary, nullable=True), schema=SCHEMA
    )
    rows = bind.execute(sa.text(f"SELECT kid, private_key_pem, public_jwk FROM {TABLE}")).all()
    if rows:
        kek = _kek()
        for kid, pem, public_jwk in rows:
            key = signing.DoorKey.from_pem(kid, pem, public_jwk)
            bind.execute(
                sa.text(f"UPDATE {TABLE} SET private_key_sealed = :sealed WHERE kid = :kid"),
                {"sealed": key.sealed(kek), "kid": kid},
            )
    op.alter_column("door_keys", "private_key_sealed", nullable=False, schema=SCHEMA)
    op.drop_column("door_keys", "private_key_pem", schema=SCHEMA)


def downgrade() -> None:
    bind = op.get_bind()
    op.add_column("door_keys", sa.Column("private_key_pem", sa.Text, nullable=True), schema=SCHEMA)
    rows = bind.execute(sa.text(f"SELECT kid, private_key_sealed, public_jwk FROM {TABLE}")).all()
    if rows:
        kek = _kek()
        for kid, sealed, public_jwk in rows:
            key = signing.DoorKey.from_sealed(kek, kid, bytes(sealed), dict(public_jwk))
            bind.execute(
                sa.text(f"UPDATE {TABLE} SET private_key_pem = :pem WHERE kid = :kid"),
                {"pem": key.private_pem(), "kid": kid},
            )
    op.alter_column("door_keys", "private_key_pem", nullable=False, schema=SCHEMA)
    op.drop_column("door_keys", "private_key_sealed", schema=SCHEMA)
