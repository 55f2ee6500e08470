"""The platform as separate processes on loopback ports: identity, loyalty and the gateway,
started with the CLI as in production (``loyalty serve <part>``), sharing one database; and
``loyalty serve`` whole, as a newcomer starts it, on an embedded PostgreSQL of its own."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from served import Served, start_serve, stop_postgres

ROOT = Path(__file__).resolve().parents[2]
SECRET = "e2e-service-secret-0123456789abcdef"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Platform:
    gateway: str
    demo: dict[str, Any]


def _env(url: str, data_dir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "LOYALTY_DATABASE_URL": url,
        "LOYALTY_DATA_DIR": str(data_dir),  # where seed-demo keeps the partner's key
        "LOYALTY_SERVICE_SECRET": SECRET,
        "LOYALTY_ENVIRONMENT": "test",
        "LOYALTY_PASSWORD_HASH_COST": "low",
        "LOYALTY_RELAY_INTERVAL_SECONDS": "0.1",
        "LOYALTY_LOG_LEVEL": "WARNING",
    }


@pytest.fixture(scope="session")
def platform(
    make_database: Callable[[], str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    url = make_database()
    data_dir = tmp_path_factory.mktemp("platform")
    cli = [sys.executable, "-m", "services.cli"]
    seeded = subprocess.run(
        [*cli, "seed-demo", "--json"],
        cwd=ROOT,
        env=_env(url, data_dir),
        capture_output=True,
        text=True,
        check=True,
    )
    demo = json.loads(seeded.stdout.strip().splitlines()[-1])
    ports = {name: _free_port() for name in ("identity", "loyalty", "gateway")}
    base = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    commands = [
        [*cli, "serve", "loyalty", "--port", str(ports["loyalty"])],
        [
            *cli,
            "serve",
            "identity",
            "--port",
            str(ports["identity"]),
            "--loyalty-url",
            base["loyalty"],
        ],
        [
            *cli,
            "serve",
            "gateway",
            "--port",
            str(ports["gateway"]),
            "--identity-url",
            base["identity"],
            "--loyalty-url",
            base["loyalty"],
        ],
    ]
    logs = [tempfile.TemporaryFile() for _ in commands]  # noqa: SIM115 (closed in finally)
    processes = [
        subprocess.Popen(
            c, cwd=ROOT, env=_env(url, data_dir), stdout=subprocess.DEVNULL, stderr=log
        )
        for c, log in zip(commands, logs, strict=True)
    ]
    try:
        deadline = time.monotonic() + 60
        for name in ("loyalty", "identity", "gateway"):
            while True:
                try:
                    if httpx.get(f"{base[name]}/readyz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline or any(p.poll() is not None for p in processes):
                    for log in logs:
                        log.seek(0)
                    errors = [log.read().decode()[-2000:] for log in logs]
                    pytest.fail(f"{name} did not become ready: {errors}")
                time.sleep(0.2)
        yield Platform(base["gateway"], demo)
    finally:
        for p in processes:
            p.terminate()
        for p in processes:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        for log in logs:
            log.close()


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., Served]]:
    """Start ``loyalty serve`` processes (``serve(data_dir, *args, **env)``); whatever they leave
    running is stopped at the end of the test."""
    started: list[Served] = []

    def start(data_dir: Path | None = None, *args: str, **extra_env: str) -> Served:
        served = start_serve(data_dir or tmp_path / "pgdata", tmp_path / "logs", *args, **extra_env)
        started.append(served)
        return served

    try:
        yield start
    finally:
        for served in started:
            if served.process.poll() is None:
                served.process.kill()
                served.process.wait()
        for data_dir in {s.data_dir for s in started}:
            stop_postgres(data_dir)


@pytest.fixture(scope="session")
def newcomer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """``loyalty serve`` as a newcomer starts it on a fresh clone: no settings, an embedded
    PostgreSQL in a new data folder, the demo programme; shared by the tests that follow the
    README. Stopped with SIGTERM at the end, as a reader would stop it."""
    root = tmp_path_factory.mktemp("newcomer")
    served = start_serve(root / "pgdata", root / "logs")
    try:
        yield served
    finally:
        if served.process.poll() is None:
            served.stop(signal.SIGTERM)
        stop_postgres(served.data_dir)
