"""The candidate's fixtures: trained once, compiled, scored, profiled; the champion and the data verdict beside it.

Each fills its own pieces of the `Candidate` that promotion registers, and logs
what it measured to the session's run.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from mlgate.data import Dataset, Split
from mlgate.plugin.background import Background
from mlgate.plugin.candidate import Candidate, Findings
from mlgate.plugin.stash import OUTCOMES_KEY
from mlgate.plugin.verdict import incompleteness
from mlgate.sampling import gate_sample
from mlgate.settings import Settings
from mlgate.training import as_model_input, as_served_input


@pytest.fixture(scope="session")
def trained_model(
    dataset: Dataset, split: Split, settings: Settings, gate_run: str, candidate: Candidate, background: Background,
    pytestconfig,
):
    """The candidate, trained once; its parameters, its data's fingerprint and the code that defines it go on the run."""
    from mlgate import tracking
    from mlgate.data import fingerprint
    from mlgate.provenance import git_state, pipeline_source_sha256
    from mlgate.task import estimator_name, task_of
    from mlgate.training import train_model

    started = time.perf_counter()
    model = train_model(split.train, settings)
    params = {
        "dataset": settings.dataset_shown,
        "target": settings.target,
        "pipeline": settings.pipeline,
        "task": task_of(settings).task,
        "estimator": estimator_name(settings, task_of(settings).task),
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
        tracking.TAG_SPLIT: split.definition,
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


def _disagreement(model, compiled, frame, settings: Settings) -> str:
    """How the compiled model differs from scikit-learn beyond its tolerance on `frame`; empty when it does not."""
    from mlgate.evaluation.regression import value_parity
    from mlgate.serving.compiled import parity

    if compiled.task == "regression":
        values = value_parity(model, compiled, frame)
        return "" if values.within(settings.compiled_parity_rtol) else f"max relative difference {values.max_rel_diff:.3g}"
    checked = parity(model, compiled, frame)
    if checked.within(settings.compiled_parity_atol):
        return ""
    return f"{checked.label_mismatches} label(s) differ, max |probability difference| {checked.max_abs_proba_diff:.3g}"


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
    from mlgate.serving.compiled import Compilation
    from mlgate.serving.predict import engine_of

    started = time.perf_counter()
    try:
        result = compile_model(trained_model, candidate.input_example)
    except Exception as error:  # a bug in mlgate's compiler must not cost the user a promotion
        result = Compilation(None, f"mlgate's compiler failed ({type(error).__name__}: {error}); serving scikit-learn")
    if result.compiled is not None:
        # A check of the graph on rows it was built from, not a measure of the data: a seeded sample
        # of a large table finds a wrong graph as surely; the parity gates then check the holdout.
        rows = gate_sample(split.train.features, "compile check (training rows)", settings.gate_sample_rows,
                           settings.random_seed, findings.samples)
        why = _disagreement(trained_model, result.compiled, as_model_input(rows), settings)
        if why:
            result = Compilation(
                None, f"the compiled model disagrees with scikit-learn on the training rows ({why}); serving scikit-learn"
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
def holdout_answers(trained_model, holdout_frame):
    """The candidate's labels and probabilities on the holdout, computed once: scores, parity, profile and plots read them.

    On a large holdout each pass of the pipeline over it costs what a pass of
    training's preprocessing does; four readers made four.
    """
    from mlgate.evaluation.metrics import Answers

    return Answers.of(trained_model, holdout_frame)


@pytest.fixture(scope="session")
def holdout_metrics(
    trained_model, holdout_answers, split: Split, settings: Settings, gate_run: str, candidate: Candidate,
    findings: Findings, tmp_path_factory,
):
    """Holdout scores, logged with the reports and plots they come from."""
    from mlgate import tracking
    from mlgate.data import class_names
    from mlgate.evaluation.metrics import compute_metrics, write_plots, write_texts
    from mlgate.session.plots import plot_title

    metrics = compute_metrics(trained_model, split.holdout, holdout_answers)
    names = class_names(settings.dataset)
    reports_dir = tmp_path_factory.mktemp("reports")
    write_texts(metrics, reports_dir, names)  # plots cost seconds: drawn at promotion, titled with the version
    scalars = metrics.scalars()
    tracking.log_values(candidate.client, gate_run, metrics=scalars)
    tracking.log_files(candidate.client, gate_run, reports_dir, "reports")
    candidate.reports_dir = reports_dir
    candidate.quality = {k: scalars[k] for k in ("accuracy", "macro_f1", "roc_auc", "rmse", "mae", "r2") if k in scalars}
    candidate.draw_plots = lambda folder, version: write_plots(
        trained_model, split.holdout, metrics, folder, plot_title(settings.model_name, version, settings.dataset_shown), names,
        holdout_answers.proba,
    )
    findings.scores["candidate"] = scalars
    findings.class_names = names
    return metrics


@pytest.fixture(scope="session")
def drift_profile(trained_model, split: Split, holdout_answers, settings: Settings, gate_run: str, candidate: Candidate,
                  findings: Findings, tmp_path_factory):
    """The candidate's reference profile: training bins and shares, holdout predicted-label shares.

    Registered with the model and bundled, so a server watches drift against
    the data its model learned from; the next session's drift gate reads it.
    The model gates ask for it (gates/model/conftest.py), so every session that
    gates a model builds it; the perf gates serve the candidate with it (drift
    tracking on, as in production).
    """
    from mlgate import tracking
    from mlgate.monitoring.drift import PROFILE_FILE, build_profile

    from sklearn.base import is_regressor

    # Ten quantile bins and category shares are as well measured from a seeded sample of a large
    # table (PSI noise ~bins/rows) as from every row, at a fraction of the pass over it.
    rows = gate_sample(split.train.features, "drift profile (training rows)", settings.gate_sample_rows,
                       settings.random_seed, findings.samples)
    profile = build_profile(
        as_model_input(rows), holdout_answers.labels, bins=settings.drift_profile_bins, values=is_regressor(trained_model),
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
