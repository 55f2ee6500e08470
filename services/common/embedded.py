"""The embedded PostgreSQL used when no database is configured (the ``pgserver`` package).

Each process that uses the server holds a handle on it (its pid, listed in the data folder); the
last handle released stops the server. A start first recovers what a crash leaves behind:

- handles of processes that died without releasing them (they would keep the server up forever);
- a ``postmaster.pid`` whose process is gone, or is no longer a postgres of this data folder
  (PostgreSQL would refuse to start while the file names a live process);
- a server that outlived the process that started it: it is adopted, and stopped as usual when
  its new last user stops.
"""

from __future__ import annotations

import json
import os
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psutil

HANDLES_FILE = ".handle_pids.json"
PID_FILE = "postmaster.pid"
_SETTLE_SECONDS = 30.0


def start_embedded(data_dir: Path, *, cleanup_mode: str | None = "stop") -> tuple[Any, str]:
    """Start (or reuse) an embedded PostgreSQL in ``data_dir``; return the server and its URL.

    The data folder survives restarts. With ``cleanup_mode="stop"`` the server stops when the
    last process using it releases it (``release_embedded``, or at the latest when it exits
    normally); with ``"delete"`` its data folder goes too (tests).
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
        import pgserver
        from pgserver.postgres_server import PostgresServer

        data_dir = data_dir.resolve()
        data_dir.parent.mkdir(parents=True, exist_ok=True)
        with PostgresServer._lock:  # pgserver's own lock over the handles of every data folder
            recover(data_dir)
        server = pgserver.get_server(data_dir, cleanup_mode=cleanup_mode)  # type: ignore[attr-defined]
    return server, server.get_uri()


def release_embedded(server: Any) -> None:
    """Release this process's handle; the last one released stops the server."""
    server.cleanup()


@contextmanager
def embedded_postgres(data_dir: Path) -> Iterator[str]:
    """The URL of the embedded PostgreSQL in ``data_dir`` while the block runs; on the way out
    (also on an exception or a signal turned into one) the server stops unless another process
    still uses it."""
    server, url = start_embedded(data_dir, cleanup_mode="stop")
    try:
        yield url
    finally:
        release_embedded(server)


def recover(data_dir: Path) -> None:
    """Clear what crashed processes left in ``data_dir`` (see the module's description).
    Call it with pgserver's lock held."""
    _drop_dead_handles(data_dir / HANDLES_FILE)
    _settle_postmaster(data_dir)


def postmaster_pid(data_dir: Path) -> int | None:
    """The pid of the postmaster that ``postmaster.pid`` names, if the file exists."""
    try:
        first = (data_dir / PID_FILE).read_text().split("\n", 1)[0].strip()
    except FileNotFoundError:
        return None
    return int(first) if first.isdigit() else None


def is_postmaster_of(pid: int, data_dir: Path) -> bool:
    """Whether ``pid`` is a running postgres whose data folder is ``data_dir``."""
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return False
        command = process.cmdline()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False
    return bool(command) and Path(command[0]).name == "postgres" and str(data_dir) in command


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _drop_dead_handles(handles: Path) -> None:
    try:
        pids = json.loads(handles.read_text())
    except (FileNotFoundError, ValueError):
        return
    alive = [pid for pid in pids if isinstance(pid, int) and pid != os.getpid() and _alive(pid)]
    if alive != pids:
        handles.write_text(json.dumps(alive))


def _settle_postmaster(data_dir: Path) -> None:
    """Remove a stale ``postmaster.pid``; wait for a server that is starting or stopping."""
    deadline = time.monotonic() + _SETTLE_SECONDS
    while True:
        pid_file = data_dir / PID_FILE
        if not pid_file.exists():
            return
        pid = postmaster_pid(data_dir)
        if pid is not None and not is_postmaster_of(pid, data_dir):
            pid_file.unlink(missing_ok=True)
            return
        if pid is not None and _status(pid_file) == "ready":
            return
        # being written, starting up or shutting down: look again in a moment
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"the embedded PostgreSQL in {data_dir} (pid {pid}) neither became ready nor stopped"
            )
        time.sleep(0.1)


def _status(pid_file: Path) -> str:
    """The server's status, the eighth line of ``postmaster.pid`` (``starting``, ``ready``,
    ``stopping``); empty while the file is being written."""
    try:
        lines = pid_file.read_text().splitlines()
    except FileNotFoundError:
        return ""
    return lines[7].strip() if len(lines) > 7 else ""
