"""Logging, registering, downloading and loading models: the skops types a model may ask us to trust."""

from __future__ import annotations

import tempfile
from importlib.metadata import version as installed_version
from pathlib import Path

import mlflow
import mlflow.sklearn
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from mlgate.settings import Settings
from mlgate.tracking.runs import experiment_id
from mlgate.tracking.store import TrackingError, fluent_store
from mlgate.tracking.tags import TAG_GATING_SESSION, TAG_VERDICT, VERDICT_GATING, tag_values

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


class UntrustedModelError(TrackingError):
    """A model asks to load types outside TRUSTED_TYPE_PREFIXES."""



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


def infer_model_signature(model, input_example):
    """The signature of `input_example` (`mlgate.training.as_served_input`'s rows) and its predictions.

    MLflow warns that an integer column cannot hold a missing value: declared
    `long` on purpose (pyfunc refuses int64 for a double), and mlgate's server
    takes a null there anyway, so the hint is silenced, not the other warnings.
    """
    import warnings

    from mlflow.models import infer_signature

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Hint: Inferred schema contains integer column")
        return infer_signature(input_example, model.predict(input_example))


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
    signature = infer_model_signature(model, input_example)
    # run_id=, not `with mlflow.start_run(run_id)`: leaving that block marks the run FINISHED
    # before any verdict, so a session killed while registering left a "FINISHED" run.
    with fluent_store(settings.tracking_uri):
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
            tags=tag_values({**version_tags, TAG_VERDICT: VERDICT_GATING, TAG_GATING_SESSION: gating_session}),
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
            experiment_id(settings, client), run_name="import-champion", tags=run_tags
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
            tags=tag_values(version_tags),
        )
        client.set_terminated(run_id, status="FINISHED")
    except MlflowException as error:
        raise TrackingError(
            f"cannot register the bundle's model in {settings.tracking_uri}: {error.message}; "
            "check MLFLOW_TRACKING_URI"
        ) from None
    return str(registered.version)



def download_model(model_uri: str, destination: Path, tracking_uri: str) -> Path:
    destination.mkdir(parents=True, exist_ok=True)
    with fluent_store(tracking_uri):
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
