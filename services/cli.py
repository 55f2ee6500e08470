"""The ``loyalty`` command: serve the platform (whole or one part), migrate, and seed."""

from __future__ import annotations

import asyncio
import json
import secrets
import signal
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from types import FrameType
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.routing import Mount

from services.common.db import create_engine
from services.common.kept_secrets import kept_secret
from services.common.logs import configure_logging
from services.common.migrate import upgrade_all
from services.common.roles import (
    RuntimeUrls,
    embedded_role_passwords,
    passwords_from_urls,
    runtime_urls,
)
from services.common.settings import MIN_SERVICE_SECRET_BYTES, Settings, get_settings

cli = typer.Typer(
    help="A loyalty and recognition programme: identity and loyalty services behind a GraphQL gateway.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


class Part(StrEnum):
    ALL = "all"
    IDENTITY = "identity"
    LOYALTY = "loyalty"
    GATEWAY = "gateway"


@dataclass(frozen=True)
class Databases:
    """Where migrations and set-up run (the owner or an administrator), and where each service
    connects at run time (its runtime role)."""

    migration: str
    runtime: RuntimeUrls
    passwords: dict[str, str | None]
    role_prefix: str
    key_encryption_secret: str | None  # seals the signing and door keys; None: none configured

    def migrate(self) -> None:
        upgrade_all(
            self.migration,
            role_prefix=self.role_prefix,
            app_passwords=self.passwords,
            key_encryption_secret=self.key_encryption_secret,
        )


@contextmanager
def database(settings: Settings) -> Iterator[Databases]:
    """The configured PostgreSQL, or the embedded one in the local data folder while the block
    runs: SIGTERM and SIGINT end the block cleanly, and the embedded server stops on the way out
    (unless another process still uses it). On the embedded one, the services connect as their
    runtime roles, whose passwords are kept in the data folder (and so is the secret that seals
    identity's signing keys, unless one is configured)."""
    prefix = settings.database_role_prefix
    configured_kek = settings.key_encryption_secret_value()
    with _stop_on_signals():
        if settings.database_url is not None:
            loyalty = settings.database_url.get_secret_value()
            identity = settings.identity_database_url or settings.database_url
            migration = settings.migration_database_url or settings.database_url
            runtime = RuntimeUrls(identity=identity.get_secret_value(), loyalty=loyalty)
            yield Databases(
                migration.get_secret_value(),
                runtime,
                passwords_from_urls(runtime, prefix=prefix),
                prefix,
                configured_kek,
            )
            return
        from services.common.embedded import embedded_postgres

        typer.echo(
            f"No LOYALTY_DATABASE_URL: using the embedded PostgreSQL in {settings.data_dir}/",
            err=True,
        )
        with embedded_postgres(settings.data_dir) as url:
            passwords = embedded_role_passwords(settings.data_dir)
            yield Databases(
                url,
                runtime_urls(url, passwords, prefix=prefix),
                passwords,
                prefix,
                configured_kek or kept_secret(settings.data_dir),
            )


#: Exit status after a clean stop: SIGTERM is an ordinary request to stop; SIGINT (Ctrl+C)
#: keeps the shell's convention for an interrupted command.
STOPPED_STATUS = {signal.SIGTERM: 0, signal.SIGINT: 128 + signal.SIGINT}


@contextmanager
def _stop_on_signals() -> Iterator[None]:
    """Turn the first SIGTERM or SIGINT into ``SystemExit``, so that every ``finally`` runs
    (uvicorn handles both while it serves, shuts down gracefully, then raises the signal again,
    which lands here). Later signals are ignored while the stop is under way."""
    stopping: list[int] = []

    def stop(signum: int, _frame: FrameType | None) -> None:
        if stopping:
            return
        stopping.append(signum)
        typer.echo(f"{signal.Signals(signum).name}: stopping", err=True)
        raise SystemExit(STOPPED_STATUS[signal.Signals(signum)])

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, stop) for sig in STOPPED_STATUS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if stopping:
            typer.echo("stopped", err=True)


def _require_secret(settings: Settings) -> str:
    if settings.service_secret is None:
        typer.echo(
            f"LOYALTY_SERVICE_SECRET must be set (at least {MIN_SERVICE_SECRET_BYTES} bytes) to "
            "run the parts separately.",
            err=True,
        )
        raise typer.Exit(code=2)
    return settings.service_secret.get_secret_value()


def _require_key_encryption_secret(db: Databases) -> str:
    if db.key_encryption_secret is None:
        typer.echo(
            "LOYALTY_KEY_ENCRYPTION_SECRET (or LOYALTY_SERVICE_SECRET), at least 32 bytes, must "
            "be set with an external database: it seals the keys that sign access tokens and door "
            "passes, so it must stay the same from one start to the next.",
            err=True,
        )
        raise typer.Exit(code=2)
    return db.key_encryption_secret


def _settings() -> Settings:
    """The settings, or a clear message and exit status 2 when the environment is not valid."""
    try:
        return get_settings()
    except ValidationError as invalid:
        for error in invalid.errors(include_url=False, include_input=False):
            name = "LOYALTY_" + "_".join(str(p) for p in error["loc"]).upper()
            typer.echo(f"{name}: {error['msg'].removeprefix('Value error, ')}", err=True)
        raise typer.Exit(code=2) from None


def _run(app: Any, host: str, port: int) -> None:
    import gc

    import uvicorn

    # Long-lived objects built at start-up (schema, rules, clients) leave the collector's view,
    # and young collections run less often: fewer pauses in the middle of requests.
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 50, 100)
    uvicorn.run(
        app,
        host=host,
        port=port,
        loop="uvloop",
        http="httptools",
        log_config=None,
        access_log=False,
        proxy_headers=False,
    )


def single_process_app(
    settings: Settings,
    urls: RuntimeUrls,
    service_secret: str,
    key_encryption_secret: str | None = None,
) -> Starlette:
    """Identity, loyalty and the gateway in one process: the gateway reaches the services with the
    same typed clients, over httpx's ASGI transport instead of sockets. Each service connects as
    its own runtime role (``urls``)."""
    import httpx

    from graphql_schema.app import create_app as create_gateway
    from services.identity.api import create_app as create_identity
    from services.loyalty.api import create_app as create_loyalty

    loyalty_app = create_loyalty(
        settings,
        database_url=urls.loyalty,
        service_secret=service_secret,
        run_jobs=True,
        key_encryption_secret=key_encryption_secret,
    )
    identity_app = create_identity(
        settings,
        database_url=urls.identity,
        service_secret=service_secret,
        loyalty_url="http://loyalty",
        loyalty_transport=httpx.ASGITransport(app=loyalty_app),
        key_encryption_secret=key_encryption_secret,
    )
    gateway_app = create_gateway(
        settings,
        identity_url="http://identity",
        loyalty_url="http://loyalty",
        service_secret=service_secret,
        identity_transport=httpx.ASGITransport(app=identity_app),
        loyalty_transport=httpx.ASGITransport(app=loyalty_app),
    )

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            for part in (loyalty_app, identity_app, gateway_app):
                await stack.enter_async_context(part.router.lifespan_context(part))
            yield

    return Starlette(routes=[Mount("/", app=gateway_app)], lifespan=lifespan)


@cli.command()
def serve(
    part: Annotated[
        Part, typer.Argument(help="Which part to run; 'all' runs everything in one process.")
    ] = Part.ALL,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    identity_url: Annotated[
        str | None, typer.Option(help="Identity service URL (gateway).")
    ] = None,
    loyalty_url: Annotated[
        str | None, typer.Option(help="Loyalty service URL (gateway, identity relay).")
    ] = None,
    migrate: Annotated[bool, typer.Option(help="Apply migrations before serving.")] = True,
    seed: Annotated[
        bool, typer.Option(help="Seed the demo programme once (all-in-one mode).")
    ] = True,
) -> None:
    """Serve the platform. With no part, everything runs in one process with a demo programme."""
    settings = _settings()
    configure_logging(settings.log_level, part=part.value)

    if part is Part.ALL:
        secret = (
            settings.service_secret.get_secret_value()
            if settings.service_secret is not None
            else secrets.token_urlsafe(32)
        )
        with database(settings) as db:
            kek = _require_key_encryption_secret(db)
            if migrate:
                db.migrate()
            if seed:
                credentials = asyncio.run(_seed(db.migration, settings.data_dir, kek))
                typer.echo(demo_printout(credentials, graphiql=_graphiql(settings, host, port)))
            _run(single_process_app(settings, db.runtime, secret, kek), host, port)
        return

    secret = _require_secret(settings)
    if part is Part.GATEWAY:  # no database of its own
        app = _gateway_app(settings, secret, identity_url, loyalty_url)
        with _stop_on_signals():
            _run(app, host, port)
        return
    with database(settings) as db:
        _run(_service_app(part, settings, db, secret, loyalty_url, migrate), host, port)


def _service_app(
    part: Part,
    settings: Settings,
    db: Databases,
    secret: str,
    loyalty_url: str | None,
    migrate: bool,
) -> Any:
    """The identity or the loyalty service, to run in a process of its own."""
    from services.common.migrate import upgrade

    if part is Part.IDENTITY:
        from services.identity.api import create_app as create_identity

        if migrate:
            upgrade(
                "identity",
                db.migration,
                role_prefix=db.role_prefix,
                app_password=db.passwords.get("identity"),
                key_encryption_secret=db.key_encryption_secret,
            )
        return create_identity(
            settings,
            database_url=db.runtime.identity,
            service_secret=secret,
            loyalty_url=loyalty_url or settings.loyalty_url,
            key_encryption_secret=db.key_encryption_secret,
        )
    from services.loyalty.api import create_app as create_loyalty

    if migrate:
        upgrade(
            "loyalty",
            db.migration,
            role_prefix=db.role_prefix,
            app_password=db.passwords.get("loyalty"),
            key_encryption_secret=db.key_encryption_secret,
        )
    return create_loyalty(
        settings,
        database_url=db.runtime.loyalty,
        service_secret=secret,
        run_jobs=True,
        key_encryption_secret=db.key_encryption_secret,
    )


def _gateway_app(
    settings: Settings, secret: str, identity_url: str | None, loyalty_url: str | None
) -> Any:
    from graphql_schema.app import create_app as create_gateway

    identity = identity_url or settings.identity_url
    loyalty = loyalty_url or settings.loyalty_url
    if not identity or not loyalty:
        typer.echo("The gateway needs --identity-url and --loyalty-url.", err=True)
        raise typer.Exit(code=2)
    return create_gateway(
        settings, identity_url=identity, loyalty_url=loyalty, service_secret=secret
    )


@cli.command("migrate")
def migrate_command() -> None:
    """Apply every service's migrations to the configured database."""
    settings = _settings()
    configure_logging(settings.log_level, part="migrate")
    with database(settings) as db:
        db.migrate()
    typer.echo("migrations applied")


@cli.command("create-admin")
def create_admin(
    email: Annotated[str, typer.Option(help="The admin's email.")],
    password: Annotated[str, typer.Option(help="The admin's password (8 characters or more).")],
) -> None:
    """Create a programme admin (or report the existing one with that email)."""
    from services.common.problems import Problem
    from services.identity.organisations import use_cases as identity

    settings = _settings()

    async def run(url: str) -> Any:
        engine = create_engine(url, pool_size=1, application_name="cli")
        try:
            return await identity.create_admin(engine, email, password)
        finally:
            await engine.dispose()

    try:
        with database(settings) as db:
            db.migrate()
            account = asyncio.run(run(db.migration))
    except Problem as problem:
        typer.echo(f"{problem.code}: {problem.message}", err=True)
        raise typer.Exit(code=1) from None
    typer.echo(account.model_dump_json() if hasattr(account, "model_dump_json") else str(account))


async def _seed(url: str, data_dir: Path, key_encryption_secret: str) -> dict[str, Any]:
    from services.demo import seed_demo

    engine = create_engine(url, pool_size=2, application_name="seed")
    try:
        return await seed_demo(
            engine, key_encryption_secret=key_encryption_secret, data_dir=data_dir
        )
    finally:
        await engine.dispose()


def _graphiql(settings: Settings, host: str, port: int) -> str | None:
    """Where a browser on this machine finds GraphiQL, if it is on."""
    if not settings.graphiql_enabled:
        return None
    if host in ("0.0.0.0", "::", ""):  # noqa: S104 - every interface: loopback is one of them
        host = "127.0.0.1"
    return f"http://{f'[{host}]' if ':' in host else host}:{port}/graphql"


_KEY_STATUS = {
    "issued": (
        "This key was issued now and is kept in {file} (only you can read it): later starts"
        " show it again."
    ),
    "kept": "This key is the one kept in {file} (only you can read it) since it was issued.",
    "replaced": (
        "The key kept in {file} was missing or did not work with this database: this new key"
        " replaces it there, and the earlier demo keys are revoked."
    ),
}


def demo_printout(credentials: dict[str, Any], *, graphiql: str | None) -> str:
    """How each role of the demo signs in, and the ids the README's examples use."""

    def table(rows: list[tuple[str, ...]]) -> list[str]:
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
        return [
            "  "
            + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=False))
            + "  "
            + row[-1]
            for row in rows
        ]

    admin = credentials["admin"]
    [partner] = credentials["partners"]
    lines = [
        "",
        "Demo programme: for trying the platform out, never for production.",
        "Sign in with the login mutation, then send its accessToken in a header:",
        '"Authorization: Bearer <accessToken>".',
        "",
        "Members (login with portal MEMBER, the default):",
        *table(
            [
                (m["displayName"], f"{m['email']} / {m['password']}", f"member {m['memberId']}")
                for m in credentials["members"]
            ]
        ),
        "Venue staff (login with portal: STAFF; they record points for their venue):",
        *table(
            [
                (s["venueName"], f"{s['email']} / {s['password']}", f"venue {s['venueId']}")
                for s in credentials["staff"]
            ]
        ),
        "Admin (login with portal: STAFF):",
        f"  {admin['email']} / {admin['password']}",
        'Partner (no sign-in: send the header "X-API-Key: <key>"):',
        f"  {partner['name']}  X-API-Key: {partner['apiKey']}  partner {partner['partnerId']}",
    ]
    status = _KEY_STATUS.get(partner.get("apiKeyStatus", ""))
    if status and "apiKeyFile" in partner:
        lines.append("  " + status.format(file=partner["apiKeyFile"]))
    lines += [
        "Rewards:",
        *table(
            [
                (r["key"], f"{r['cost']} points", f"reward {r['rewardId']}")
                for r in credentials["rewards"]
            ]
        ),
    ]
    if credentials.get("experiences"):
        lines.append(
            "Exclusive experience (staff of its venue issue invitations and check guests in"
            " at /door; members see theirs in me { invitations }):"
        )
        lines += table(
            [
                (
                    e["title"],
                    f"at {e['venueName']}, starts {e['startsAt']}",
                    f"{e['invitations']} invited, accepted by {', '.join(e['accepted']) or 'nobody yet'}",
                    f"experience {e['experienceId']}",
                )
                for e in credentials["experiences"]
            ]
        )
    if graphiql:
        lines.append(f"GraphiQL: {graphiql}  (headers go in its Headers tab)")
    return "\n".join(lines)


@cli.command("expire-points")
def expire_points_command() -> None:
    """Release pending points that have come due and expire points past their date (also run on
    a schedule inside ``serve``)."""
    settings = _settings()
    configure_logging(settings.log_level, part="jobs")

    async def run(url: str) -> Any:
        from services.loyalty.earning.jobs import run_point_jobs

        engine = create_engine(url, pool_size=2, application_name="expire-points")
        try:
            return await run_point_jobs(engine)
        finally:
            await engine.dispose()

    with database(settings) as db:
        db.migrate()
        outcome = asyncio.run(run(db.runtime.loyalty))
    typer.echo(outcome.model_dump_json())


@cli.command("seed-demo")
def seed_demo_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print the credentials as JSON.")] = False,
) -> None:
    """Seed the demo programme into the configured database (once) and print how to sign in."""
    settings = _settings()
    with database(settings) as db:
        kek = _require_key_encryption_secret(db)
        db.migrate()
        credentials = asyncio.run(_seed(db.migration, settings.data_dir, kek))
    if as_json:
        typer.echo(json.dumps(credentials))
    else:
        typer.echo(
            "The demo programme is in the database (seeded once: a second run adds nothing)."
        )
        typer.echo(demo_printout(credentials, graphiql=None))


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
