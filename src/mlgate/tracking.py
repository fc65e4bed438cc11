"""The only module that talks to MLflow: the gate run, the registry, the champion, and every tag key.

No global state: every call goes to the store named by the settings (or the
URI passed in). MLflow's fluent functions that know no other way (log_model,
register_model) run inside `_fluent_store`, which points them at that store
for the call and restores the process's own setting afterwards.
"""

from __future__ import annotations

import itertools
import logging
import math
import os
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib.metadata import version as installed_version
from pathlib import Path
from typing import Any

import mlflow
import mlflow.sklearn
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from mlgate.locking import LockTimeout, exclusive
from mlgate.settings import Settings

logger = logging.getLogger("mlgate.tracking")

# --- the tags a gate session writes: on its run, and on a version it registers ------------
TAG_GATE_STATUS = "mlgate.gate_status"  # running, then passed or failed (run)
STATUS_RUNNING, STATUS_PASSED, STATUS_FAILED = "running", "passed", "failed"
TAG_DATASET = "mlgate.dataset"  # the dataset as given: a path or sklearn:NAME (run, version)
TAG_REFUSED_BECAUSE = "mlgate.refused_because"  # why nothing was promoted (run, version)
# A version's verdict: gating from registration, then promoted, refused or failed; abandoned
# when a later session finds its session gone (model/session/abandoned.py). Never deleted.
TAG_VERDICT = "mlgate.verdict"
VERDICT_GATING, VERDICT_PROMOTED, VERDICT_REFUSED = "gating", "promoted", "refused"
VERDICT_FAILED, VERDICT_ABANDONED = "failed", "abandoned"
TAG_GATING_SESSION = "mlgate.gating_session"  # "host pid start-ticks" of the session registering it (version)
TAG_ABANDONED_BECAUSE = "mlgate.abandoned_because"  # whose session is gone, and how that is known (version)
TAG_FAILED_GATES = "mlgate.failed_gates"  # the gates that did not pass (run)
TAG_CHAMPION_VERSION = "mlgate.champion_version"  # the version a green session crowned (run)
TAG_GATED_AT = "mlgate.gated_at"  # unix time of the green session (version)
TAG_SERVING_ENGINE = "mlgate.serving_engine"  # onnxruntime or scikit-learn: what serves it (run, version)
TAG_COMPILE_SKIPPED_BECAUSE = "mlgate.compile_skipped_because"  # why it serves scikit-learn (run, version)
TAG_CLAIMED_BY_VERSION = "mlgate.claimed_by_version"  # who holds a succession claim (claim_succession)
TAG_PIPELINE = "mlgate.pipeline"  # the `pipeline` setting: package.module:function (run)
TAG_PIPELINE_SOURCE_SHA256 = "mlgate.pipeline_source_sha256"  # SHA-256 of that function's source (run)
TAG_GIT_DIRTY = "mlgate.git_dirty"  # "true" when the tree differed from that commit (run)
TAG_DATA_VERDICT_KEY = "mlgate.data_verdict_key"  # what the data verdict depends on (mlgate.data_verdicts) (run)
TAG_DATA_VERDICT_FROM = "mlgate.data_verdict_from"  # the run whose recorded verdict this session reused (run)
# The data gate's full verdict (SuiteValidation JSON) on the run that computed or reused it.
DATA_VERDICT_ARTIFACT = "data_validation/suite_validation.json"
GATE_TAG_PREFIX = "mlgate.gate."  # + family.name: one per gate, "passed value=... threshold=..."
TAG_DATA_FINGERPRINT = "mlgate.data_fingerprint"  # sha256 of the table the session read (run, version)
# MLflow's own tag for the commit that ran (set by `mlflow run`, and by the session: model/provenance.py).
TAG_GIT_COMMIT = "mlflow.source.git.commit"
METRIC_TAG_PREFIX = "mlgate.metric."  # + accuracy, macro_f1, roc_auc: holdout scores (version)
# A champion imported from a bundle (mlgate import-champion), not gated in this store:
TAG_IMPORTED_FROM = "mlgate.imported_from"  # where the bundle came from: a folder, a CI run (run, version)
TAG_SOURCE_RUN_ID = "mlgate.source_run_id"  # the gate run that made the bundle, in its own store (version)
TAG_SOURCE_VERSION = "mlgate.source_version"  # the version it was crowned as there (version)
# What a served model reports of its gate session, by name; NaN when a tag is absent.
GATE_SCORES = {
    "accuracy": METRIC_TAG_PREFIX + "accuracy",
    "macro_f1": METRIC_TAG_PREFIX + "macro_f1",
    "roc_auc": METRIC_TAG_PREFIX + "roc_auc",
    "gated_at": TAG_GATED_AT,
}
# A tag's value is capped by MLflow; gate names and messages are cut to fit.
MAX_TAG_CHARS = 5000
# MLflow's switch for artifact progress bars, read on every upload and download.
PROGRESS_BAR_ENV = "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"

# A fresh SQLite store is created under an flock on this file beside it (open_store).
STORE_LOCK_SUFFIX = ".lock"
# How long a process waits for another to create the store: migrations take ~3 s on a loaded box.
STORE_LOCK_WAIT_SECONDS = 300.0

CHAMPION_ALIAS = "champion"
MODEL_ARTIFACT_NAME = "model"
# A skops model may only ask us to trust types from these packages ...
TRUSTED_TYPE_PREFIXES = ("sklearn.", "numpy.", "scipy.")
# ... and from its estimator's own package. Each estimator package mlgate knows, with the exact
# types outside it that its models hold (LightGBM keeps an OrderedDict of parameters).
ESTIMATOR_PACKAGE_TYPES = {"lightgbm": ("collections.OrderedDict",), "xgboost": ()}
# mlgate's own types a model may hold: XGBoost's labels encoded as 0..n-1 (model/labels.py).
MLGATE_MODEL_TYPES = ("mlgate.labels.EncodedLabels",)
# What the logged model needs to run, pinned to what trained it (plus its estimator's package).
MODEL_REQUIREMENTS = ("mlflow", "scikit-learn", "skops", "numpy", "pandas", "scipy")


class TrackingError(RuntimeError):
    """The tracking store or registry refused; the message names the store."""


class UntrustedModelError(TrackingError):
    """A model asks to load types outside TRUSTED_TYPE_PREFIXES."""


@dataclass(frozen=True)
class Champion:
    model: Any
    version: str
    run_id: str
    tags: dict[str, str]
    compiled: Any = None  # its CompiledModel, when it was registered with one
    drift_profile: Any = None  # its mlgate.monitoring.drift.Profile; None: registered before profiles existed

    @property
    def imported_from(self) -> str:
        """Where its bundle came from (a folder, a CI run), or "" for a champion gated in this store."""
        return self.tags.get(TAG_IMPORTED_FROM, "")

    @property
    def shown(self) -> str:
        """How messages name it: its version, and its origin when it was imported."""
        return f"version {self.version}" + (f" (imported from {self.imported_from})" if self.imported_from else "")


# Where a registered model keeps its compiled form: MLflow's `extra_files` of the
# sklearn flavour, which `mlflow models serve` and pyfunc ignore.
COMPILED_FOLDER = "extra_files"


def load_compiled(model_dir: Path):
    """The CompiledModel saved with a logged model, or None (an older model, or one that did not compile)."""
    from mlgate.serving.compiled import MODEL_FILE, CompiledModel

    if not (model_dir / COMPILED_FOLDER / MODEL_FILE).is_file():
        return None
    return CompiledModel.load(model_dir / COMPILED_FOLDER)


def load_drift_profile(model_dir: Path, shown: str = ""):
    """The drift Profile saved with a logged model (an extra file beside the compiled form), or None.

    `shown` names the model in an error, where `model_dir` is a download folder already gone.
    """
    from mlgate.monitoring.drift import PROFILE_FILE, Profile

    path = model_dir / COMPILED_FOLDER / PROFILE_FILE
    if not path.is_file():
        return None
    where = f"{shown}'s {COMPILED_FOLDER}/{PROFILE_FILE}" if shown else str(path)
    return Profile.from_json(path.read_text(encoding="utf-8"), where=where)


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
def _fluent_store(uri: str) -> Iterator[None]:
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


def start_gate_run(settings: Settings, client: MlflowClient) -> str:
    """One run for the whole session; `mlflow run` hands us its own in MLFLOW_RUN_ID."""
    run_id = os.environ.get("MLFLOW_RUN_ID")
    try:
        if run_id:
            client.get_run(run_id)
            set_tags(client, run_id, {TAG_GATE_STATUS: STATUS_RUNNING, TAG_DATASET: settings.dataset_shown})
            return run_id
        run = client.create_run(
            _experiment_id(settings, client),
            run_name=f"gates-{settings.dataset_name}",
            tags={TAG_GATE_STATUS: STATUS_RUNNING, TAG_DATASET: settings.dataset_shown},
        )
    except MlflowException as error:
        raise TrackingError(
            f"cannot open a run on the tracking store {settings.tracking_uri}: {error.message}; "
            "check MLFLOW_TRACKING_URI"
        ) from None
    return run.info.run_id


def _experiment_id(settings: Settings, client: MlflowClient) -> str:
    name = settings.experiment_name
    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        return experiment.experiment_id
    try:
        return client.create_experiment(name)
    except MlflowException as error:
        if error.error_code != "RESOURCE_ALREADY_EXISTS":
            raise
        return client.get_experiment_by_name(name).experiment_id  # a session started with us made it


def finish_run(client: MlflowClient, run_id: str, passed: bool) -> None:
    client.set_terminated(run_id, status="FINISHED" if passed else "FAILED")


def estimator_package(model) -> str:
    """The top-level package of the model's final classifier (inside a Pipeline and EncodedLabels)."""
    final = model.steps[-1][1] if hasattr(model, "steps") else model
    final = getattr(final, "classifier", final) if type(final).__name__ == "EncodedLabels" else final
    return type(final).__module__.split(".")[0]


def user_code(settings: Settings) -> tuple[str, ...]:
    """The user's code a model may hold types from: the pipeline function's module (its own
    transformers, FunctionTransformer's functions) and the estimator's package."""
    return (settings.pipeline.partition(":")[0], settings.estimator.split(".")[0])


def _refused(types, packages) -> list[str]:
    """The types outside the allowlist grown by `packages` (each an estimator's top-level package)."""
    prefixes = TRUSTED_TYPE_PREFIXES + tuple(f"{p}." for p in packages)
    exact = set(MLGATE_MODEL_TYPES).union(*(ESTIMATOR_PACKAGE_TYPES.get(p, ()) for p in packages))
    return [t for t in types if not t.startswith(prefixes) and t not in exact]


def trusted_types(model, code: tuple[str, ...] = ()) -> list[str]:
    """The non-default types skops must trust to load `model`, each checked.

    Trusted: the base prefixes, the package of the model's own final classifier and
    `code` (user_code: the modules the settings name as the user's).
    """
    import skops.io

    needed = sorted(skops.io.get_untrusted_types(data=skops.io.dumps(model)))
    packages = [estimator_package(model), *code]
    refused = _refused(needed, packages)
    if refused:
        raise UntrustedModelError(
            f"the model holds types mlgate will not trust: {refused}; only types from "
            f"{', '.join(TRUSTED_TYPE_PREFIXES)}, its estimator's package and the pipeline's module "
            f"({', '.join(dict.fromkeys(packages))}) may be loaded"
        )
    return needed


def _pinned_requirements(model) -> list[str]:
    names = list(MODEL_REQUIREMENTS)
    package = estimator_package(model)
    if package in ESTIMATOR_PACKAGE_TYPES:
        names.append({"xgboost": "xgboost-cpu"}.get(package, package))
    return [f"{name}=={installed_version(name)}" for name in names]


def log_and_register(
    settings: Settings,
    client: MlflowClient,
    run_id: str,
    model,
    input_example,
    version_tags: dict[str, str],
    skops_trusted_types: list[str] | None = None,
    extra_files: list[Path] | None = None,
    gating_session: str = "",
) -> tuple[str, str]:
    """Log the model on the run, register it with its tags; returns (version, model_uri).

    The alias is moved separately (`crown`), last, so that a session killed
    in here leaves the champion where it was. The version is born tagged
    gating by `gating_session`, with `version_tags`, in the transaction that
    creates it, so a kill at any later point leaves a version a later session
    can tell apart.
    """
    from mlflow.models import infer_signature

    signature = infer_signature(input_example, model.predict(input_example))
    # run_id=, not `with mlflow.start_run(run_id)`: leaving that block marks the run FINISHED
    # before any verdict, so a session killed while registering left a "FINISHED" run.
    with _fluent_store(settings.tracking_uri):
        info = mlflow.sklearn.log_model(
            model,
            name=MODEL_ARTIFACT_NAME,
            signature=signature,
            input_example=input_example,
            pip_requirements=_pinned_requirements(model),
            serialization_format="skops",
            skops_trusted_types=(
                skops_trusted_types if skops_trusted_types is not None else trusted_types(model, user_code(settings))
            ),
            run_id=run_id,
            extra_files=[str(f) for f in extra_files] if extra_files else None,
        )
        # Born with every tag, in the one transaction that creates it: a tag per call is a
        # transaction (and a registered-model read) each, ~1 s for a whole gate set's tags.
        registered = mlflow.register_model(
            info.model_uri,
            settings.model_name,
            tags=_tag_values({**version_tags, TAG_VERDICT: VERDICT_GATING, TAG_GATING_SESSION: gating_session}),
        )
    return str(registered.version), info.model_uri


def register_folder(
    settings: Settings, client: MlflowClient, model_dir: Path, run_tags: dict[str, str], version_tags: dict[str, str]
) -> str:
    """Register an already-logged MLflow model folder (a bundle's), byte for byte; returns the version.

    The folder becomes the `model` artifact of a new, finished run of the
    settings' experiment, so `models:/NAME/N` resolves to exactly those files.
    """
    import shutil

    try:
        run_id = client.create_run(
            _experiment_id(settings, client), run_name="import-champion", tags=run_tags
        ).info.run_id
        with tempfile.TemporaryDirectory(prefix="mlgate-import-") as folder:
            # registered_model_meta names the version in the store it came from: not this one's.
            staged = Path(folder) / MODEL_ARTIFACT_NAME
            shutil.copytree(model_dir, staged, ignore=shutil.ignore_patterns("registered_model_meta"))
            client.log_artifacts(run_id, str(staged), artifact_path=MODEL_ARTIFACT_NAME)
        try:
            client.create_registered_model(settings.model_name)
        except MlflowException as error:
            if error.error_code != "RESOURCE_ALREADY_EXISTS":
                raise
        registered = client.create_model_version(
            settings.model_name, source=f"runs:/{run_id}/{MODEL_ARTIFACT_NAME}", run_id=run_id,
            tags=_tag_values(version_tags),
        )
        client.set_terminated(run_id, status="FINISHED")
    except MlflowException as error:
        raise TrackingError(
            f"cannot register the bundle's model in {settings.tracking_uri}: {error.message}; "
            "check MLFLOW_TRACKING_URI"
        ) from None
    return str(registered.version)


def _tag_values(tags: Mapping[str, Any]) -> dict[str, str]:
    return {key: str(value)[:MAX_TAG_CHARS] for key, value in tags.items()}


def tag_version(client: MlflowClient, name: str, version: str, tags: Mapping[str, str]) -> None:
    for key, value in _tag_values(tags).items():
        client.set_model_version_tag(name, version, key, value)


def _versions_of(name: str) -> str:
    """The registry search filter for every version of the registered model `name`."""
    return "name = '{}'".format(name.replace("'", "\\'"))


def gating_versions(settings: Settings, client: MlflowClient) -> list:
    """The settings' model's versions still tagged gating, oldest first."""
    gating = f"tags.`{TAG_VERDICT}` = '{VERDICT_GATING}'"
    found = client.search_model_versions(f"{_versions_of(settings.model_name)} AND {gating}")
    return sorted(found, key=lambda version: int(version.version))


def claim_name(settings: Settings, expected: str | None, generation: int) -> str:
    """The registered-model name whose creation is the one right to replace `expected` as @champion."""
    return f"{settings.model_name}.succession-of-{expected or 'none'}.{generation}"


def claim_succession(settings: Settings, client: MlflowClient, expected: str | None, version: str) -> str:
    """Take the one right to replace `expected` as @champion for `version`: "" when taken, else the holder.

    MLflow's aliases have no compare-and-set (a later writer silently wins), but a
    registered model's name is a unique key in every store, so creating one is
    atomic: of sessions that all compared with `expected`, exactly one creates the
    claim. Claims are never deleted, so none can be taken twice; one older than
    `champion_claim_lease_seconds` was left by a session that died before crowning
    (or by a registry whose versions were renumbered), and the next generation of
    the claim is contested instead.
    """
    for generation in itertools.count(1):
        name = claim_name(settings, expected, generation)
        try:
            client.create_registered_model(
                name,
                tags={TAG_CLAIMED_BY_VERSION: version},
                description=f"mlgate: {settings.model_name} version {version} claimed the succession of "
                f"@champion version {expected or 'none'}. Keep it: it is what makes that succession happen once.",
            )
            return ""
        except MlflowException as error:
            if error.error_code != "RESOURCE_ALREADY_EXISTS":
                raise
        held = client.get_registered_model(name)
        if time.time() - held.creation_timestamp / 1000 < settings.champion_claim_lease_seconds:
            return held.tags.get(TAG_CLAIMED_BY_VERSION, "?")


def crown(settings: Settings, client: MlflowClient, version: str) -> None:
    client.set_registered_model_alias(settings.model_name, CHAMPION_ALIAS, version)


def download_model(model_uri: str, destination: Path, tracking_uri: str) -> Path:
    destination.mkdir(parents=True, exist_ok=True)
    with _fluent_store(tracking_uri):
        return Path(mlflow.artifacts.download_artifacts(artifact_uri=model_uri, dst_path=str(destination)))


def load_skops_model(model_dir: Path, code: tuple[str, ...] = ()):
    """Load a logged sklearn model after checking the types it asks us to trust.

    Trusted: the base prefixes, the estimator packages mlgate knows (a champion may
    have been trained with another estimator) and `code`, the user's code as the
    settings name it (user_code).
    """
    import skops.io
    import yaml

    flavor = yaml.safe_load((model_dir / "MLmodel").read_text())["flavors"]["sklearn"]
    if flavor.get("serialization_format") != "skops":
        raise UntrustedModelError(
            f"the model in {model_dir} is not saved with skops; mlgate loads only skops models"
        )
    asked = flavor.get("skops_trusted_types") or []
    packages = [*ESTIMATOR_PACKAGE_TYPES, *code]
    refused = _refused(asked, packages)
    if refused:
        raise UntrustedModelError(f"the model in {model_dir} asks to trust {refused}; refused")
    return skops.io.load(model_dir / flavor["pickled_model"], trusted=asked)


def champion_version(settings: Settings, client: MlflowClient):
    """The registry's `@champion` version, or None when there is none yet."""
    try:
        return client.get_model_version_by_alias(settings.model_name, CHAMPION_ALIAS)
    except MlflowException as error:
        if error.error_code in ("RESOURCE_DOES_NOT_EXIST", "NOT_FOUND", "INVALID_PARAMETER_VALUE"):
            return None
        raise


def load_champion(settings: Settings, client: MlflowClient) -> Champion | None:
    version = champion_version(settings, client)
    if version is None:
        return None
    with tempfile.TemporaryDirectory(prefix="mlgate-champion-") as folder:
        model_dir = download_model(f"models:/{settings.model_name}/{version.version}", Path(folder), settings.tracking_uri)
        model = load_skops_model(model_dir, user_code(settings))
        compiled = load_compiled(model_dir)
        profile = load_drift_profile(model_dir, f"{settings.model_name} version {version.version}")
    return Champion(
        model=model, version=str(version.version), run_id=version.run_id, tags=dict(version.tags), compiled=compiled,
        drift_profile=profile,
    )


def find_data_verdict(settings: Settings, key: str) -> tuple[str, str] | None:
    """(run id, SuiteValidation JSON) of the latest run that recorded a data verdict under `key`.

    The cache lives in the store: a run tag and an artifact, written by each session once its
    verdict is known, so concurrent sessions each read a complete verdict or none. None on a miss,
    and on any failure to read (a miss only costs a validation).
    """
    client = client_for(settings)
    try:
        experiment = client.get_experiment_by_name(settings.experiment_name)
        if experiment is None:
            return None
        runs = client.search_runs(
            [experiment.experiment_id], filter_string=f"tags.`{TAG_DATA_VERDICT_KEY}` = '{key}'",
            max_results=5, order_by=["attributes.start_time DESC"],
        )
        for run in runs:
            with tempfile.TemporaryDirectory(prefix="mlgate-verdict-") as folder:
                try:
                    path = client.download_artifacts(run.info.run_id, DATA_VERDICT_ARTIFACT, folder)
                except (MlflowException, OSError):
                    continue
                return run.info.run_id, Path(path).read_text(encoding="utf-8")
    except (MlflowException, OSError):
        return None
    return None


def record_data_verdict(client: MlflowClient, run_id: str, key: str, verdict_json: Path, reused_from: str = "") -> None:
    """The verdict as an artifact, then the key as a tag: a reader that finds the tag finds the artifact."""
    client.log_artifact(run_id, str(verdict_json), artifact_path=str(Path(DATA_VERDICT_ARTIFACT).parent))
    set_tags(client, run_id, {TAG_DATA_VERDICT_KEY: key, **({TAG_DATA_VERDICT_FROM: reused_from} if reused_from else {})})


def log_values(client: MlflowClient, run_id: str, params: dict | None = None, metrics: dict | None = None) -> None:
    """Params and metrics in one round trip to the store."""
    from mlflow.entities import Metric, Param

    now = int(time.time() * 1000)
    client.log_batch(
        run_id,
        params=[Param(k, str(v)[:6000]) for k, v in (params or {}).items()],
        metrics=[Metric(k, float(v), now, 0) for k, v in (metrics or {}).items()],
    )


def log_files(client: MlflowClient, run_id: str, path: Path, under: str) -> None:
    """A file or a whole folder as artifacts of the run, in the folder `under`."""
    if path.is_dir():
        client.log_artifacts(run_id, str(path), artifact_path=under)
    else:
        client.log_artifact(run_id, str(path), artifact_path=under)


def gate_tag_key(family: str, name: str) -> str:
    safe = "".join(ch if ch.isalnum() or ch in "_-./ " else "_" for ch in name)
    return f"{GATE_TAG_PREFIX}{family}.{safe}"


def metric_tag_key(metric: str) -> str:
    return METRIC_TAG_PREFIX + metric


def gate_scores(tags: Mapping[str, str]) -> dict[str, float]:
    """The holdout scores and gate time a green session recorded on a version; NaN where absent."""
    scores = {}
    for name, key in GATE_SCORES.items():
        try:
            scores[name] = float(tags[key])
        except (KeyError, TypeError, ValueError):
            scores[name] = math.nan
    return scores


def set_tags(client: MlflowClient, run_id: str, tags: dict[str, str]) -> None:
    """Many tags in batches of 100, MLflow's per-request limit."""
    from mlflow.entities import RunTag

    items = [RunTag(k, str(v)[:MAX_TAG_CHARS]) for k, v in tags.items()]
    for start in range(0, len(items), 100):
        client.log_batch(run_id, tags=items[start : start + 100])


@dataclass(frozen=True)
class ServableModel:
    """A logged model, loaded for serving, with what a server needs to know of it."""

    model: Any  # the fitted scikit-learn Pipeline
    # (column, MLflow type) pairs from the model's signature, in order.
    input_schema: list[tuple[str, str]]
    required: frozenset[str]
    name: str
    version: str
    run_id: str
    alias: str
    # The registered version's tags: mlgate.metric.* and mlgate.gated_at among them.
    tags: dict[str, str]
    # What its gate session measured, by GATE_SCORES name (NaN: not recorded).
    gate_scores: dict[str, float] = field(default_factory=lambda: gate_scores({}))
    # The CompiledModel the server predicts with; None: it predicts with scikit-learn.
    compiled: Any = None
    # The mlgate.monitoring.drift.Profile the server's drift gauges compare with; None: no drift gauges.
    drift_profile: Any = None


def load_servable(model_uri: str, tracking_uri: str, code: tuple[str, ...] = ()) -> ServableModel:
    """Load `models:/name@alias`, `models:/name/N`, `runs:/...` or a local model folder.

    Raises TrackingError with a message fit for a start-up failure.
    """
    import json

    import yaml

    name = version = run_id = alias = ""
    tags: dict[str, str] = {}
    try:
        client = open_store(tracking_uri)
        if model_uri.startswith("models:/"):
            ref = model_uri.removeprefix("models:/")
            if "@" in ref:
                name, alias = ref.split("@", 1)
                registered = client.get_model_version_by_alias(name, alias)
            else:
                name, _, number = ref.partition("/")
                registered = client.get_model_version(name, number)
            version, run_id, tags = str(registered.version), registered.run_id or "", dict(registered.tags)
        with tempfile.TemporaryDirectory(prefix="mlgate-serve-") as folder:
            local = Path(model_uri) if Path(model_uri).is_dir() else download_model(model_uri, Path(folder), tracking_uri)
            document = yaml.safe_load((local / "MLmodel").read_text())
            model = load_skops_model(local, code)
            compiled = load_compiled(local)
            profile = load_drift_profile(local)
    except (MlflowException, OSError, KeyError, ValueError) as error:
        message = getattr(error, "message", None) or str(error)
        raise TrackingError(
            f"cannot load model {model_uri} from {tracking_uri}: {message}; check --model-uri "
            "and MLFLOW_TRACKING_URI (a champion exists only after a green `pytest gates/`)"
        ) from None
    signature = document.get("signature") or {}
    columns = json.loads(signature.get("inputs") or "[]")
    if not columns:
        raise TrackingError(f"model {model_uri} has no input signature; log it with one")
    return ServableModel(
        model=model,
        input_schema=[(c["name"], c["type"]) for c in columns],
        required=frozenset(c["name"] for c in columns if c.get("required", True)),
        name=name,
        version=version,
        run_id=run_id or document.get("run_id", ""),
        alias=alias,
        tags=tags,
        gate_scores=gate_scores(tags),
        compiled=compiled,
        drift_profile=profile,
    )


def servable_from_model(model, input_example, name: str = "candidate", compiled=None) -> ServableModel:
    """A fitted model not yet logged, in the shape a server takes: the perf gates serve the candidate."""
    from mlflow.models import infer_signature

    # The same signature log_and_register will record, so the gates serve what would be registered.
    columns = infer_signature(input_example, model.predict(input_example)).inputs.to_dict()
    return ServableModel(
        model=model,
        input_schema=[(c["name"], c["type"]) for c in columns],
        required=frozenset(c["name"] for c in columns if c.get("required", True)),
        name=name,
        version="",
        run_id="",
        alias="",
        tags={},
        compiled=compiled,
    )


# --- the history of a registered model: its versions and their runs, in few round trips -------

# Versions per page of the registry search; runs per `run_id IN (...)` filter of one search.
VERSIONS_PAGE_SIZE = 1000
RUN_IDS_PER_SEARCH = 100


@dataclass(frozen=True)
class VersionFacts:
    """One registered version as the registry holds it."""

    version: str
    run_id: str  # "" when registered from outside a run
    created_ms: int
    tags: dict[str, str]


@dataclass(frozen=True)
class RunFacts:
    """The run behind a version: its status, latest metrics and tags."""

    run_id: str
    status: str
    metrics: dict[str, float]
    tags: dict[str, str]


def model_history(client: MlflowClient, name: str) -> tuple[list[VersionFacts], dict[str, RunFacts], dict[str, str]]:
    """Every version of `name`, the runs behind them by id, and its aliases (alias -> version).

    Round trips grow with pages, not versions: the registry in pages of
    VERSIONS_PAGE_SIZE, the runs by `run_id IN (...)` in batches of RUN_IDS_PER_SEARCH.
    Raises TrackingError when the store refuses or holds no version of `name`.
    """
    try:
        versions = _all_versions(client, name)
        if not versions:
            raise TrackingError(
                f"no registered model {name!r} with versions in {client.tracking_uri}; a green `pytest gates/` "
                "registers the first, or pass --model-name and check MLFLOW_TRACKING_URI"
            )
        aliases = dict(client.get_registered_model(name).aliases or {})
        runs = _runs_by_id(client, sorted({v.run_id for v in versions if v.run_id}))
    except MlflowException as error:
        raise TrackingError(
            f"cannot read the history of {name!r} from {client.tracking_uri}: {error.message}; "
            "check MLFLOW_TRACKING_URI"
        ) from None
    return versions, runs, {alias: str(version) for alias, version in aliases.items()}


def _all_versions(client: MlflowClient, name: str) -> list[VersionFacts]:
    found, token = [], None
    while True:
        page = client.search_model_versions(_versions_of(name), max_results=VERSIONS_PAGE_SIZE, page_token=token)
        found += [
            VersionFacts(str(v.version), v.run_id or "", int(v.creation_timestamp or 0), dict(v.tags or {}))
            for v in page
        ]
        token = page.token
        if not token:
            return found


def _runs_by_id(client: MlflowClient, run_ids: list[str]) -> dict[str, RunFacts]:
    from mlflow.entities import ViewType

    if not run_ids:
        return {}
    experiments, token = [], None
    while True:
        page = client.search_experiments(view_type=ViewType.ALL, page_token=token)
        experiments += [e.experiment_id for e in page]
        token = page.token
        if not token:
            break
    runs = {}
    for start in range(0, len(run_ids), RUN_IDS_PER_SEARCH):
        batch = run_ids[start : start + RUN_IDS_PER_SEARCH]
        ids = ", ".join(f"'{run_id}'" for run_id in batch)
        token = None
        while True:
            page = client.search_runs(
                experiments, f"attributes.run_id IN ({ids})", ViewType.ALL, RUN_IDS_PER_SEARCH, page_token=token
            )
            for run in page:
                runs[run.info.run_id] = RunFacts(
                    run.info.run_id, run.info.status, dict(run.data.metrics), dict(run.data.tags)
                )
            token = page.token
            if not token:
                break
    return runs
