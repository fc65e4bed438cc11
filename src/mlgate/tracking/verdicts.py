"""The data gate's verdicts, recorded in the store so a later session with the same inputs reuses them."""

from __future__ import annotations

import tempfile
from pathlib import Path

from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from mlgate.settings import Settings
from mlgate.tracking.runs import set_tags
from mlgate.tracking.store import client_for
from mlgate.tracking.tags import DATA_VERDICT_ARTIFACT, TAG_DATA_VERDICT_FROM, TAG_DATA_VERDICT_KEY


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
