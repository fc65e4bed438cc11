"""Versions a dead session left gating are tagged abandoned; live sessions' and the champion are not.

Liveness is read from the real process table (a child process that has ended,
this process, this process's pid with another start time); the registry is a
real SQLite store in a temporary folder.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import pytest

from mlgate import tracking
from mlgate.session.abandoned import is_running, mark_abandoned, this_session
from mlgate.settings import load_settings


@pytest.fixture(scope="module")
def ended_pid() -> int:
    """The pid of a process that has run and exited: a session killed before its verdict."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_this_session_is_running():
    assert is_running(this_session()) is True


def test_an_ended_session_is_not_running(ended_pid):
    assert is_running(f"{socket.gethostname()} {ended_pid} 1") is False


def test_a_recycled_pid_with_another_start_time_is_not_the_session():
    host, pid, started = this_session().split(" ")
    assert is_running(f"{host} {pid} {int(started) + 1}") is False


def test_a_session_on_another_host_cannot_be_judged_by_its_pid():
    assert is_running(f"not-{socket.gethostname()} 1 1") is None


def test_only_versions_of_gone_sessions_are_tagged_abandoned(tmp_path, ended_pid):
    settings = load_settings(environ={"MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}"}, workdir=tmp_path)
    client = tracking.client_for(settings)
    client.create_registered_model(settings.model_name)
    run_id = client.create_run(client.create_experiment("abandoned")).info.run_id
    sessions = {
        "1": this_session(),  # still gating, alive: left alone
        "2": f"{socket.gethostname()} {ended_pid} 1",  # its session ended: abandoned
        "3": f"not-{socket.gethostname()} 1 1",  # another host, registered just now: left alone for now
        "4": f"{socket.gethostname()} {ended_pid} 1",  # holds @champion: crowned, killed before its last tag
    }
    for session in sessions.values():
        tags = {tracking.TAG_VERDICT: tracking.VERDICT_GATING, tracking.TAG_GATING_SESSION: session}
        client.create_model_version(settings.model_name, str(tmp_path), run_id=run_id, tags=tags)
    client.set_registered_model_alias(settings.model_name, tracking.CHAMPION_ALIAS, "4")

    found = mark_abandoned(settings, client)
    later = mark_abandoned(settings, client, now=time.time() + settings.abandoned_after_seconds + 60)

    assert [a.version for a in found] == ["2"] and "no longer running" in found[0].why
    assert [a.version for a in later] == ["3"] and "another host" in later[0].why
    verdicts = {v: client.get_model_version(settings.model_name, v).tags[tracking.TAG_VERDICT] for v in sessions}
    assert verdicts == {"1": "gating", "2": "abandoned", "3": "abandoned", "4": "promoted"}
    assert str(client.get_model_version_by_alias(settings.model_name, tracking.CHAMPION_ALIAS).version) == "4"
