"""The gate session: train once, record every gate, promote only on a full green run.

Fixtures here are session-scoped so the model is trained, scored and logged
once however many gates read it. Each fixture fills its own pieces of the
`Candidate` (candidate.py); `GateOutcomes` observes every gate's report;
`pytest_sessionfinish` then decides, in verdict.py, whether this session
may register a champion and write the bundle. Registered by the plugin
(`mlgate.plugin`) only when the session names the gates folder.
"""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from mlgate.plugin.background import Background
from mlgate.plugin.candidate import Candidate, Findings
from mlgate.plugin.outcomes import GateOutcomes
from mlgate.plugin.stash import (
    BACKGROUND_KEY,
    CANDIDATE_KEY,
    FINDINGS_KEY,
    OUTCOMES_KEY,
    SCOREBOARD_KEY,
    SETTINGS_KEY,
    VERDICT_KEY,
)
from mlgate.plugin.verdict import finish_session
from mlgate.data import DataError, Dataset, Split, check_target, read_sample, split_holdout
from mlgate.plugin.layout import gates_dir
from mlgate.settings import Settings, SettingsError, importable_from, load_settings
from mlgate.training import as_model_input, check_pipeline, resolve_pipeline

# Start-up imports (scikit-learn, pandas, mlflow) leave ~600k long-lived objects and almost no
# garbage cycles, yet every full collection walks all of them: 0.1-0.25 s each, over 1.5 s of a
# session. Collection waits until the session is configured; then everything loaded so far is
# moved out of later collections (gc.freeze), again once the store is open (gate_run), and at
# session finish, before promotion and the collections of pytest's teardown and of the exit.
gc.disable()

FAMILY_ORDER = {"model": 0, "data": 1, "perf": 2}
FAMILY_FIXTURES = {"model": "candidate_drift_profile", "perf": "frozen_heap"}
# A gate that does not exist for this dataset (declared behaviour without a spec):
# dropped at collection, because a skipped gate blocks promotion.
NOT_DECLARED = "mlgate_not_declared"


def distributed(config: pytest.Config) -> str:
    """The pytest-xdist option that would spread this session over processes; empty when none does."""
    if hasattr(config, "workerinput"):
        return "an xdist worker"
    if getattr(config.option, "numprocesses", None):
        return f"-n {config.option.numprocesses}"
    if getattr(config.option, "tx", None):
        return "--tx"
    if getattr(config.option, "dist", "no") != "no":
        return f"--dist {config.option.dist}"
    return ""


def _load_settings(config: pytest.Config) -> Settings:
    """Settings parsed once, before collection: a bad value is one usage error, not a traceback later."""
    config_file = config.getoption("mlgate_config")
    overrides = {
        "dataset": config.getoption("mlgate_dataset"),
        "target": config.getoption("mlgate_target"),
        "model_name": config.getoption("mlgate_model_name"),
    }
    try:
        return load_settings(
            pyproject=config.rootpath / "pyproject.toml",
            config_file=Path(config_file) if config_file else None,
            overrides=overrides,
            workdir=config.rootpath,
        )
    except SettingsError as error:
        raise pytest.UsageError(f"mlgate: {error}") from None


def pytest_configure(config: pytest.Config) -> None:
    from mlgate import tracking
    import mlgate.plugin.candidate_fixtures as candidate_fixtures
    import mlgate.plugin.model_fixtures as model_fixtures
    import mlgate.plugin.perf_fixtures as perf_fixtures
    import mlgate.plugin.slice_fixtures as slice_fixtures

    settings = config.stash[SETTINGS_KEY] = _load_settings(config)
    importable_from(config.rootpath)
    # MLflow and Great Expectations warn about their own internals: noise in a team's gate report.
    for category in ("DeprecationWarning", "FutureWarning"):
        config.addinivalue_line("filterwarnings", f"ignore::{category}")
    spread = distributed(config)
    if spread:  # refused before any worker starts, any store opens or any gate is collected
        raise pytest.UsageError(
            f"mlgate: a gate session runs in one process, so {spread} (pytest-xdist) is refused: each worker "
            "would train its own model, no process would see every gate's verdict to promote on, and the perf "
            "gates would time the server on cores the other workers are using. Run `pytest gates/` without -n; "
            "it already validates the data on the other core while the model trains."
        )
    try:
        check_target(settings)
        try:
            sample = read_sample(settings.dataset, settings.target)
        except DataError:  # rows the data gate will name; the function is still imported here
            resolve_pipeline(settings.pipeline)
        else:
            check_pipeline(sample, settings)
    except (SettingsError, DataError) as error:
        raise pytest.UsageError(f"mlgate: {error}") from None
    tracking.quiet_progress_bars()
    tracking.fail_fast_on_a_lost_server()
    outcomes = GateOutcomes(gates_dir(config), config.rootpath)
    config.pluginmanager.register(outcomes, "mlgate-gate-outcomes")
    config.stash[OUTCOMES_KEY] = outcomes
    config.stash[CANDIDATE_KEY] = Candidate()
    config.stash[FINDINGS_KEY] = Findings()
    config.pluginmanager.register(candidate_fixtures, "mlgate-candidate-fixtures")
    config.pluginmanager.register(model_fixtures, "mlgate-model-fixtures")
    config.pluginmanager.register(perf_fixtures, "mlgate-perf-fixtures")
    config.pluginmanager.register(slice_fixtures, "mlgate-slice-fixtures")
    gc.freeze()
    gc.enable()


# --- fixtures: each made once per session -------------------------------------------


@pytest.fixture(scope="session")
def settings(pytestconfig: pytest.Config) -> Settings:
    """Every knob of the session, typed and checked once at start-up."""
    return pytestconfig.stash[SETTINGS_KEY]


@pytest.fixture(scope="session")
def candidate(pytestconfig: pytest.Config) -> Candidate:
    """What promotion will register: each fixture below fills its own pieces of it."""
    return pytestconfig.stash[CANDIDATE_KEY]


@pytest.fixture(scope="session")
def findings(pytestconfig: pytest.Config) -> Findings:
    """What gates measure for the report (champion comparison, perf numbers)."""
    return pytestconfig.stash[FINDINGS_KEY]


@pytest.fixture(scope="session")
def gate_run(settings: Settings, candidate: Candidate, findings: Findings) -> str:
    """The one MLflow run every gate of this session logs to; versions dead sessions left gating are marked."""
    from mlgate import tracking
    from mlgate.session.abandoned import mark_abandoned

    candidate.client = tracking.client_for(settings)
    candidate.run_id = tracking.start_gate_run(settings, candidate.client)
    findings.abandoned = {found.version: found.why for found in mark_abandoned(settings, candidate.client)}
    gc.freeze()  # the store is open: mlflow's database models join what start-up loaded (see gc.disable above)
    return candidate.run_id


@pytest.fixture(scope="session")
def background(pytestconfig: pytest.Config) -> Background:
    """Reading the data and validating it, started at collection so it overlaps training."""
    return pytestconfig.stash[BACKGROUND_KEY]


@pytest.fixture(scope="session")
def dataset(background: Background) -> Dataset:
    """The whole table, read once at session start: the data gate judges what trains."""
    return background.dataset.result()


@pytest.fixture(scope="session")
def split(dataset: Dataset, settings: Settings, findings: Findings) -> Split:
    """The stable holdout every model gate scores on: a row keeps its side as data grows (by label, or a regression's target)."""
    from mlgate.task import task_of

    choice = task_of(settings)
    made = split_holdout(dataset, settings.holdout_fraction, key=settings.split_key, task=choice.task)
    findings.task = {"task": choice.task, "why": choice.why, "rows_without_target": made.rows_without_target}
    findings.split = {"definition": made.definition, "train_rows": len(made.train.frame),
                      "holdout_rows": len(made.holdout.frame)}
    return made


@pytest.fixture(scope="session")
def holdout_frame(split: Split):
    """Holdout features in the form the model takes."""
    return as_model_input(split.holdout.features)


@pytest.fixture
def record_gate(record_property):
    """Put a gate's measured value and bound on its report row, run tag and JUnit case."""

    def record(value, threshold=None) -> None:
        record_property("gate_value", value)
        if threshold is not None:
            record_property("gate_threshold", threshold)

    return record


@pytest.fixture(autouse=True)
def family_needs(request: pytest.FixtureRequest) -> None:
    """What a gate's family needs around it: a model gate, the drift profile that promotion registers
    (so a gate set without the perf family still promotes); a perf gate, the session's heap frozen.

    A fixture, not a usefixtures mark added at collection: pytest has fixed each
    item's fixtures by then, and such a mark is silently ignored.
    """
    needs = FAMILY_FIXTURES.get(request.config.stash[OUTCOMES_KEY].family(request.node))
    if needs:
        request.getfixturevalue(needs)


# --- hooks: order the gates, start the background work, decide at the end -------------


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    items[:] = [item for item in items if item.get_closest_marker(NOT_DECLARED) is None]
    outcomes = config.stash[OUTCOMES_KEY]
    # Model gates first, so the data gate's validation overlaps training.
    items.sort(key=lambda item: FAMILY_ORDER.get(outcomes.family(item), 9))


def pytest_collection_finish(session: pytest.Session) -> None:
    outcomes = session.config.stash[OUTCOMES_KEY]
    outcomes.collect(session.items)
    if outcomes.collected:
        data_gates = any(family == "data" for family, _ in outcomes.collected.values())
        session.config.stash[BACKGROUND_KEY] = Background.start(session.config.stash[SETTINGS_KEY], validate=data_gates)


# A wrapper that runs first: pytest-benchmark saves --benchmark-json before its own yield,
# and junitxml writes in its plain hook; both then land in the bundle this one has written.
@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int):
    gc.freeze()
    finish_session(session, exitstatus)
    return (yield)


def pytest_exception_interact(node, call, report) -> None:
    """A lost tracking server ends the session at the first gate that needed it, with one message.

    Every later gate would error on the same dead server with a traceback of its
    own; the verdict (nothing promoted) is still reached in pytest_sessionfinish.
    Stopping from this hook is how pytest's own debugger quits a session.
    """
    from mlgate import tracking

    lost = tracking.unreachable(call.excinfo.value, node.config.stash[SETTINGS_KEY].tracking_uri)
    if lost:
        report.longrepr = lost
        pytest.exit(lost, returncode=pytest.ExitCode.TESTS_FAILED)


# The outermost wrapper, written after its yield: after pytest-benchmark's tables and pytest's
# short summary, so the verdict and the scoreboard are the last thing before the closing line.
@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_terminal_summary(terminalreporter, exitstatus, config: pytest.Config):
    result = yield
    verdict = config.stash.get(VERDICT_KEY, None)
    if verdict:
        terminalreporter.section("mlgate")
        for line in [*verdict, *config.stash.get(SCOREBOARD_KEY, [])]:
            terminalreporter.write_line(line)
    return result
