"""Every mlgate setting, declared once: name, type, default and unit in the name.

Values come from, weakest first: the defaults below, `[tool.mlgate]` in the
project's pyproject.toml, `[tool.mlgate]` in a `--mlgate-config` file, then
command-line overrides. `MLFLOW_TRACKING_URI` picks the tracking store.
Strings become typed values here, at the boundary; a bad one is a
`SettingsError` that names the key, where it came from and what is allowed.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlgate.settings_parse import SettingsError, coerce, frozen, read_table, unknown_setting

__all__ = ["BUNDLED_PREFIX", "Settings", "SettingsError", "importable_from", "load_settings"]

BUNDLED_PREFIX = "sklearn:"
BUNDLED_DATASETS = ("breast_cancer", "iris", "wine")
DEFAULT_TRACKING_DB = "mlflow.db"


@dataclass(frozen=True)
class Settings:
    # --- data ---
    # `sklearn:<name>` for a bundled dataset, or a path to a CSV file.
    dataset: str = "sklearn:breast_cancer"
    # The label column; the bundled datasets call it `target`.
    target: str = "target"
    # Share of rows held out for the model gates: a row's side is fixed by a hash (evaluation/split.py).
    holdout_fraction: float = 0.2
    # Column whose value decides a row's side (an id); empty: the whole row's content decides it.
    split_key: str = ""
    # Seed for the estimator: the same data gives the same model (the split needs none).
    random_seed: int = 42
    # Folder holding one Great Expectations suite per dataset (`<dataset stem>.json`).
    expectations_dir: str = "gates/expectations"
    # "classification", "regression", or "auto": inferred from the target column (mlgate.task says how).
    task: str = "auto"

    # --- model ---
    # The function that builds the unfitted model, as `package.module:function`: it receives the
    # training features and these settings. The default, in model/pipeline.py, is the file to edit.
    pipeline: str = "model.pipeline:build_pipeline"
    # Any scikit-learn-API classifier or regressor class as `module.ClassName` (lightgbm, xgboost with the
    # `boosting` extra); the default pipeline ends in it. Left at this default, a regression task gets
    # sklearn.ensemble.RandomForestRegressor.
    estimator: str = "sklearn.ensemble.RandomForestClassifier"
    # Keyword arguments for the estimator (random_state is set from random_seed).
    estimator_params: Mapping[str, Any] = field(
        default_factory=lambda: frozen({"n_estimators": 100})
    )

    # --- model gates (fractions, 0..1) ---
    # Smallest holdout accuracy that passes. The four minimums suit the bundled breast-cancer data.
    min_holdout_accuracy: float = 0.90
    # Smallest holdout macro-F1 (the unweighted mean of each class's F1) that passes.
    min_macro_f1: float = 0.90
    # Smallest holdout ROC AUC (one-vs-rest, macro-averaged for more than two classes) that passes.
    min_roc_auc: float = 0.95
    # Smallest recall of any one class on the holdout that passes.
    min_class_recall: float = 0.85
    # Non-inferiority margin in accuracy: refused only when shown worse than the champion by more.
    champion_tolerance: float = 0.01
    # Margin per row for the paired proper scores (Brier, 0..2, and log loss, nats) versus the champion.
    champion_score_tolerance: float = 0.02
    # One-sided level of every paired champion test (Holm-adjusted over its decisions); below 0.5.
    champion_significance_level: float = 0.05
    # Calibration gate: largest paired log-loss excess over the champion, nats per row.
    calibration_tolerance_nats: float = 0.02
    # A threshold gate whose interval straddles its minimum: "pass" (refuse on evidence) or "refuse".
    threshold_straddle: str = "pass"
    # Two-sided confidence level of the threshold gates' intervals (Wilson, bootstrap).
    threshold_confidence_level: float = 0.95
    # Regression: smallest holdout R² (a fraction of the target's variance explained; 0 is the mean's).
    min_r2: float = 0.1
    # Regression: largest holdout RMSE, in the target's unit; inf: no limit (the gate is not collected).
    max_rmse: float = float("inf")
    # Regression: largest holdout MAE, in the target's unit; inf: no limit (the gate is not collected).
    max_mae: float = float("inf")
    # Examples hypothesis draws per behavioural gate in a gate session.
    behaviour_max_examples: int = 60
    # Largest |probability difference| between the compiled model and scikit-learn (labels must be equal).
    compiled_parity_atol: float = 1e-9
    # Largest |value difference| relative to scikit-learn's value for a compiled regressor.
    compiled_parity_rtol: float = 1e-9
    # Above this many rows, a gate that needs examples, not every row (compile check, perf requests,
    # drift profile), draws this many with random_seed; the gate report says which and of how many.
    gate_sample_rows: int = 10_000

    # --- slice gates (segments of the holdout; losses are 0/1 errors, or squared errors for a regressor) ---
    # Fewest holdout rows a segment needs to be searched or judged; a declared one with fewer is reported so.
    slice_min_rows: int = 50
    # Largest loss increase over the champion on a segment that still passes: 0.02 is 2 points of accuracy,
    # or for a regressor 2 % of the champion's holdout mean squared error (squared errors carry the target's unit).
    slice_tolerance: float = 0.02
    # False discovery rate of the slice tests (Benjamini-Hochberg over one-sided paired tests).
    slice_significance_level: float = 0.05
    # Quantile bins per numeric column when segments are searched.
    slice_bins: int = 5
    # Two-column conjunctions ranked on one half of the holdout and tested on the other.
    slice_candidates: int = 10
    # Declared slices, inline tables: {column = "channel"}, {column = "income", bins = [0, 2e4, inf]},
    # {columns = ["region", "channel"]}, {where = {channel = "phone"}, name = "..."}; min_accuracy, max_mean_loss.
    slices: tuple[Mapping[str, Any], ...] = ()

    # --- registry and outputs ---
    # The registered model a green session adds a version to and moves @champion in.
    model_name: str = "mlgate-classifier"
    # A claim to succeed the champion older than this belongs to a session that died between
    # claiming and crowning (a live one crowns in its next call); the next claim may take over.
    champion_claim_lease_seconds: float = 120.0
    # The MLflow experiment that holds every gate session's run.
    experiment_name: str = "mlgate"
    # The bundle written on a green session (the gate report alone on a red one).
    artifacts_dir: str = "artifacts"
    # A version left gating by a session on another host (whose process cannot be looked up) is
    # tagged abandoned after this long; registration to the alias move takes seconds.
    abandoned_after_seconds: float = 3600.0

    # --- serving and perf gates (seconds unless the name says otherwise) ---
    # Service-level objectives for one-row requests, on the machine the gates run on. A compiled
    # model answers in ~0.3 ms; these leave room for a pipeline that must be served by scikit-learn.
    serving_p50_budget_seconds: float = 0.025
    # p95 of one-row requests: see serving_p50_budget_seconds.
    serving_p95_budget_seconds: float = 0.040
    # p99 of one-row requests; also the MlgateP99LatencyOverBudget alert's threshold.
    serving_p99_budget_seconds: float = 0.050
    # Candidate p50 (and p99) over the champion's, both served side by side in the session. 2, not
    # 1.5: an unchanged compiled model's sub-millisecond p99 measured up to 1.48x its twin's under load.
    latency_regression_ratio_budget: float = 2.0
    # Server p50 minus the same model's in-process predict p50: what HTTP, parsing and batching add.
    serving_overhead_budget_seconds: float = 0.002
    # What the metrics middleware adds at p50 (paired requests with and without it). An absolute
    # budget: a compiled model answers in ~0.3 ms, so a ratio would judge the model's speed.
    exporter_overhead_budget_seconds: float = 0.0005
    # p99 of GET /metrics over HTTP: 1-9 ms measured up to load 9 on 2 cores, over 10 ms at load 13-16
    # with the render's CPU cost unchanged (docs: benchmarks, perf gates' false alarms). A costly render is far over.
    metrics_render_p99_budget_seconds: float = 0.025
    # What `mlgate sidecar` adds at p50 to a request it forwards.
    sidecar_overhead_budget_seconds: float = 0.005
    # How long each paired perf gate measures (a gate timing one server alone: half as long), up
    # to its most rounds. Longer makes the percentiles steadier and the session slower.
    perf_measure_seconds: float = 3.0
    # Largest /invocations body the server reads; larger gets 413.
    max_request_bytes: int = 10 * 1024 * 1024
    # After a 413 the server reads and drops the rest of the body, so a client that sends it all
    # before reading (urllib, http.client) gets the answer instead of a reset; up to this many
    # bytes or seconds, whichever comes first, then it closes on a client still sending.
    max_discarded_body_bytes: int = 256 * 1024 * 1024
    # The time bound of that discarding (see max_discarded_body_bytes).
    max_discard_seconds: float = 10.0
    # How long the server waits for concurrent requests to batch with.
    batch_window_seconds: float = 0.0003
    # Largest number of rows predicted in one micro-batch.
    max_batch_rows: int = 256
    # Alert when the error ratio of /invocations is above this (a fraction).
    max_error_ratio: float = 0.01

    # --- drift (PSI: 0.1 is conventionally a small shift, 0.25 a significant one) ---
    # Data gate: largest PSI of any feature of the candidate's training data against the champion's profile.
    max_training_drift_psi: float = 0.25
    # Alert MlgateFeatureDrift: a feature's PSI in the serving window above this for 15 minutes.
    max_serving_drift_psi: float = 0.25
    # Alert MlgatePredictionShift: a predicted label's share in the window this far from its holdout share.
    max_prediction_share_shift: float = 0.2
    # Quantile bins per numeric feature in the profile (plus open outer ends and a missing bin).
    drift_profile_bins: int = 10
    # The serving window: a row scored this long ago weighs half as much as one scored now.
    drift_window_half_life_seconds: float = 600.0
    # Below this many (decayed) rows in the window, PSI and shares read NaN: a tiny window is noise.
    drift_min_window_rows: int = 200

    # --- batch scoring (`mlgate score`) ---
    # Rows read, predicted and written at a time: memory grows with this, not with the file's length.
    score_chunk_rows: int = 100_000

    # --- derived, never read from TOML ---
    # From MLFLOW_TRACKING_URI, else the SQLite file in the working folder.
    tracking_uri: str = ""
    # The dataset as the user gave it (a relative path stays relative): what reports show.
    dataset_as_given: str = ""

    @property
    def is_bundled_dataset(self) -> bool:
        return self.dataset.startswith(BUNDLED_PREFIX)

    @property
    def dataset_name(self) -> str:
        """A short name for the dataset: names its expectation suite and runs."""
        if self.is_bundled_dataset:
            return self.dataset.removeprefix(BUNDLED_PREFIX)
        return Path(self.dataset).stem

    @property
    def dataset_shown(self) -> str:
        """The dataset for reports, tags and messages: as given, not as resolved on this machine."""
        return self.dataset_as_given or self.dataset

    @property
    def suite_path(self) -> Path:
        return Path(self.expectations_dir) / f"{self.dataset_name}.json"

    @property
    def champion_uri(self) -> str:
        return f"models:/{self.model_name}@champion"


_DERIVED = {"tracking_uri", "dataset_as_given"}
_FIELDS = {f.name: f for f in dataclasses.fields(Settings) if f.name not in _DERIVED}
_PATHS = {"dataset", "expectations_dir", "artifacts_dir"}


def _check_dataset(value: str) -> None:
    if value.startswith(BUNDLED_PREFIX):
        name = value.removeprefix(BUNDLED_PREFIX)
        if name not in BUNDLED_DATASETS:
            allowed = ", ".join(BUNDLED_PREFIX + n for n in BUNDLED_DATASETS)
            raise SettingsError(
                f"dataset '{value}' is not a bundled dataset; use one of {allowed} "
                "or the path of a CSV file"
            )
        return
    path = Path(value)
    if not path.is_file():
        raise SettingsError(
            f"dataset file {path} does not exist; pass --dataset with the path of a "
            "CSV file (or 'sklearn:breast_cancer')"
        )


def load_settings(
    pyproject: Path | None = None,
    config_file: Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    workdir: Path | None = None,
) -> Settings:
    """Settings from the layers named in the module docstring, checked and typed."""
    environ = os.environ if environ is None else environ
    workdir = Path.cwd() if workdir is None else workdir
    layers: list[tuple[str, Mapping[str, Any]]] = []
    if pyproject is not None:
        layers.append((f"[tool.mlgate] in {pyproject}", read_table(pyproject, required=False)))
    if config_file is not None:
        layers.append((f"[tool.mlgate] in {config_file}", read_table(config_file, required=True)))
    layers.append(("the command line", {k: v for k, v in (overrides or {}).items() if v is not None}))

    values: dict[str, Any] = {}
    for source, table in layers:
        for name, raw in table.items():
            if name not in _FIELDS:
                raise unknown_setting(name, source, list(_FIELDS))
            values[name] = coerce(_FIELDS[name], raw, source)

    settings = Settings(**values)
    as_given = settings.dataset
    resolved = {
        name: str(workdir / getattr(settings, name))
        for name in _PATHS
        if not getattr(settings, name).startswith(BUNDLED_PREFIX)
        and not Path(getattr(settings, name)).is_absolute()
    }
    settings = dataclasses.replace(settings, **resolved)
    _check_dataset(settings.dataset)
    tracking_uri = environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{workdir / DEFAULT_TRACKING_DB}"
    return dataclasses.replace(settings, tracking_uri=tracking_uri, dataset_as_given=as_given)


def importable_from(root: Path) -> None:
    """Make the project's own modules (model/pipeline.py) importable, as `python -m` would from its folder.

    The `mlgate` console script and the pytest plugin start outside the project's
    folder on sys.path; the pipeline and any type a logged model holds live there.
    """
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
