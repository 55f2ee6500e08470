"""Secrets that the embedded database's installation keeps in its data folder."""

from __future__ import annotations

import os
from pathlib import Path
from secrets import token_urlsafe

KEY_ENCRYPTION_FILE = ".key-encryption-secret"


def kept_secret(data_dir: Path, name: str = KEY_ENCRYPTION_FILE) -> str:
    """The secret kept in ``data_dir/name`` (readable by its owner only), made at the first call
    and the same at every later one."""
    path = data_dir / name
    try:
        value = path.read_text().strip()
    except FileNotFoundError:
        value = ""
    if not value:
        value = token_urlsafe(32)
        data_dir.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(value)
    os.chmod(path, 0o600)
    return value
