"""The embedded PostgreSQL used when no database is configured (the ``pgserver`` package)."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any


def start_embedded(data_dir: Path, *, cleanup_mode: str | None = "stop") -> tuple[Any, str]:
    """Start (or reuse) an embedded PostgreSQL in ``data_dir``; return the server and its URL.

    The data folder survives restarts. With ``cleanup_mode="stop"`` the server stops when the
    last process using it exits; with ``"delete"`` its data folder goes too (tests).
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
        import pgserver

        data_dir = data_dir.resolve()
        data_dir.parent.mkdir(parents=True, exist_ok=True)
        server = pgserver.get_server(data_dir, cleanup_mode=cleanup_mode)  # type: ignore[attr-defined]
    return server, server.get_uri()
