"""``loyalty serve`` as a newcomer runs it: the console script, no database configured, an
embedded PostgreSQL in a data folder of its own, a free loopback port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil
import pytest

ROOT = Path(__file__).resolve().parents[2]

LOYALTY = Path(sys.executable).with_name("loyalty")
READY_SECONDS = 120


@dataclass
class Served:
    """One ``loyalty serve`` process, its address, data folder and output."""

    process: subprocess.Popen[bytes]
    url: str
    data_dir: Path
    stdout: Path
    stderr: Path

    def output(self) -> str:
        return self.stdout.read_text()

    def errors(self) -> str:
        return self.stderr.read_text()

    def stop(self, sig: signal.Signals, timeout: float = 60) -> int:
        """Send ``sig`` and wait for the process to exit; its exit status."""
        self.process.send_signal(sig)
        return self.process.wait(timeout=timeout)


def postmasters(data_dir: Path) -> list[psutil.Process]:
    """The running postgres servers of ``data_dir``."""
    found = []
    for process in psutil.process_iter(["name", "cmdline", "status"]):
        command = process.info["cmdline"] or []
        if (
            process.info["name"] == "postgres"
            and process.info["status"] != psutil.STATUS_ZOMBIE
            and str(data_dir.resolve()) in command
        ):
            found.append(process)
    return found


def postgres_processes(data_dir: Path) -> list[psutil.Process]:
    """Every running postgres process of ``data_dir``: its servers and their children."""
    found = []
    for postmaster in postmasters(data_dir):
        try:
            found += [postmaster, *postmaster.children(recursive=True)]
        except psutil.NoSuchProcess:
            continue
    return found


def serve_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a newcomer's shell: no LOYALTY_ settings but the data folder (and a
    cheap password hash, so that seeding is quick)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOYALTY_")}
    return {
        **env,
        "LOYALTY_DATA_DIR": str(data_dir),
        "LOYALTY_PASSWORD_HASH_COST": "low",
        "LOYALTY_LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
        **extra,
    }


def start_serve(data_dir: Path, logs: Path, *args: str, **extra_env: str) -> Served:
    """Start ``loyalty serve`` on a free loopback port and wait until it is ready."""
    port = _free_port()
    logs.mkdir(parents=True, exist_ok=True)
    n = len(list(logs.glob("stdout-*")))
    stdout, stderr = logs / f"stdout-{n}", logs / f"stderr-{n}"
    env = serve_env(data_dir, **extra_env)
    with stdout.open("wb") as out, stderr.open("wb") as err:
        process = subprocess.Popen(
            [str(LOYALTY), "serve", "--port", str(port), *args],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=err,
        )
    served = Served(process, f"http://127.0.0.1:{port}", data_dir, stdout, stderr)
    deadline = time.monotonic() + READY_SECONDS
    while True:
        try:
            if httpx.get(f"{served.url}/readyz", timeout=1).status_code == 200:
                return served
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            process.wait()
            pytest.fail(f"loyalty serve did not become ready: {served.errors()[-3000:]}")
        time.sleep(0.2)


def stop_postgres(data_dir: Path) -> None:
    """Stop whatever postgres a test left running in ``data_dir`` (a fast shutdown)."""
    for postmaster in postmasters(data_dir):
        postmaster.send_signal(signal.SIGINT)
    psutil.wait_procs(postgres_processes(data_dir), timeout=30)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
