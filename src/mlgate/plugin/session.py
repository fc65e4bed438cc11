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
import json
import time
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
from mlgate.plugin.verdict import finish_session, incompleteness
from mlgate.data import DataError, Dataset, Split, check_target, read_sample, split_holdout
from mlgate.plugin.layout import gates_dir
from mlgate.settings import Settings, SettingsError, importable_from, load_settings
from mlgate.training import as_model_input, as_served_input, check_pipeline, resolve_pipeline

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
    import mlgate.plugin.model_fixtures as model_fixtures
    import mlgate.plugin.perf_fixtures as perf_fixtures

    settings = config.stash[SETTINGS_KEY] = _load_settings(config)
    importable_from(config.rootpath)
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
    config.pluginmanager.register(model_fixtures, "mlgate-model-fixtures")
    config.pluginmanager.register(perf_fixtures, "mlgate-perf-fixtures")
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
def split(dataset: Dataset, settings: Settings) -> Split:
    """The seeded, stratified holdout every model gate scores on."""
    return split_holdout(dataset, settings.holdout_fraction, settings.random_seed)


@pytest.fixture(scope="session")
def holdout_frame(split: Split):
    """Holdout features in the form the model takes."""
    return as_model_input(split.holdout.features)


@pytest.fixture(scope="session")
def trained_model(
    dataset: Dataset, split: Split, settings: Settings, gate_run: str, candidate: Candidate, background: Background,
    pytestconfig,
):
    """The candidate, trained once; its parameters, its data's fingerprint and the code that defines it go on the run."""
    from mlgate import tracking
    from mlgate.data import fingerprint
    from mlgate.provenance import git_state, pipeline_source_sha256
    from mlgate.training import train_model

    started = time.perf_counter()
    model = train_model(split.train, settings)
    params = {
        "dataset": settings.dataset_shown,
        "target": settings.target,
        "pipeline": settings.pipeline,
        "estimator": settings.estimator,
        "holdout_fraction": settings.holdout_fraction,
        "random_seed": settings.random_seed,
        "train_rows": len(split.train.frame),
        "holdout_rows": len(split.holdout.frame),
        **{f"estimator.{k}": v for k, v in settings.estimator_params.items()},
    }
    metrics = {"train_seconds": time.perf_counter() - started}
    tracking.log_values(candidate.client, gate_run, params=params, metrics=metrics)
    code = {
        tracking.TAG_PIPELINE: settings.pipeline,
        tracking.TAG_PIPELINE_SOURCE_SHA256: pipeline_source_sha256(settings.pipeline),
        # The data behind this run, for `mlgate history`: the whole table as the session read it.
        tracking.TAG_DATA_FINGERPRINT: fingerprint(dataset.frame),
    }
    git = git_state(pytestconfig.rootpath)
    if git is not None:
        code |= {tracking.TAG_GIT_COMMIT: git.commit, tracking.TAG_GIT_DIRTY: str(git.dirty).lower()}
    tracking.set_tags(candidate.client, gate_run, code)
    candidate.model = model
    candidate.input_example = as_served_input(split.train.features.head(5))
    if not incompleteness(pytestconfig, pytestconfig.stash[OUTCOMES_KEY]):  # only a whole gate set promotes
        background.compute_trusted_types(model, tracking.user_code(settings))
    return model


@pytest.fixture(scope="session")
def compilation(trained_model, split: Split, settings: Settings, gate_run: str, candidate: Candidate, findings: Findings):
    """The candidate compiled to ONNX for serving, or why not: what the server will run.

    A pipeline step without a converter, or a compiled model that disagrees with
    scikit-learn on the training rows, leaves the session serving scikit-learn
    and says so; it does not block promotion. The parity gate then holds the
    compiled model to `compiled_parity_atol` on rows it was not checked on.
    """
    from mlgate import tracking
    from mlgate.compiler.translate import compile_model
    from mlgate.serving.compiled import Compilation, parity
    from mlgate.serving.predict import engine_of

    started = time.perf_counter()
    try:
        result = compile_model(trained_model, candidate.input_example)
    except Exception as error:  # a bug in mlgate's compiler must not cost the user a promotion
        result = Compilation(None, f"mlgate's compiler failed ({type(error).__name__}: {error}); serving scikit-learn")
    if result.compiled is not None:
        checked = parity(trained_model, result.compiled, as_model_input(split.train.features))
        if not checked.within(settings.compiled_parity_atol):
            result = Compilation(
                None,
                f"the compiled model disagrees with scikit-learn on the training rows ({checked.label_mismatches} "
                f"label(s) differ, max |probability difference| {checked.max_abs_proba_diff:.3g}); serving "
                "scikit-learn",
            )
    candidate.compilation = result
    findings.serving = {
        "engine": engine_of(result),
        "precision": result.compiled.precision if result.compiled is not None else "",
        "compile_skipped_because": result.skipped_because,
    }
    tracking.set_tags(candidate.client, gate_run, {
        tracking.TAG_SERVING_ENGINE: findings.serving["engine"],
        **({tracking.TAG_COMPILE_SKIPPED_BECAUSE: result.skipped_because} if result.skipped_because else {}),
    })
    tracking.log_values(candidate.client, gate_run, metrics={"compile_seconds": time.perf_counter() - started})
    return result


@pytest.fixture(scope="session")
def holdout_metrics(
    trained_model, split: Split, settings: Settings, gate_run: str, candidate: Candidate, findings: Findings, tmp_path_factory
):
    """Holdout scores, logged with the reports and plots they come from."""
    from mlgate import tracking
    from mlgate.data import class_names
    from mlgate.evaluation.metrics import compute_metrics, write_plots, write_texts
    from mlgate.session.plots import plot_title

    metrics = compute_metrics(trained_model, split.holdout)
    names = class_names(settings.dataset)
    reports_dir = tmp_path_factory.mktemp("reports")
    write_texts(metrics, reports_dir, names)  # plots cost seconds: drawn at promotion, titled with the version
    scalars = metrics.scalars()
    tracking.log_values(candidate.client, gate_run, metrics=scalars)
    tracking.log_files(candidate.client, gate_run, reports_dir, "reports")
    candidate.reports_dir = reports_dir
    candidate.quality = {k: scalars[k] for k in ("accuracy", "macro_f1", "roc_auc") if k in scalars}
    candidate.draw_plots = lambda folder, version: write_plots(
        trained_model, split.holdout, metrics, folder, plot_title(settings.model_name, version, settings.dataset_shown), names
    )
    findings.scores["candidate"] = scalars
    findings.class_names = names
    return metrics


@pytest.fixture(scope="session")
def drift_profile(trained_model, split: Split, holdout_frame, settings: Settings, gate_run: str, candidate: Candidate,
                  tmp_path_factory):
    """The candidate's reference profile: training bins and shares, holdout predicted-label shares.

    Registered with the model and bundled, so a server watches drift against
    the data its model learned from; the next session's drift gate reads it.
    The model gates ask for it (gates/model/conftest.py), so every session that
    gates a model builds it; the perf gates serve the candidate with it (drift
    tracking on, as in production).
    """
    from mlgate import tracking
    from mlgate.monitoring.drift import PROFILE_FILE, build_profile

    profile = build_profile(
        as_model_input(split.train.features), trained_model.predict(holdout_frame), bins=settings.drift_profile_bins
    )
    path = tmp_path_factory.mktemp("profile") / PROFILE_FILE
    path.write_text(profile.to_json(), encoding="utf-8")
    tracking.log_files(candidate.client, gate_run, path, "drift")
    candidate.drift_profile = path
    return profile


@pytest.fixture(scope="session")
def champion(settings: Settings, gate_run: str, candidate: Candidate):
    """The registry's current `@champion`, or None before the first promotion."""
    from mlgate import tracking
    from mlgate.monitoring.drift import ProfileError

    try:
        champion, unreadable = tracking.load_champion(settings, candidate.client), None
    except ProfileError as error:
        unreadable = str(error)
    if unreadable:  # every gate that compares with the champion fails with this one line, no traceback
        pytest.fail(
            f"the champion's drift profile cannot be read: {unreadable}; make a sound model the champion: "
            "import a green bundle (mlgate import-champion PATH) or move @champion to another version",
            pytrace=False,
        )
    candidate.champion_seen = champion.version if champion is not None else None
    return champion


@pytest.fixture(scope="session")
def data_validation(
    dataset: Dataset, gate_run: str, candidate: Candidate, findings: Findings, background: Background, tmp_path_factory
):
    """The suite run once on the whole table (or its verdict reused from the store); each data gate reads one expectation."""
    from mlgate import tracking

    verdict = background.validation.result()
    validation = verdict.validation
    if validation is None:
        return None
    folder = tmp_path_factory.mktemp("validation")
    path = folder / "data_validation.json"
    path.write_text(json.dumps(validation.result_json, indent=2, default=str), encoding="utf-8")
    tracking.log_files(candidate.client, gate_run, path, "data_validation")
    whole = folder / Path(tracking.DATA_VERDICT_ARTIFACT).name
    whole.write_text(validation.to_json(), encoding="utf-8")
    tracking.record_data_verdict(candidate.client, gate_run, verdict.key, whole, verdict.cached_from)
    findings.data_verdict = {"key": verdict.key, "cached_from": verdict.cached_from}
    candidate.validation_json = path
    return validation


@pytest.fixture
def record_gate(record_property):
    """Put a gate's measured value and bound on its report row, run tag and JUnit case."""

    def record(value, threshold=None) -> None:
        record_property("gate_value", value)
        if threshold is not None:
            record_property("gate_threshold", threshold)

    return record


# --- hooks: order the gates, start the background work, decide at the end -------------


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    items[:] = [item for item in items if item.get_closest_marker(NOT_DECLARED) is None]
    outcomes = config.stash[OUTCOMES_KEY]
    for item in items:
        # What the family needs around every gate: a model family builds the drift profile that
        # promotion registers; a perf family measures with the session's heap frozen.
        needs = FAMILY_FIXTURES.get(outcomes.family(item))
        if needs:
            item.add_marker(pytest.mark.usefixtures(needs))
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
