"""Team mode: gate sessions against a shared `mlflow server` on PostgreSQL, as a team runs them.

One server for the module (team/server.py, the code `make team-server` runs):
PostgreSQL in a folder of its own and `mlflow server` with proxied artifacts, on
loopback ports. Four sessions from four checkouts race to crown the first
champion, and `mlgate serve` serves the winner from the server; then
the server is killed under a session and restarted. MLflow's
aliases have no compare-and-set, so the race is where a later writer could
silently replace a champion it never compared with: the promotion protocol
(model/session/promotion.py) must refuse instead, and say so on the run and on
the version.

If PostgreSQL is not installed or does not start, these tests error: `make test`
installs it (the `postgresql` target), so a missing database is a broken
machine, not a reason to skip.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from mlgate import tracking
from mlgate.settings import load_settings
from mlgate.team import postgres
from mlgate.team import server as team
from tests.support.ports import free_port
from tests.support.processes import stop, wait_until
from tests.support.project import Project, clean_env
from tests.support.serving import mlgate_server

pytestmark = pytest.mark.slow

MODEL_NAME = "mlgate-classifier"
RACERS = 4
CLAIM_LOST = "another session claimed the succession first"
SESSION_TIMEOUT_SECONDS = 400
# These tests check what sessions do with verdicts, not how deep the behaviour search goes.
BEHAVIOUR_EXAMPLES = 20
# A lost server must be reported in a screenful, not a traceback per gate.
MAX_OUTPUT_LINES_WHEN_LOST = 60


@dataclass
class Session:
    """One `pytest gates/` process against the team server, and what it printed."""

    project: Project
    process: subprocess.Popen
    log: Path
    seconds: float = 0.0
    exit_code: int | None = None

    @property
    def output(self) -> str:
        return self.log.read_text(errors="replace")


def start_session(project: Project, server: team.TeamServer) -> Session:
    config = project.write_config(behaviour_max_examples=BEHAVIOUR_EXAMPLES)
    log = project.root / f"session-{time.time_ns()}.log"
    with log.open("w") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "pytest", "gates/", "-p", "no:cacheprovider", "--mlgate-config", str(config)],
            cwd=project.root, env=clean_env(MLFLOW_TRACKING_URI=server.url), stdout=sink, stderr=subprocess.STDOUT,
        )
    return Session(project, process, log, seconds=time.monotonic())


def finish(session: Session) -> Session:
    """Wait for the session to end by itself; one that outlives the timeout is killed and fails the test."""
    try:
        session.exit_code = session.process.wait(timeout=SESSION_TIMEOUT_SECONDS)
    finally:
        stop(session.process, signal.SIGKILL)  # a no-op once it ended
    session.seconds = time.monotonic() - session.seconds
    return session


def store_of(server: team.TeamServer, tracking_store):
    return tracking_store(server.url)


def sql(server: team.TeamServer, query: str, *params) -> list[tuple]:
    """A read of the registry straight from PostgreSQL: works while the MLflow server is down."""
    with postgres.connect(server.cluster) as connection:
        return connection.execute(query, params).fetchall()


def champion_in_database(server: team.TeamServer) -> str | None:
    rows = sql(
        server, "SELECT version FROM registered_model_aliases WHERE name = %s AND alias = %s",
        MODEL_NAME, tracking.CHAMPION_ALIAS,
    )
    return str(rows[0][0]) if rows else None


def gate_tags(tags: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in tags.items() if k.startswith(tracking.GATE_TAG_PREFIX)}


@pytest.fixture(scope="module")
def team_server() -> Iterator[team.TeamServer]:
    """PostgreSQL and `mlflow server` for the whole module, started and stopped here, on loopback.

    One server because starting one costs ~15 s (MLflow creates its schema) and
    because the tests share one registry the way a team does. The folder is made
    under /tmp, open to the `postgres` user the cluster runs as when we are root
    (pytest's own tmp folders are private to root). Nothing outlives the module:
    the server's process group and the cluster are stopped, the folder removed.
    """
    folder = Path(tempfile.mkdtemp(prefix="mlgate-team-"))
    folder.chmod(0o711)
    server = team.TeamServer(folder, port=free_port(), postgres_port=free_port(), workers=2)
    started = time.monotonic()
    try:
        team.start(server)
        server_start_seconds = time.monotonic() - started
        print(f"\nteam server up in {server_start_seconds:.1f} s on {server.url}")
        yield server
    finally:
        team.stop(server)
        left_running = team.mlflow_running(server) or postgres.running(server.cluster)
        shutil.rmtree(folder, ignore_errors=True)
        assert not left_running, "the team server outlived its tests"


@dataclass
class Round:
    """One round of the race: the champion every racer compared with, and how each session ended."""

    champion_before: str | None
    sessions: list[Session]

    @property
    def crowned(self) -> list[Session]:
        return [s for s in self.sessions if s.exit_code == 0]

    @property
    def refused(self) -> list[Session]:
        return [s for s in self.sessions if s.exit_code != 0]


@pytest.fixture(scope="module")
def race(team_server, tmp_path_factory, make_project, tracking_store) -> list[Round]:
    """Checkouts start `pytest gates/` at the same moment, all comparing with the same champion.

    The first round races on the empty registry, as a team's first day does:
    its winner is the first champion, which the other tests serve and kill the
    server under. One round by default (the suite's time budget);
    MLGATE_TEAM_RACE_ROUNDS=N runs N, each racing against the previous winner.
    """
    store = store_of(team_server, tracking_store)
    rounds = []
    for number in range(int(os.environ.get("MLGATE_TEAM_RACE_ROUNDS", "1"))):
        root = tmp_path_factory.mktemp(f"race-{number}")
        projects = [make_project(root / f"racer-{n}") for n in range(RACERS)]
        before = store.champion_version()
        sessions = [start_session(project, team_server) for project in projects]
        rounds.append(Round(before, [finish(session) for session in sessions]))
        lost_claims = sum(CLAIM_LOST in s.output for s in sessions)
        print(
            f"\nrace round {number + 1}: @champion {before} -> {store.champion_version()}, "
            f"{len(rounds[-1].crowned)} crowned, {len(rounds[-1].refused)} refused ({lost_claims} of them by a lost "
            f"claim, after the alias check passed); versions {store.versions()[-RACERS:]}; "
            f"session seconds {sorted(round(s.seconds) for s in sessions)}"
        )
    return rounds


def test_sessions_racing_crown_one_and_every_other_says_why(team_server, race, tracking_store):
    store = store_of(team_server, tracking_store)
    for round_ in race:
        # At most one may crown, and one must: the first to finish saw the champion unchanged.
        assert len(round_.crowned) == 1, [s.output[-2000:] for s in round_.sessions]
        moved = f"@champion moved from version {round_.champion_before or 'none'}"
        for session in round_.sessions:
            report = json.loads((session.project.artifacts / "gate_report.json").read_text())
            run = store.client.get_run(report["run_id"])
            # Only the winner's bundle holds a model; the others hold the report alone.
            assert report["promoted"] == (session.exit_code == 0)
            assert (session.project.artifacts / "model").is_dir() == (session.exit_code == 0)
            if session.exit_code == 0:
                winner = run
                continue
            assert session.exit_code == 1, session.output[-3000:]
            assert moved in session.output, session.output[-3000:]
            # The refusal is on the run, and on the version if the racer got as far as registering one.
            assert run.info.status == "FAILED" and moved in run.data.tags[tracking.TAG_REFUSED_BECAUSE]
            refused_versions = store.client.search_model_versions(f"name='{MODEL_NAME}' and run_id='{run.info.run_id}'")
            for version in refused_versions:
                assert moved in version.tags[tracking.TAG_REFUSED_BECAUSE], version.version
        assert winner.info.status == "FINISHED"
        assert winner.data.tags[tracking.TAG_GATE_STATUS] == tracking.STATUS_PASSED

    # The alias ends on the last winner's version, and every one of its gates passed.
    champion = store.client.get_model_version_by_alias(MODEL_NAME, tracking.CHAMPION_ALIAS)
    assert champion.run_id == winner.info.run_id
    assert winner.data.tags[tracking.TAG_CHAMPION_VERSION] == str(champion.version)
    tags = gate_tags(champion.tags)
    assert len(tags) > 100 and all(v.startswith("passed") for v in tags.values())


def test_the_first_champion_lives_on_the_team_server_and_model_serve_serves_it(
    team_server, race, tracking_store, breast_cancer_frame
):
    first = race[0]
    assert first.champion_before is None and len(first.crowned) == 1, [s.output[-2000:] for s in first.sessions]
    session = first.crowned[0]
    store = store_of(team_server, tracking_store)
    champion = store.champion_version()
    # The registry is PostgreSQL's, and the model's files went through the server to its folder.
    assert champion_in_database(team_server) == champion
    assert list(team_server.artifacts.rglob("MLmodel")), "no model files in the server's artifact folder"
    assert not (session.project.root / "mlruns").exists() and not (session.project.root / "mlflow.db").exists()

    rows = breast_cancer_frame.sample(40, random_state=0)
    features = rows.drop(columns="target")
    body = {"dataframe_split": {"columns": list(features.columns), "data": features.values.tolist()}}
    with mlgate_server(team_server.url, free_port(), cwd=session.project.root) as served:
        answer = httpx.post(served.url + "/invocations", json=body, timeout=30, trust_env=False)
        log = served.output()
    assert answer.status_code == 200, answer.text
    predictions = answer.json()["predictions"]
    assert len(predictions) == len(rows)
    assert sum(int(p) == t for p, t in zip(predictions, rows["target"])) >= 0.9 * len(rows)
    assert f"{MODEL_NAME} version {champion}" in log


def test_of_eight_simultaneous_claims_on_one_champion_postgresql_grants_exactly_one(team_server, tmp_path):
    """The atomic step the race relies on, contended harder than four sessions ever contend it."""
    settings = load_settings(
        overrides={"model_name": "claims-contended"}, environ={"MLFLOW_TRACKING_URI": team_server.url}, workdir=tmp_path
    )
    contenders = [str(version) for version in range(10, 18)]
    start = threading.Barrier(len(contenders))

    def contend(version: str) -> str:
        client = tracking.client_for(settings)
        start.wait()
        return tracking.claim_succession(settings, client, "1", version)

    with ThreadPoolExecutor(max_workers=len(contenders)) as pool:
        answers = dict(zip(contenders, pool.map(contend, contenders)))
    granted = [version for version, holder in answers.items() if holder == ""]
    assert len(granted) == 1, answers
    assert {holder for holder in answers.values() if holder} == set(granted), answers


def test_a_server_killed_mid_session_crowns_nothing_and_the_session_names_it(
    team_server, race, tmp_path_factory, make_project, tracking_store
):
    before = champion_in_database(team_server)
    versions_before = sql(team_server, "SELECT version FROM model_versions WHERE name = %s ORDER BY version", MODEL_NAME)
    runs_before = {r for (r,) in sql(team_server, "SELECT run_uuid FROM runs")}
    project = make_project(tmp_path_factory.mktemp("team") / "bob")
    session = start_session(project, team_server)
    try:
        def trained() -> bool:
            rows = sql(
                team_server, "SELECT run_uuid FROM params WHERE key = 'train_rows' AND NOT run_uuid = ANY(%s)",
                list(runs_before),
            )
            return bool(rows)

        wait_until(trained, "the session logged train_rows through the server", 240, process=session.process)
        team.stop_mlflow(team_server, signal.SIGKILL)  # the server and its workers, as a crash
        killed_at = time.monotonic()
        finish(session)
    finally:
        stop(session.process, signal.SIGKILL)
        if not team.mlflow_running(team_server):
            team.start_mlflow(team_server)
    output = session.output
    print(f"\nsession ended {time.monotonic() - killed_at:.1f} s after the kill, {len(output.splitlines())} lines")
    assert session.exit_code == 1, output[-3000:]
    assert f"tracking server {team_server.url} unreachable" in output
    assert "Traceback" not in output and len(output.splitlines()) <= MAX_OUTPUT_LINES_WHEN_LOST, output[-3000:]
    report = json.loads((project.artifacts / "gate_report.json").read_text())
    assert report["promoted"] is False and not (project.artifacts / "model").exists()
    # Restarted on the same database: the champion is where it was, and no version was added.
    store = store_of(team_server, tracking_store)
    assert store.champion_version() == before
    assert store.versions() == [str(v) for (v,) in versions_before]
