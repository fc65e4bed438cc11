"""The history of a registered model: its versions and their runs, in few round trips."""

from __future__ import annotations

from dataclasses import dataclass

from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from mlgate.tracking.registry import versions_of
from mlgate.tracking.store import TrackingError

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
        page = client.search_model_versions(versions_of(name), max_results=VERSIONS_PAGE_SIZE, page_token=token)
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
