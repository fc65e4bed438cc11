"""The gate session: train once, record every gate, promote only on a full green run.

Fixtures here are session-scoped so the model is trained, scored and logged
once however many gates read it. Each gate's outcome is collected from its
test reports; `pytest_sessionfinish` then decides, in one place, whether this
session may register a champion and write the bundle.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from gates.keys import SETTINGS_KEY
from gates.background import Background
from gates.session import LEDGER_KEY, GateLedger, finish_session
from model.data import DataError, Dataset, Split, check_target, split_holdout
from model.settings import Settings, SettingsError
from model.training import as_model_input, resolve_estimator

GATES_DIR = Path(__file__).parent
FAMILY_ORDER = {"model": 0, "data": 1, "perf": 2}


def pytest_configure(config: pytest.Config) -> None:
    settings = config.stash[SETTINGS_KEY]
    try:
        check_target(settings)
        resolve_estimator(settings.estimator, settings.estimator_params)
    except (SettingsError, DataError) as error:
        raise pytest.UsageError(f"mlgate: {error}") from None
    config.stash[LEDGER_KEY] = GateLedger(GATES_DIR)


# --- fixtures: each made once per session -------------------------------------------


@pytest.fixture(scope="session")
def ledger(pytestconfig: pytest.Config) -> GateLedger:
    """The session's record of gates, run and outputs, read again at session finish."""
    return pytestconfig.stash[LEDGER_KEY]


@pytest.fixture(scope="session")
def gate_run(settings: Settings, ledger: GateLedger) -> str:
    """The one MLflow run every gate of this session logs to."""
    from model import tracking

    ledger.client = tracking.client_for(settings)
    ledger.run_id = tracking.start_gate_run(settings, ledger.client)
    ledger.client.set_tag(ledger.run_id, "mlgate.gate_status", "running")
    ledger.client.set_tag(ledger.run_id, "mlgate.dataset", settings.dataset)
    return ledger.run_id


@pytest.fixture(scope="session")
def dataset(ledger: GateLedger) -> Dataset:
    """The whole table, read once at session start: the data gate judges what trains."""
    return ledger.background.dataset.result()


@pytest.fixture(scope="session")
def split(dataset: Dataset, settings: Settings) -> Split:
    """The seeded, stratified holdout every model gate scores on."""
    return split_holdout(dataset, settings.holdout_fraction, settings.random_seed)


@pytest.fixture(scope="session")
def holdout_frame(split: Split):
    """Holdout features in the form the model takes."""
    return as_model_input(split.holdout.features)


@pytest.fixture(scope="session")
def trained_model(split: Split, settings: Settings, gate_run: str, ledger: GateLedger):
    """The candidate, trained once; its parameters go on the run."""
    from model import tracking
    from model.training import train_model

    started = time.perf_counter()
    model = train_model(split.train, settings)
    params = {
        "dataset": settings.dataset,
        "target": settings.target,
        "estimator": settings.estimator,
        "holdout_fraction": settings.holdout_fraction,
        "random_seed": settings.random_seed,
        "train_rows": len(split.train.frame),
        "holdout_rows": len(split.holdout.frame),
        **{f"estimator.{k}": v for k, v in settings.estimator_params.items()},
    }
    tracking.log_values(ledger.client, gate_run, params=params, metrics={"train_seconds": time.perf_counter() - started})
    ledger.model = model
    ledger.background.compute_trusted_types(model)
    ledger.input_example = as_model_input(split.train.features.head(5))
    return model


@pytest.fixture(scope="session")
def holdout_metrics(trained_model, split: Split, gate_run: str, ledger: GateLedger, tmp_path_factory):
    """Holdout scores, logged with the reports and plots they come from."""
    from model import tracking
    from model.evaluation import compute_metrics, write_reports

    metrics = compute_metrics(trained_model, split.holdout)
    reports_dir = tmp_path_factory.mktemp("reports")
    write_reports(trained_model, split.holdout, metrics, reports_dir)
    tracking.log_values(ledger.client, gate_run, metrics=metrics.scalars())
    ledger.client.log_artifacts(gate_run, str(reports_dir), artifact_path="reports")
    ledger.reports_dir = reports_dir
    scalars = metrics.scalars()
    ledger.quality = {k: scalars[k] for k in ("accuracy", "macro_f1", "roc_auc") if k in scalars}
    return metrics


@pytest.fixture(scope="session")
def champion(settings: Settings, gate_run: str, ledger: GateLedger):
    """The registry's current `@champion`, or None before the first promotion."""
    from model import tracking

    champion = tracking.load_champion(settings, ledger.client)
    ledger.champion_seen = champion.version if champion is not None else None
    return champion


@pytest.fixture(scope="session")
def data_validation(dataset: Dataset, settings: Settings, gate_run: str, ledger: GateLedger, tmp_path_factory):
    """The suite run once on the whole table; each data gate reads one expectation."""
    validation = ledger.background.validation.result()
    if validation is None:
        return None
    path = tmp_path_factory.mktemp("validation") / "data_validation.json"
    path.write_text(json.dumps(validation.result_json, indent=2, default=str), encoding="utf-8")
    ledger.client.log_artifact(gate_run, str(path), artifact_path="data_validation")
    ledger.validation_json = path
    return validation


@pytest.fixture
def record_gate(record_property):
    """Put a gate's measured value and bound on its report row, run tag and JUnit case."""

    def record(value, threshold=None) -> None:
        record_property("gate_value", value)
        if threshold is not None:
            record_property("gate_threshold", threshold)

    return record


# --- hooks: collect outcomes, then promote or refuse ----------------------------------


def pytest_deselected(items) -> None:
    if items:
        ledger = items[0].config.stash.get(LEDGER_KEY, None)
        if ledger is not None:
            ledger.deselected += len(items)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # A gate parametrized over nothing (declared behaviour, for a dataset with no spec)
    # does not exist: pytest would collect it as a skip, and a skip blocks promotion.
    items[:] = [
        item
        for item in items
        if not any(
            str(mark.kwargs.get("reason", "")).startswith("got empty parameter set")
            for mark in item.iter_markers("skip")
        )
    ]
    # Model gates first, so the data gate's validation overlaps training.
    items.sort(key=lambda item: FAMILY_ORDER.get(Path(item.path).relative_to(GATES_DIR).parts[0], 9))


def pytest_collection_finish(session: pytest.Session) -> None:
    ledger = session.config.stash[LEDGER_KEY]
    ledger.collect(session.items)
    if ledger.collected:
        ledger.background = Background.start(session.config.stash[SETTINGS_KEY])


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call):
    # Called through item.ihook: this conftest sees only the items under gates/.
    report = yield
    item.config.stash[LEDGER_KEY].record(report)
    return report


# A wrapper that runs first: pytest-benchmark saves --benchmark-json before its own yield,
# and junitxml writes in its plain hook; both then land in the bundle this one has written.
@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int):
    finish_session(session, exitstatus)
    return (yield)


def pytest_terminal_summary(terminalreporter, exitstatus, config: pytest.Config) -> None:
    ledger = config.stash.get(LEDGER_KEY, None)
    if ledger is None or ledger.verdict is None:
        return
    terminalreporter.section("mlgate")
    for line in ledger.verdict:
        terminalreporter.write_line(line)
