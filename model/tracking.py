"""The only module that talks to MLflow: the gate run, the registry, the champion, and every tag key.

No global state: every call goes to the store named by the settings (or the
URI passed in). MLflow's fluent functions that know no other way (log_model,
register_model) run inside `_fluent_store`, which points them at that store
for the call and restores the process's own setting afterwards.
"""

from __future__ import annotations

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

from model.settings import Settings

# --- the tags a gate session writes: on its run, and on a version it registers ------------
TAG_GATE_STATUS = "mlgate.gate_status"  # running, then passed or failed (run)
STATUS_RUNNING, STATUS_PASSED, STATUS_FAILED = "running", "passed", "failed"
TAG_DATASET = "mlgate.dataset"  # the dataset as given: a path or sklearn:NAME (run, version)
TAG_REFUSED_BECAUSE = "mlgate.refused_because"  # why nothing was promoted (run, version)
TAG_FAILED_GATES = "mlgate.failed_gates"  # the gates that did not pass (run)
TAG_CHAMPION_VERSION = "mlgate.champion_version"  # the version a green session crowned (run)
TAG_GATED_AT = "mlgate.gated_at"  # unix time of the green session (version)
TAG_SERVING_ENGINE = "mlgate.serving_engine"  # onnxruntime or scikit-learn: what serves it (run, version)
TAG_COMPILE_SKIPPED_BECAUSE = "mlgate.compile_skipped_because"  # why it serves scikit-learn (run, version)
TAG_PIPELINE = "mlgate.pipeline"  # the `pipeline` setting: package.module:function (run)
TAG_PIPELINE_SOURCE_SHA256 = "mlgate.pipeline_source_sha256"  # SHA-256 of that function's source (run)
TAG_GIT_COMMIT = "mlgate.git_commit"  # the commit the project folder had checked out (run)
TAG_GIT_DIRTY = "mlgate.git_dirty"  # "true" when the tree differed from that commit (run)
TAG_DATA_VERDICT_KEY = "mlgate.data_verdict_key"  # what the data verdict depends on (model.data_verdicts) (run)
TAG_DATA_VERDICT_FROM = "mlgate.data_verdict_from"  # the run whose recorded verdict this session reused (run)
# The data gate's full verdict (SuiteValidation JSON) on the run that computed or reused it.
DATA_VERDICT_ARTIFACT = "data_validation/suite_validation.json"
GATE_TAG_PREFIX = "mlgate.gate."  # + family.name: one per gate, "passed value=... threshold=..."
METRIC_TAG_PREFIX = "mlgate.metric."  # + accuracy, macro_f1, roc_auc: holdout scores (version)
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

CHAMPION_ALIAS = "champion"
MODEL_ARTIFACT_NAME = "model"
# A skops model may only ask us to trust types from these packages ...
TRUSTED_TYPE_PREFIXES = ("sklearn.", "numpy.", "scipy.")
# ... and from its estimator's own package. Each estimator package mlgate knows, with the exact
# types outside it that its models hold (LightGBM keeps an OrderedDict of parameters).
ESTIMATOR_PACKAGE_TYPES = {"lightgbm": ("collections.OrderedDict",), "xgboost": ()}
# mlgate's own types a model may hold: XGBoost's labels encoded as 0..n-1 (model/labels.py).
MLGATE_MODEL_TYPES = ("model.labels.EncodedLabels",)
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


# Where a registered model keeps its compiled form: MLflow's `extra_files` of the
# sklearn flavour, which `mlflow models serve` and pyfunc ignore.
COMPILED_FOLDER = "extra_files"


def load_compiled(model_dir: Path):
    """The CompiledModel saved with a logged model, or None (an older model, or one that did not compile)."""
    from model.serving.compiled import MODEL_FILE, CompiledModel

    if not (model_dir / COMPILED_FOLDER / MODEL_FILE).is_file():
        return None
    return CompiledModel.load(model_dir / COMPILED_FOLDER)


def quiet_progress_bars() -> None:
    """For a gate session (called from its pytest_configure): progress bars are noise in its output."""
    os.environ.setdefault(PROGRESS_BAR_ENV, "false")


def client_for(settings: Settings) -> MlflowClient:
    """A client of the settings' store; the process's global MLflow URIs are left alone."""
    return _client(settings.tracking_uri)


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
        experiment = client.get_experiment_by_name(settings.experiment_name)
        experiment_id = (
            experiment.experiment_id
            if experiment is not None
            else client.create_experiment(settings.experiment_name)
        )
        run = client.create_run(
            experiment_id,
            run_name=f"gates-{settings.dataset_name}",
            tags={TAG_GATE_STATUS: STATUS_RUNNING, TAG_DATASET: settings.dataset_shown},
        )
    except MlflowException as error:
        raise TrackingError(
            f"cannot open a run on the tracking store {settings.tracking_uri}: {error.message}; "
            "check MLFLOW_TRACKING_URI"
        ) from None
    return run.info.run_id


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
) -> tuple[str, str]:
    """Log the model on the run, register it, tag it; returns (version, model_uri).

    The alias is moved separately (`crown`), last, so that a session killed
    in here leaves the champion where it was.
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
        registered = mlflow.register_model(info.model_uri, settings.model_name)
    tag_version(client, settings.model_name, str(registered.version), version_tags)
    return str(registered.version), info.model_uri


def tag_version(client: MlflowClient, name: str, version: str, tags: Mapping[str, str]) -> None:
    for key, value in tags.items():
        client.set_model_version_tag(name, version, key, str(value)[:MAX_TAG_CHARS])


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
    return Champion(
        model=model, version=str(version.version), run_id=version.run_id, tags=dict(version.tags), compiled=compiled
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


def load_servable(model_uri: str, tracking_uri: str, code: tuple[str, ...] = ()) -> ServableModel:
    """Load `models:/name@alias`, `models:/name/N`, `runs:/...` or a local model folder.

    Raises TrackingError with a message fit for a start-up failure.
    """
    import json

    import yaml

    client = _client(tracking_uri)
    name = version = run_id = alias = ""
    tags: dict[str, str] = {}
    try:
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
    except (MlflowException, OSError, KeyError) as error:
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
