"""Apply each service's Alembic history; the version table lives inside the service's schema."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

import migrations

SERVICES = ("identity", "loyalty")
MIGRATIONS_ROOT = Path(migrations.__file__).parent


def alembic_config(service: str, url: str) -> Config:
    if service not in SERVICES:
        raise ValueError(f"unknown service {service!r}")
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_ROOT / service))
    config.attributes["database_url"] = url
    config.attributes["schema"] = service
    return config


def upgrade(service: str, url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(service, url), revision)


def upgrade_all(url: str) -> None:
    for service in SERVICES:
        upgrade(service, url)
