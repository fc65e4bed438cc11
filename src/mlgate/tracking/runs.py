"""The gate run: opening it, logging params, metrics, files and tags on it, and finishing it."""

from __future__ import annotations

import os
import time
from pathlib import Path

from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from mlgate.settings import Settings
from mlgate.tracking.store import TrackingError
from mlgate.tracking.tags import MAX_TAG_CHARS, STATUS_RUNNING, TAG_DATASET, TAG_GATE_STATUS


def start_gate_run(settings: Settings, client: MlflowClient) -> str:
    """One run for the whole session; `mlflow run` hands us its own in MLFLOW_RUN_ID."""
    run_id = os.environ.get("MLFLOW_RUN_ID")
    try:
        if run_id:
            client.get_run(run_id)
            set_tags(client, run_id, {TAG_GATE_STATUS: STATUS_RUNNING, TAG_DATASET: settings.dataset_shown})
            return run_id
        run = client.create_run(
            experiment_id(settings, client),
            run_name=f"gates-{settings.dataset_name}",
            tags={TAG_GATE_STATUS: STATUS_RUNNING, TAG_DATASET: settings.dataset_shown},
        )
    except MlflowException as error:
        raise TrackingError(
            f"cannot open a run on the tracking store {settings.tracking_uri}: {error.message}; "
            "check MLFLOW_TRACKING_URI"
        ) from None
    return run.info.run_id


def experiment_id(settings: Settings, client: MlflowClient) -> str:
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



def set_tags(client: MlflowClient, run_id: str, tags: dict[str, str]) -> None:
    """Many tags in batches of 100, MLflow's per-request limit."""
    from mlflow.entities import RunTag

    items = [RunTag(k, str(v)[:MAX_TAG_CHARS]) for k, v in tags.items()]
    for start in range(0, len(items), 100):
        client.log_batch(run_id, tags=items[start : start + 100])
