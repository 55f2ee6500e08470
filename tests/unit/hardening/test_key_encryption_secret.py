"""The secret that seals identity's signing keys must stay the same from one start to the next:
configured (``LOYALTY_KEY_ENCRYPTION_SECRET``, else ``LOYALTY_SERVICE_SECRET``), or kept in the
embedded database's data folder; with an external database and neither, ``serve`` stops."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from services.cli import cli
from services.common.kept_secrets import KEY_ENCRYPTION_FILE, kept_secret
from services.common.settings import Settings, get_settings
from services.identity.sessions import sealing


def test_serving_everything_on_an_external_database_without_a_secret_stops_with_a_clear_message(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    get_settings.cache_clear()
    monkeypatch.delenv("LOYALTY_KEY_ENCRYPTION_SECRET", raising=False)
    monkeypatch.delenv("LOYALTY_SERVICE_SECRET", raising=False)
    monkeypatch.setenv("LOYALTY_DATABASE_URL", "postgresql://loyalty_app:pass@db.invalid/loyalty")
    try:
        result = CliRunner().invoke(cli, ["serve"])
    finally:
        get_settings.cache_clear()
    assert (result.exit_code, result.output) == (
        2,
        "LOYALTY_KEY_ENCRYPTION_SECRET (or LOYALTY_SERVICE_SECRET), at least 32 bytes, must be "
        "set with an external database: it seals the keys that sign access tokens and door "
        "passes, so it must stay the same from one start to the next.\n",
    )


def test_the_key_encryption_secret_defaults_to_the_service_secret_and_can_be_set_apart(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("LOYALTY_KEY_ENCRYPTION_SECRET", raising=False)
    monkeypatch.delenv("LOYALTY_SERVICE_SECRET", raising=False)
    assert Settings().key_encryption_secret_value() is None
    assert Settings(service_secret="s" * 32).key_encryption_secret_value() == "s" * 32
    both = Settings(service_secret="s" * 32, key_encryption_secret="k" * 32)
    assert both.key_encryption_secret_value() == "k" * 32


def test_the_embedded_installation_keeps_one_secret_readable_by_its_owner_only(
    tmp_path: Path,
) -> None:
    first = kept_secret(tmp_path)
    again = kept_secret(tmp_path)

    assert first == again
    assert len(first) >= 32
    assert stat.S_IMODE((tmp_path / KEY_ENCRYPTION_FILE).stat().st_mode) == 0o600
    assert (tmp_path / KEY_ENCRYPTION_FILE).read_text() == first


def test_the_key_encryption_key_is_derived_per_secret_and_refuses_a_short_one() -> None:
    one, other = sealing.derive_kek("a" * 32), sealing.derive_kek("b" * 32)
    assert len(one) == 32 and one != other and one != b"a" * 32
    assert sealing.derive_kek("a" * 32) == one
    with pytest.raises(ValueError, match="at least 32 bytes"):
        sealing.derive_kek("a" * 31)


def test_a_sealed_key_opens_only_with_its_kek_its_kid_and_unaltered() -> None:
    kek = sealing.derive_kek("a" * 32)
    sealed = sealing.seal(kek, "kid-1", b"\x07" * 32)

    assert sealing.unseal(kek, "kid-1", sealed) == b"\x07" * 32
    assert sealing.seal(kek, "kid-1", b"\x07" * 32) != sealed  # a fresh nonce each time
    altered = sealed[:-1] + bytes([sealed[-1] ^ 1])
    for wrong_kek, kid, value in (
        (sealing.derive_kek("b" * 32), "kid-1", sealed),
        (kek, "kid-2", sealed),
        (kek, "kid-1", altered),
    ):
        with pytest.raises(sealing.KeyEncryptionError, match="does not open"):
            sealing.unseal(wrong_kek, kid, value)
    with pytest.raises(sealing.KeyEncryptionError, match="not sealed in a known format"):
        sealing.unseal(kek, "kid-1", b"\x02" + sealed[1:])
