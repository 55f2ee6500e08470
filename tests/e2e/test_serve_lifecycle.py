"""``loyalty serve`` on its embedded PostgreSQL stops cleanly on SIGTERM and SIGINT, leaving no
process behind, and a later start recovers from what a crash leaves: a server still running, a
stale ``postmaster.pid``, handles of dead processes."""

from __future__ import annotations

import json
import re
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path

import httpx
import psutil
import pytest
from served import Served, postgres_processes, postmasters

pytestmark = pytest.mark.e2e

TIERS = "{ tiers { key } }"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One data folder for the module: created, migrated and seeded by the first start."""
    return tmp_path_factory.mktemp("lifecycle") / "pgdata"


def assert_nothing_left(data_dir: Path) -> None:
    assert postgres_processes(data_dir) == []
    assert not (data_dir / "postmaster.pid").exists()
    assert json.loads((data_dir / ".handle_pids.json").read_text()) == []


def assert_serves(served: Served) -> None:
    answer = httpx.post(f"{served.url}/graphql", json={"query": TIERS}, timeout=10)
    assert answer.status_code == 200
    assert answer.json() == {
        "data": {"tiers": [{"key": "silver"}, {"key": "gold"}, {"key": "platinum"}]}
    }


@pytest.mark.parametrize(
    ("sig", "status"), [(signal.SIGTERM, 0), (signal.SIGINT, 130)], ids=["SIGTERM", "SIGINT"]
)
def test_serve_stops_on_a_signal_and_its_embedded_postgresql_stops_too(
    serve: Callable[..., Served], data_dir: Path, sig: signal.Signals, status: int
) -> None:
    served = serve(data_dir)
    assert len(postmasters(served.data_dir)) == 1
    assert (served.data_dir / "postmaster.pid").exists()

    assert served.stop(sig) == status

    assert_nothing_left(served.data_dir)
    assert served.errors().endswith(f"{sig.name}: stopping\nstopped\n")


def test_a_start_after_serve_was_killed_adopts_the_postgresql_left_running_and_stops_it(
    serve: Callable[..., Served], data_dir: Path
) -> None:
    crashed = serve(data_dir)
    left = [p.pid for p in postmasters(crashed.data_dir)]
    crashed.process.kill()
    crashed.process.wait()
    assert [p.pid for p in postmasters(crashed.data_dir)] == left  # the crash left it up
    assert json.loads((crashed.data_dir / ".handle_pids.json").read_text()) == [crashed.process.pid]

    restarted = serve(data_dir)

    assert [p.pid for p in postmasters(restarted.data_dir)] == left
    assert_serves(restarted)
    # the demo partner's key is the one kept at the first start, shown again
    key = re.findall(r"^  .*X-API-Key: (\S+)", crashed.output(), re.M)
    assert len(key) == 1 and re.findall(r"^  .*X-API-Key: (\S+)", restarted.output(), re.M) == key
    assert restarted.stop(signal.SIGTERM) == 0
    assert_nothing_left(restarted.data_dir)


def test_a_start_after_everything_was_killed_recovers_from_a_pid_file_naming_another_process(
    serve: Callable[..., Served], data_dir: Path
) -> None:
    crashed = serve(data_dir)
    crashed.process.kill()
    crashed.process.wait()
    processes = postgres_processes(data_dir)
    for process in processes:
        process.kill()
    psutil.wait_procs(processes, timeout=10)
    pid_file = data_dir / "postmaster.pid"
    with subprocess.Popen(["sleep", "300"]) as unrelated:
        # the killed server's pid now belongs to another process (PostgreSQL alone would refuse)
        lines = pid_file.read_text().split("\n")
        pid_file.write_text("\n".join([str(unrelated.pid), *lines[1:]]))

        restarted = serve(data_dir)

        assert_serves(restarted)
        assert restarted.stop(signal.SIGTERM) == 0
        assert_nothing_left(data_dir)
        assert unrelated.poll() is None
        unrelated.kill()
