"""`mlgate team start|stop` (what `make team-server` runs) when something is in the way.

The happy path is tests/system/test_team_mode.py, whose sessions run against
the server. Here: a taken port stops the start with one message naming it and
leaves nothing running; stopping a server that is not running is not an error.
PostgreSQL missing is an error, not a skip: `make test` installs it.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlgate.team import postgres
from mlgate.team import server as team
from tests.support.ports import LOCALHOST, free_port
from tests.support.project import ROOT, clean_env


@pytest.fixture
def folder() -> Iterator[Path]:
    """A state folder under /tmp, reachable by the `postgres` user the cluster runs as when we are root."""
    path = Path(tempfile.mkdtemp(prefix="mlgate-team-"))
    path.chmod(0o711)
    yield path
    postgres.stop(postgres.Cluster(path / "postgres", 1))  # in case a test left it running
    shutil.rmtree(path, ignore_errors=True)


def run_team(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mlgate", "team", *args], cwd=ROOT, env=clean_env(), capture_output=True, text=True,
        timeout=300, check=False,
    )


def test_postgresql_is_installed_where_debian_puts_it():
    assert (postgres.bin_dir() / "initdb").is_file()


def test_a_taken_postgresql_port_stops_the_start_with_one_message_and_nothing_running(folder):
    with socket.socket() as squatter:
        squatter.bind((LOCALHOST, 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        result = run_team("start", "--folder", str(folder), "--port", str(free_port()), "--postgres-port", str(taken))
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stderr.startswith(f"mlgate team start: starting PostgreSQL on {LOCALHOST}:{taken} failed")
    assert "Traceback" not in result.stderr
    assert not postgres.running(postgres.Cluster(folder / "postgres", taken))
    assert not (folder / "mlflow-server.pid").exists()


def test_stopping_a_team_server_that_is_not_running_says_so_and_succeeds(folder):
    result = run_team("stop", "--folder", str(folder))
    assert result.returncode == 0, result.stderr
    assert "stopped" in result.stdout
    assert not team.mlflow_running(team.TeamServer(folder))


def test_a_bad_port_is_a_usage_error_naming_the_option():
    result = run_team("start", "--port", "0")
    assert result.returncode == 2
    assert "--port: must be a port number from 1 to 65535" in result.stderr
