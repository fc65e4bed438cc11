"""A PostgreSQL cluster in a folder of ours: initialised once, started and stopped with `pg_ctl`.

Debian's `postgresql` package puts the programs in /usr/lib/postgresql/<major>/bin,
off PATH, and `pg_ctl` refuses to run as root: as root, every PostgreSQL program
runs as the `postgres` user the package created (`runuser`), and the cluster's
folder belongs to that user. The cluster listens on 127.0.0.1 only, with no Unix
socket (a folder deep in a checkout is too long a socket path), and knows one
role, `mlflow`, with a generated password, which owns one database, `mlflow`.
A folder that already holds a cluster is started as it is: the team's
registry outlives a restart.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from mlgate.team.paths import InFolder

HOST = "127.0.0.1"
ROLE = DATABASE = "mlflow"
SERVICE_USER = "postgres"  # created by Debian's package; the owner of the cluster when we are root
PACKAGE_BINARIES = Path("/usr/lib/postgresql")
INSTALL_HINT = "install Debian's `postgresql` package: `make postgresql` (apt-get install postgresql)"
START_TIMEOUT_SECONDS = 60
COMMAND_TIMEOUT_SECONDS = 120
LOG_TAIL_CHARS = 2000


class PostgresError(RuntimeError):
    """PostgreSQL is missing, or a cluster would not initialise, start or stop; the message says why."""


def bin_dir() -> Path:
    """Where pg_ctl and initdb are: the newest Debian major version, else PATH."""
    majors = sorted(
        (p.parent for p in PACKAGE_BINARIES.glob("*/bin/pg_ctl")),
        key=lambda p: int(re.sub(r"\D", "", p.parent.name) or 0),
    )
    if majors:
        return majors[-1]
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).parent
    raise PostgresError(f"PostgreSQL is not installed (no pg_ctl in {PACKAGE_BINARIES}/*/bin or on PATH): {INSTALL_HINT}")


def _is_root() -> bool:
    return os.geteuid() == 0


def _as_owner(command: list[str]) -> list[str]:
    """`command` as the cluster's owner: the `postgres` user when we are root, else ourselves."""
    if not _is_root():
        return command
    if shutil.which("runuser") is None:
        raise PostgresError("running as root needs `runuser` (util-linux) to start PostgreSQL as `postgres`")
    return ["runuser", "-u", SERVICE_USER, "--", *command]


def _run(command: list[str], what: str, log: Path | None = None) -> subprocess.CompletedProcess:
    result = subprocess.run(
        _as_owner(command), capture_output=True, text=True, timeout=COMMAND_TIMEOUT_SECONDS,
        stdin=subprocess.DEVNULL, check=False,
    )
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip()[-LOG_TAIL_CHARS:]
        if log is not None and log.is_file():
            detail += f"\n--- {log} ---\n" + log.read_text(errors="replace")[-LOG_TAIL_CHARS:]
        raise PostgresError(f"{what} failed (exit {result.returncode}): {detail}")
    return result


@dataclass(frozen=True)
class Cluster:
    """A cluster at `folder` (its data, log and password), listening on 127.0.0.1:`port`."""

    folder: Path
    port: int

    data = InFolder("data")

    log = InFolder("postgres.log")

    password_file = InFolder("password")

    @property
    def initialised(self) -> bool:
        return (self.data / "PG_VERSION").is_file()

    def password(self) -> str:
        return self.password_file.read_text(encoding="utf-8").strip()

    def sqlalchemy_uri(self) -> str:
        """The database as MLflow's `--backend-store-uri`; the password travels in PGPASSWORD, not in `ps`."""
        return f"postgresql+psycopg://{ROLE}@{HOST}:{self.port}/{DATABASE}"

    def client_env(self) -> dict[str, str]:
        """What a libpq client (psycopg, so MLflow's SQLAlchemy) needs besides the URI."""
        return {"PGPASSWORD": self.password()}

    def program(self, name: str) -> str:
        return str(bin_dir() / name)


def init(cluster: Cluster) -> bool:
    """Create the cluster unless `cluster.folder` holds one; True if it was created now."""
    if cluster.initialised:
        return False
    folder = cluster.folder
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    cluster.password_file.write_text(secrets.token_urlsafe(24) + "\n", encoding="utf-8")
    cluster.password_file.chmod(0o600)
    if _is_root():
        for path in (folder, cluster.password_file):
            shutil.chown(path, SERVICE_USER, SERVICE_USER)
        reach = subprocess.run(_as_owner(["test", "-w", str(folder)]), capture_output=True, check=False)
        if reach.returncode != 0:
            raise PostgresError(
                f"the `{SERVICE_USER}` user cannot reach {folder}: every folder above it must be open to "
                "others (chmod o+x), or choose a folder under /tmp"
            )
    _run(
        [
            cluster.program("initdb"), "--pgdata", str(cluster.data), "--username", ROLE,
            "--pwfile", str(cluster.password_file), "--auth", "scram-sha-256",
            "--encoding", "UTF8", "--no-locale", "--no-sync",
        ],
        f"initdb {cluster.data}",
    )
    return True


def running(cluster: Cluster) -> bool:
    if not cluster.initialised:
        return False
    command = _as_owner([cluster.program("pg_ctl"), "status", "--pgdata", str(cluster.data)])
    status = subprocess.run(command, capture_output=True, check=False)
    return status.returncode == 0


def start(cluster: Cluster) -> None:
    """Start the cluster (initialising it first if need be) and make sure the `mlflow` database exists."""
    init(cluster)
    if not running(cluster):
        options = f"-p {cluster.port} -c listen_addresses={HOST} -c unix_socket_directories=''"
        _run(
            [
                cluster.program("pg_ctl"), "start", "--pgdata", str(cluster.data), "--log", str(cluster.log),
                "--wait", "--timeout", str(START_TIMEOUT_SECONDS), "-o", options,
            ],
            f"starting PostgreSQL on {HOST}:{cluster.port}",
            log=cluster.log,
        )
    _create_database(cluster)


def connect(cluster: Cluster, dbname: str = DATABASE):
    """A psycopg connection to the running cluster, as the `mlflow` role (autocommit)."""
    import psycopg

    return psycopg.connect(
        host=HOST, port=cluster.port, user=ROLE, password=cluster.password(), dbname=dbname,
        autocommit=True, connect_timeout=10,
    )


def _create_database(cluster: Cluster) -> None:
    with connect(cluster, dbname="postgres") as connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)).fetchone()
        if not exists:
            connection.execute(f"CREATE DATABASE {DATABASE} OWNER {ROLE}")


def stop(cluster: Cluster) -> None:
    """Stop the cluster if it runs: `fast` (clients are disconnected), `immediate` if that hangs."""
    if not running(cluster):
        return
    pg_ctl = cluster.program("pg_ctl")
    try:
        _run([pg_ctl, "stop", "--pgdata", str(cluster.data), "--mode", "fast", "--wait", "--timeout", "30"], "pg_ctl stop")
    except PostgresError:
        _run([pg_ctl, "stop", "--pgdata", str(cluster.data), "--mode", "immediate", "--wait"], "pg_ctl stop (immediate)")
