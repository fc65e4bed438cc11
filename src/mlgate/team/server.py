"""The team's tracking server: `mlflow server` on a PostgreSQL cluster, artifacts proxied, on 127.0.0.1.

Everything lives in one folder: `postgres/` (the cluster, team/postgres.py),
`artifacts/` (what `--serve-artifacts` stores for every client), the server's
log and its pid. `start` brings up PostgreSQL, then the MLflow server in a
process group of its own (it forks workers) and returns once `/health` answers;
`stop` stops the group, then the cluster. The tests call the same two
functions, and `stop_mlflow`/`start_mlflow` to kill and restart the server alone.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from mlgate.team import postgres
from mlgate.team.paths import InFolder

HOST = postgres.HOST
DEFAULT_PORT = 5000
DEFAULT_POSTGRES_PORT = 5433  # beside a system PostgreSQL on 5432, not on it
DEFAULT_WORKERS = 2
START_TIMEOUT_SECONDS = 180  # the first start creates MLflow's schema: a few dozen migrations
STOP_TIMEOUT_SECONDS = 20
POLL_SECONDS = 0.2
LOG_TAIL_CHARS = 3000


class TeamServerError(RuntimeError):
    """The team server did not start or stop; the message says why and what to check."""


@dataclass(frozen=True)
class TeamServer:
    """Where the team server keeps its state and where it listens."""

    folder: Path
    port: int = DEFAULT_PORT
    postgres_port: int = DEFAULT_POSTGRES_PORT
    workers: int = DEFAULT_WORKERS

    @property
    def cluster(self) -> postgres.Cluster:
        return postgres.Cluster(self.folder / "postgres", self.postgres_port)

    artifacts = InFolder("artifacts")

    log = InFolder("mlflow-server.log")

    pid_file = InFolder("mlflow-server.pid")

    @property
    def url(self) -> str:
        """What MLFLOW_TRACKING_URI is set to for the gates to use this server."""
        return f"http://{HOST}:{self.port}"

    def command(self) -> list[str]:
        return [
            sys.executable, "-m", "mlflow", "server",
            "--backend-store-uri", self.cluster.sqlalchemy_uri(),
            "--artifacts-destination", str(self.artifacts), "--serve-artifacts",
            "--host", HOST, "--port", str(self.port), "--workers", str(self.workers),
        ]


def _pid(server: TeamServer) -> int | None:
    try:
        return int(server.pid_file.read_text().strip())
    except (OSError, ValueError):
        return None


def _alive(pid: int) -> bool:
    """True while `pid` runs; a zombie (ours, or one nobody reaps in a container) counts as gone."""
    try:
        os.waitpid(pid, os.WNOHANG)  # reaps it if it is our child
    except ChildProcessError:
        pass
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def _answers(url: str) -> bool:
    import httpx

    try:
        return httpx.get(url, timeout=2.0, trust_env=False).status_code == 200
    except httpx.TransportError:
        return False


def mlflow_running(server: TeamServer) -> bool:
    pid = _pid(server)
    return pid is not None and _alive(pid)


def start_mlflow(server: TeamServer) -> int:
    """Start `mlflow server` on the (running) cluster; its pid once `/health` answers."""
    if mlflow_running(server):
        raise TeamServerError(f"an MLflow server of {server.folder} already runs (pid {_pid(server)}); stop it first")
    server.artifacts.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **server.cluster.client_env()}
    with server.log.open("ab") as log:
        process = subprocess.Popen(
            server.command(), env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    server.pid_file.write_text(f"{process.pid}\n")
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while not _answers(server.url + "/health"):
        if process.poll() is not None or time.monotonic() > deadline:
            why = f"exited with {process.returncode}" if process.poll() is not None else "did not answer in time"
            stop_mlflow(server)
            tail = server.log.read_text(errors="replace")[-LOG_TAIL_CHARS:]
            raise TeamServerError(f"mlflow server on {server.url} {why}; its log {server.log} ends:\n{tail}")
        time.sleep(POLL_SECONDS)
    return process.pid


def stop_mlflow(server: TeamServer, stop_signal: int = signal.SIGTERM) -> None:
    """Signal the server's process group, wait, SIGKILL what is left; SIGKILL at once is a crash."""
    pid = _pid(server)
    if pid is None:
        return
    for sig in (stop_signal, signal.SIGKILL):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(POLL_SECONDS)
        if not _alive(pid):
            break
    server.pid_file.unlink(missing_ok=True)


def start(server: TeamServer) -> None:
    """PostgreSQL, then the MLflow server; if the server fails, the cluster is stopped again."""
    try:
        postgres.start(server.cluster)
    except postgres.PostgresError as error:
        raise TeamServerError(str(error)) from None
    try:
        start_mlflow(server)
    except BaseException:
        postgres.stop(server.cluster)
        raise


def stop(server: TeamServer) -> None:
    """The MLflow server, then PostgreSQL; what is not running is skipped."""
    stop_mlflow(server)
    try:
        postgres.stop(server.cluster)
    except postgres.PostgresError as error:
        raise TeamServerError(str(error)) from None
