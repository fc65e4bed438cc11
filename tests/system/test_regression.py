"""Regression sessions end to end: scikit-learn's diabetes data as a user's CSV, real gate sessions.

`diabetes` is one copy of the project gating a regressor on the diabetes table
(`progression`, 214 distinct numbers), with a categorical `sex` with gaps and
missing `bmi` values. Its first session promotes a forest regressor at the default
thresholds; the next one gates a mean-predicting candidate after that champion.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.support.project import Project

pytestmark = pytest.mark.slow

TIMEOUT_SECONDS = 400
MODEL_NAME = "diabetes-regressor"
MEAN_PIPELINE = '''"""A candidate that predicts the training mean: what every regressor must beat."""

from sklearn.dummy import DummyRegressor


def build(features, settings):
    return DummyRegressor(strategy="mean")
'''


def write_diabetes(path: Path) -> None:
    from sklearn.datasets import load_diabetes

    frame = load_diabetes(as_frame=True, scaled=False).frame.rename(columns={"target": "progression"})
    rng = np.random.default_rng(7)
    frame["sex"] = frame["sex"].map({1.0: "female", 2.0: "male"}).astype(object)
    frame.loc[rng.random(len(frame)) < 0.08, "sex"] = None
    frame.loc[rng.random(len(frame)) < 0.05, "bmi"] = np.nan
    frame.to_csv(path, index=False)


def gate_report(project: Project) -> dict:
    return json.loads((project.artifacts / "gate_report.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def diabetes(tmp_path_factory, make_project) -> Project:
    """One copy with the diabetes CSV and its drafted suite: the sessions below build on each other."""
    project = make_project(tmp_path_factory.mktemp("diabetes") / "project")
    write_diabetes(project.root / "diabetes.csv")
    drafted = project.run(sys.executable, "-m", "mlgate", "expectations", "--dataset", "diabetes.csv",
                          "--target", "progression", timeout=TIMEOUT_SECONDS)
    assert drafted.returncode == 0, drafted.stdout + drafted.stderr
    return project


def regression_args(project: Project, **extra) -> list[str]:
    settings = {"dataset": "diabetes.csv", "target": "progression", "task": "regression", "model_name": MODEL_NAME}
    return ["--mlgate-config", str(project.write_config(**(settings | extra)))]


def test_forest_regressor_goes_green_and_promotes_at_default_thresholds(diabetes, tracking_store):
    result = diabetes.run_gates(*regression_args(diabetes), timeout=TIMEOUT_SECONDS)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    assert tracking_store(diabetes.tracking_uri).champion_version(MODEL_NAME) == "1"
    report = gate_report(diabetes)
    assert report["promoted"]
    names = {g["name"] for g in report["gates"]}
    assert {"test_regressor_beats_mean_baseline", "test_r2_meets_minimum", "test_regressor_not_worse_than_champion"} <= names
    # Classification gates do not exist for a regressor; unset unit limits are no gates either.
    assert not names & {"test_holdout_accuracy_meets_minimum", "test_candidate_not_worse_than_champion", "test_rmse_within_limit"}
    assert report["task"]["task"] == "regression"
    assert report["serving"]["engine"] == "onnxruntime"  # the forest regressor compiled, parity gates green
    assert set(report["scores"]["candidate"]) >= {"rmse", "mae", "r2"}
    for metric in ("rmse", "mae", "r2"):  # the terminal scoreboard
        assert any(line.strip().startswith(metric) for line in result.stdout.splitlines()), result.stdout
    for name in ("regression_report.txt", "predicted_vs_actual.png", "residuals.png"):
        assert (diabetes.artifacts / name).is_file(), name


def test_mean_predicting_candidate_is_refused_by_the_champion_gate(diabetes, tracking_store):
    (diabetes.root / "mean_model.py").write_text(MEAN_PIPELINE, encoding="utf-8")
    result = diabetes.run_gates(*regression_args(diabetes, pipeline="mean_model:build"), timeout=TIMEOUT_SECONDS)
    out = result.stdout + result.stderr
    assert result.returncode == 1, out
    assert tracking_store(diabetes.tracking_uri).champion_version(MODEL_NAME) == "1"
    report = gate_report(diabetes)
    failed = {g["name"]: g["message"] for g in report["gates"] if g["status"] == "failed"}
    assert "test_regressor_not_worse_than_champion" in failed, failed
    assert "test_regressor_beats_mean_baseline" in failed, failed
    comparison = report["comparison"]
    assert comparison["candidate_rmse"] > comparison["champion_rmse"] > 0
    markdown = (diabetes.artifacts / "gate_report.md").read_text(encoding="utf-8")
    assert f"{comparison['champion_rmse']:.6g}" in failed["test_regressor_not_worse_than_champion"]
    assert "| rmse |" in markdown


def test_history_shows_regression_scores(diabetes):
    result = diabetes.run(sys.executable, "-m", "mlgate", "history", "--model-name", MODEL_NAME, timeout=TIMEOUT_SECONDS)
    assert result.returncode == 0, result.stdout + result.stderr
    history = next(diabetes.root.rglob("history.md")).read_text(encoding="utf-8")
    assert "| RMSE | MAE | R² |" in history


def test_classifier_for_a_regression_task_is_one_usage_error(diabetes):
    args = regression_args(diabetes, estimator="sklearn.linear_model.LogisticRegression", estimator_params={})
    result = diabetes.run_gates(*args, timeout=TIMEOUT_SECONDS)
    assert result.returncode == pytest.ExitCode.USAGE_ERROR, result.stdout + result.stderr
    errors = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(errors) == 1 and "Traceback" not in result.stdout + result.stderr, result.stderr
    assert "'estimator'" in errors[0] and "a classifier, but the task is regression" in errors[0]


def test_auto_infers_regression_on_a_float_target_and_says_so(diabetes):
    args = regression_args(diabetes, task="auto", model_name="diabetes-auto")
    result = diabetes.run_gates(*args, "gates/model", "-k", "r2", timeout=TIMEOUT_SECONDS)
    out = result.stdout + result.stderr
    assert "Task: regression (target 'progression' has 214 distinct values" in result.stdout, out
    assert 'task = "auto"' in result.stdout
    assert gate_report(diabetes)["task"]["task"] == "regression"
