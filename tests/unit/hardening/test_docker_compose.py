"""``docker-compose.yml`` runs with least privilege: migrations as PostgreSQL's administrator (who
sets the roles up), each service as its own runtime role, the gateway with no database, every
secret from a variable that must be set. Docker is not needed: the file is read as compose reads
it (its variables interpolated), each container's environment is resolved into settings and
database URLs by the CLI's own code, and each command line is parsed by the CLI's own parser, so
a renamed option or variable fails here."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml
from sqlalchemy.engine import make_url

from services.cli import Databases, Part, cli, database
from services.common.roles import service_roles
from services.common.settings import Settings

ROOT = Path(__file__).resolve().parents[3]
COMPOSE = ROOT / "docker-compose.yml"

#: ``${NAME}``, ``${NAME:?message}`` (required) or ``${NAME:-default}``, as compose writes them.
VARIABLE = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:\?|:-)(?P<arg>[^}]*))?\}")

REQUIRED = {
    "LOYALTY_SERVICE_SECRET",
    "LOYALTY_KEY_ENCRYPTION_SECRET",
    "POSTGRES_ADMIN_PASSWORD",
    "IDENTITY_DB_PASSWORD",
    "LOYALTY_DB_PASSWORD",
}
#: What the operator sets: URL-safe, 32 bytes or more, and each one different.
GIVEN = {name: f"{name.lower().replace('_', '-')}-0123456789abcdef" for name in REQUIRED}


def interpolate(text: str, env: Mapping[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        name, op, arg = match["name"], match["op"], match["arg"]
        if name in env:
            return env[name]
        if op == ":-":
            return arg
        raise LookupError(f"{name}: {arg}")

    return VARIABLE.sub(value, text)


def compose(env: Mapping[str, str] = GIVEN) -> dict[str, Any]:
    loaded = yaml.safe_load(interpolate(COMPOSE.read_text(), env))
    assert isinstance(loaded, dict)
    return loaded


def environment(service: str) -> dict[str, str]:
    return {k: str(v) for k, v in compose()["services"][service].get("environment", {}).items()}


def command(service: str) -> tuple[str, dict[str, Any]]:
    """The ``loyalty`` subcommand that the container runs and its parameters, as the CLI parses
    them (an unknown option is refused)."""
    args = [str(a) for a in compose()["services"][service]["command"]]
    group = typer.main.get_command(cli)
    parent = typer.Context(group, info_name="loyalty")
    name, sub, rest = group.resolve_command(parent, args)
    assert name is not None and sub is not None
    with sub.make_context(name, rest, parent=parent) as context:
        return name, dict(context.params)


@pytest.fixture
def resolved(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """``resolved(service)``: the settings and databases that the CLI makes of the container's
    environment (and of nothing else)."""

    def resolve(service: str) -> tuple[Settings, Databases]:
        for name in list(os.environ):
            if name.startswith("LOYALTY_"):
                monkeypatch.delenv(name)
        for name, value in environment(service).items():
            monkeypatch.setenv(name, value)
        settings = Settings()
        with database(settings) as db:
            return settings, db

    yield resolve


def _user_and_password(url: str) -> tuple[str | None, str | None]:
    parsed = make_url(url)
    assert (parsed.host, parsed.port, parsed.database) == ("postgres", 5432, "loyalty")
    return parsed.username, parsed.password


def test_every_secret_comes_from_a_variable_that_must_be_set() -> None:
    text = COMPOSE.read_text()
    found = {(m["name"], m["op"]) for m in VARIABLE.finditer(text)}
    assert found == {(name, ":?") for name in REQUIRED} | {("LOYALTY_ENVIRONMENT", ":-")}
    for name in REQUIRED:
        left_out = {k: v for k, v in GIVEN.items() if k != name}
        with pytest.raises(LookupError, match=f"^{name}: set {name}"):
            compose(left_out)


def test_no_secret_is_written_in_the_file() -> None:
    secrets = {"LOYALTY_SERVICE_SECRET", "LOYALTY_KEY_ENCRYPTION_SECRET", "POSTGRES_PASSWORD"}
    for name, service in compose()["services"].items():
        for key, value in service.get("environment", {}).items():
            if key in secrets:
                assert value in GIVEN.values(), (name, key)
            if key.endswith("DATABASE_URL"):
                assert make_url(value).password in GIVEN.values(), (name, key)


def test_postgres_s_administrator_has_the_password_of_its_variable() -> None:
    assert environment("postgres") == {
        "POSTGRES_USER": "postgres",
        "POSTGRES_PASSWORD": GIVEN["POSTGRES_ADMIN_PASSWORD"],
        "POSTGRES_DB": "loyalty",
    }


def test_migrate_runs_as_the_administrator_and_gives_the_runtime_roles_their_passwords(
    resolved: Any,
) -> None:
    assert command("migrate") == ("migrate", {})
    _, db = resolved("migrate")

    assert _user_and_password(db.migration) == ("postgres", GIVEN["POSTGRES_ADMIN_PASSWORD"])
    assert _user_and_password(db.runtime.identity) == (
        service_roles("identity").app,
        GIVEN["IDENTITY_DB_PASSWORD"],
    )
    assert _user_and_password(db.runtime.loyalty) == (
        service_roles("loyalty").app,
        GIVEN["LOYALTY_DB_PASSWORD"],
    )
    # the roles are created (or their passwords set) with the runtime URLs' passwords
    assert db.passwords == {
        "identity": GIVEN["IDENTITY_DB_PASSWORD"],
        "loyalty": GIVEN["LOYALTY_DB_PASSWORD"],
    }
    assert (db.role_prefix, db.key_encryption_secret) == (
        "",
        GIVEN["LOYALTY_KEY_ENCRYPTION_SECRET"],
    )
    assert "LOYALTY_SERVICE_SECRET" not in environment("migrate")


@pytest.mark.parametrize(
    ("service", "others"),
    [
        ("identity", ("POSTGRES_ADMIN_PASSWORD", "LOYALTY_DB_PASSWORD")),
        ("loyalty", ("POSTGRES_ADMIN_PASSWORD", "IDENTITY_DB_PASSWORD")),
    ],
)
def test_each_service_connects_as_its_own_runtime_role_and_knows_no_other_password(
    resolved: Any, service: str, others: tuple[str, ...]
) -> None:
    name, params = command(service)
    assert (name, params["part"], params["migrate"]) == ("serve", Part(service), False)
    settings, db = resolved(service)

    url = getattr(db.runtime, service)
    assert _user_and_password(url) == (
        service_roles(service).app,
        GIVEN[f"{service.upper()}_DB_PASSWORD"],
    )
    assert settings.migration_database_url is None
    assert settings.service_secret is not None
    assert settings.service_secret.get_secret_value() == GIVEN["LOYALTY_SERVICE_SECRET"]
    values = " ".join(environment(service).values())
    for other in others:
        assert GIVEN[other] not in values


@pytest.mark.parametrize("service", ["identity", "loyalty"])
def test_each_service_seals_its_keys_with_the_configured_secret(
    resolved: Any, service: str
) -> None:
    _, db = resolved(service)
    assert db.key_encryption_secret == GIVEN["LOYALTY_KEY_ENCRYPTION_SECRET"]


def test_the_gateway_has_no_database_and_only_the_service_secret() -> None:
    assert environment("gateway") == {
        "LOYALTY_SERVICE_SECRET": GIVEN["LOYALTY_SERVICE_SECRET"],
        "LOYALTY_ENVIRONMENT": "production",
    }


def test_the_command_lines_are_the_cli_s_and_point_at_each_other() -> None:
    services = compose()["services"]
    ports = {name: command(name)[1]["port"] for name in ("identity", "loyalty", "gateway")}
    assert ports == {"identity": 8001, "loyalty": 8002, "gateway": 8000}
    for name in ports:
        params = command(name)[1]
        assert (params["part"], params["host"]) == (Part(name), "0.0.0.0")
    assert command("identity")[1]["loyalty_url"] == f"http://loyalty:{ports['loyalty']}"
    gateway = command("gateway")[1]
    assert (gateway["identity_url"], gateway["loyalty_url"]) == (
        f"http://identity:{ports['identity']}",
        f"http://loyalty:{ports['loyalty']}",
    )
    assert services["gateway"]["ports"] == [f"{ports['gateway']}:{ports['gateway']}"]


def test_a_renamed_option_would_fail_this_parse() -> None:
    group = typer.main.get_command(cli)
    parent = typer.Context(group, info_name="loyalty")
    name, sub, rest = group.resolve_command(parent, ["serve", "identity", "--skip-migrate"])
    assert name is not None and sub is not None
    with pytest.raises(Exception, match=r"^No such option: --skip-migrate"):
        sub.make_context(name, rest, parent=parent)


def test_every_part_is_healthy_when_its_readyz_says_so_and_starts_after_what_it_needs() -> None:
    services = compose()["services"]
    for name in ("identity", "loyalty", "gateway"):
        port = command(name)[1]["port"]
        check = services[name]["healthcheck"]["test"]
        assert check[:3] == ["CMD", "python", "-c"]
        assert re.findall(r"urlopen\('([^']*)'\)", check[3]) == [f"http://127.0.0.1:{port}/readyz"]
    assert {k: v["depends_on"] for k, v in services.items() if k != "postgres"} == {
        "migrate": {"postgres": {"condition": "service_healthy"}},
        "identity": {"migrate": {"condition": "service_completed_successfully"}},
        "loyalty": {"migrate": {"condition": "service_completed_successfully"}},
        "gateway": {
            "identity": {"condition": "service_healthy"},
            "loyalty": {"condition": "service_healthy"},
        },
    }


def test_the_image_runs_the_loyalty_command() -> None:
    assert 'ENTRYPOINT ["loyalty"]' in (ROOT / "Dockerfile").read_text().splitlines()
