"""Opening the tracking store: one client per call, a fresh SQLite store created under a lock.

No global state: every call goes to the store named by the settings (or the
URI passed in). MLflow's fluent functions that know no other way (log_model,
register_model) run inside `fluent_store`, which points them at that store
for the call and restores the process's own setting afterwards.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mlflow.tracking import MlflowClient

from mlgate.locking import LockTimeout, exclusive
from mlgate.settings import Settings

logger = logging.getLogger("mlgate.tracking")

# MLflow's switch for artifact progress bars, read on every upload and download.
PROGRESS_BAR_ENV = "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"

# A fresh SQLite store is created under an flock on this file beside it (open_store).
STORE_LOCK_SUFFIX = ".lock"
# How long a process waits for another to create the store: migrations take ~3 s on a loaded box.
STORE_LOCK_WAIT_SECONDS = 300.0


class TrackingError(RuntimeError):
    """The tracking store or registry refused; the message names the store."""



def quiet_progress_bars() -> None:
    """For a gate session (called from its pytest_configure): progress bars are noise in its output."""
    os.environ.setdefault(PROGRESS_BAR_ENV, "false")


# MLflow retries a failed HTTP call 7 times with exponential backoff, minutes per call: a gate
# session whose tracking server died should say so in seconds. A blip of a few seconds
# still survives 2 retries; a value the user set wins.
SESSION_HTTP_DEFAULTS = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2", "MLFLOW_HTTP_REQUEST_TIMEOUT": "30"}


def fail_fast_on_a_lost_server() -> None:
    """For a gate session (called from its pytest_configure): a dead tracking server costs seconds."""
    for name, value in SESSION_HTTP_DEFAULTS.items():
        os.environ.setdefault(name, value)


def unreachable(error: BaseException, tracking_uri: str) -> str:
    """The one message for an error that means the tracking server cannot be reached; "" for any other.

    MLflow wraps the connection error in an MlflowException raised while handling
    it, so the cause is found by walking the exception's context.
    """
    import requests

    lost = (requests.exceptions.ConnectionError, requests.exceptions.Timeout, ConnectionError, TimeoutError)
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, lost):
            return (
                f"tracking server {tracking_uri} unreachable: start it (make team-server) or unset "
                "MLFLOW_TRACKING_URI to use the local store"
            )
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return ""


def client_for(settings: Settings) -> MlflowClient:
    """A client of the settings' store; the process's global MLflow URIs are left alone."""
    return open_store(settings.tracking_uri)


def open_store(uri: str) -> MlflowClient:
    """A client of `uri`, with a fresh SQLite store created and migrated first, by one process at a time.

    MLflow creates and migrates a SQLite schema in whichever process first
    touches it, with no lock: sessions started together on a fresh file each run
    the migrations and all but one die on `duplicate column name: step`
    (daizutabi/hydraflow#245). Every door to the store (gate sessions, the
    server) comes through here, so the first one creates the schema under an
    flock on `<db>.lock` and the others wait, then find it done. A killed holder's
    lock is released by the kernel. A store already at MLflow's head revision,
    with its default experiment, is opened without the lock: MLflow writes
    nothing to it on opening, and sessions starting together are not queued.
    """
    database = sqlite_file(uri)
    if database is None or _ready(database):
        return _client(uri)
    lock_file = database.with_name(database.name + STORE_LOCK_SUFFIX)
    client = None
    try:
        with exclusive(lock_file, STORE_LOCK_WAIT_SECONDS) as waited:
            started = time.monotonic()
            if not _ready(database):  # first in: create it. MlflowClient opens the tracking store at once
                # (schema, default experiment); the registry store, in the same file, finds its tables made.
                client = _client(uri)
    except LockTimeout as error:
        raise TrackingError(
            f"{error} while creating the tracking store {uri}; if no mlgate process is running, retry"
        ) from None
    logger.debug("store %s: waited %.3f s for its lock, held it %.3f s", uri, waited, time.monotonic() - started)
    return client if client is not None else _client(uri)  # those who waited open it side by side


def _ready(database: Path) -> bool:
    """Whether the SQLite file holds MLflow's whole schema, at the head revision, and the default experiment."""
    import sqlite3
    from contextlib import closing

    from mlflow.store.db.utils import _get_latest_schema_revision

    if not database.is_file():
        return False
    try:
        with closing(sqlite3.connect(database.as_uri() + "?mode=ro", uri=True, timeout=30)) as connection:
            revisions = connection.execute("SELECT version_num FROM alembic_version").fetchall()
            default = connection.execute("SELECT 1 FROM experiments WHERE experiment_id = 0").fetchall()
    except sqlite3.Error:  # tables not made yet, or half made: the lock decides
        return False
    return revisions == [(_get_latest_schema_revision(),)] and bool(default)


def sqlite_file(uri: str) -> Path | None:
    """The database file of a `sqlite:///` URI; None for any other store (or an in-memory one)."""
    if not uri.startswith("sqlite:"):
        return None
    from sqlalchemy.engine import make_url

    database = make_url(uri).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database).absolute()


def _client(uri: str) -> MlflowClient:
    return MlflowClient(uri, registry_uri=uri)


@contextmanager
def fluent_store(uri: str) -> Iterator[None]:
    """Point MLflow's fluent API (log_model, register_model) at `uri` for one call.

    MLflow keeps one tracking URI per process and exports it to child
    processes; this restores whatever was there before, so nothing leaks.
    """
    from mlflow.tracking._model_registry import utils as registry_utils
    from mlflow.tracking._tracking_service.utils import _use_tracking_uri

    names = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")
    previous = {name: os.environ.get(name) for name in names}
    previous_registry = registry_utils._registry_uri
    try:
        registry_utils.set_registry_uri(uri)
        with _use_tracking_uri(uri):
            yield
    finally:
        registry_utils._registry_uri = previous_registry
        for name, value in previous.items():  # as they were, set or not
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
