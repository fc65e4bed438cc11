"""The gate session inside MLflow's own tools: `mlflow run` and a real tracking server.

`mlflow run` opens a run and hands it to the session in MLFLOW_RUN_ID; the
session must log into that run rather than open a second one. Against an
`mlflow server` the session talks REST only, so everything it reads and
writes (runs, artifacts through the server's proxy, the registry) goes over
HTTP; the test reads the result back through the server too.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from mlgate import tracking
from tests.support.ports import LOCALHOST, free_port
from tests.support.project import VENV_BIN, clean_env
from tests.support.serving import mlflow_tracking_server

pytestmark = pytest.mark.slow

TIMEOUT_SECONDS = 300


def output(result: subprocess.CompletedProcess) -> str:
    return result.stdout + result.stderr


def test_mlflow_run_produces_exactly_one_run_holding_the_gate_results(project, tracking_store):
    env = clean_env(MLFLOW_TRACKING_URI=project.tracking_uri)

    result = project.run(str(VENV_BIN / "mlflow"), "run", ".", "--env-manager", "local", env=env, timeout=TIMEOUT_SECONDS)

    assert result.returncode == 0, output(result)
    store = tracking_store(project.tracking_uri)
    runs = store.runs()
    assert len(runs) == 1, [(r.info.run_id, r.info.run_name) for r in runs]
    run = runs[0]
    assert run.info.status == "FINISHED"
    assert run.data.tags[tracking.TAG_GATE_STATUS] == tracking.STATUS_PASSED
    # MLflow's own record of the project run and the gate results are on the same run.
    assert run.data.tags["mlflow.project.entryPoint"] == "main"
    gate_tags = [k for k in run.data.tags if k.startswith(tracking.GATE_TAG_PREFIX)]
    assert any(k.startswith(tracking.gate_tag_key("data", "")) for k in gate_tags)
    assert any(k.startswith(tracking.gate_tag_key("model", "")) for k in gate_tags)
    assert all(run.data.tags[k].startswith("passed") for k in gate_tags)
    assert run.data.params["dataset"] == "sklearn:breast_cancer"
    champion = store.client.get_model_version_by_alias("mlgate-classifier", tracking.CHAMPION_ALIAS)
    assert champion.run_id == run.info.run_id


# --- a real tracking server ------------------------------------------------------------------


@dataclass(frozen=True)
class TrackingServer:
    url: str
    artifacts: Path  # where the server keeps artifacts it proxies


@pytest.fixture
def tracking_server(tmp_path: Path) -> Iterator[TrackingServer]:
    """A real `mlflow server` on 127.0.0.1 with a SQLite backend, started and stopped by the test.

    It runs in its own process group so that stopping it also stops the
    workers it forks.
    """
    folder = tmp_path / "server"
    folder.mkdir()
    server = mlflow_tracking_server(
        f"sqlite:///{folder / 'server.db'}", free_port(), "--artifacts-destination", str(folder / "mlartifacts"),
        cwd=folder, log=folder / "server.log",
    )
    with server:
        yield TrackingServer(server.url, folder / "mlartifacts")


def test_session_against_tracking_server_registers_champion_there(project, tracking_server, tracking_store):
    env = clean_env(MLFLOW_TRACKING_URI=tracking_server.url, NO_PROXY=LOCALHOST, no_proxy=LOCALHOST)

    result = project.run_gates(env=env, timeout=TIMEOUT_SECONDS)

    assert result.returncode == 0, output(result)
    server = tracking_store(tracking_server.url)
    assert server.champion_version() == "1"
    champion = server.client.get_model_version_by_alias("mlgate-classifier", tracking.CHAMPION_ALIAS)
    run = server.client.get_run(champion.run_id)
    assert run.info.status == "FINISHED"
    assert run.data.tags[tracking.TAG_GATE_STATUS] == tracking.STATUS_PASSED
    assert any(k.startswith(tracking.gate_tag_key("model", "")) for k in run.data.tags)
    # Artifacts went through the server's proxy into its destination, readable back over HTTP.
    assert {a.path for a in server.client.list_artifacts(run.info.run_id)} >= {"reports", "gates", "data_validation"}
    assert any(tracking_server.artifacts.rglob("MLmodel"))
    # Nothing fell back to a store in the working folder.
    assert not (project.root / "mlflow.db").exists()
    assert not (project.root / "mlruns").exists()
    assert (project.artifacts / "model" / "MLmodel").is_file()
