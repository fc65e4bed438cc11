"""Regression sessions end to end: scikit-learn's diabetes data as a user's CSV, real gate sessions.

`diabetes` is one copy of the project gating a regressor on the diabetes table
(`progression`, 214 distinct numbers), with a categorical `sex` with gaps and
missing `bmi` values, and a behaviour spec declaring that progression rises with
`bmi` and barely moves with a mmHg of blood pressure. Its first session promotes a
forest regressor at the default thresholds; the next ones gate a mean-predicting
candidate and a candidate for which progression falls with `bmi` after that champion.
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


# Measured on this forest: raising bmi by up to 4 lowered no holdout prediction by 20 or more in 480 draws
# (drops of 6-15 are a forest's steps); noise of 1 mmHg on bp moved none by more than 9.4.
DIABETES_SPEC = """
[[invariance]]
name = "blood_pressure_reading_noise"
claim = "a blood pressure read 1 mmHg off must not move the predicted progression by 20 or more"
noise = { "bp" = 1.0 }
max_change = 20.0
max_flipped_fraction = 0.02

[[directional]]
name = "progression_rises_with_bmi"
claim = "a higher body-mass index never predicts a markedly lower progression"
column = "bmi"
max_increase = 4.0
effect = "not_lower"
tolerance = 25.0
"""
BMI_BACKWARDS_PIPELINE = '''"""A forest that sees bmi mirrored about its training mean when it predicts: progression falls with bmi."""

import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.pipeline import Pipeline

from model.pipeline import build_pipeline


class BmiBackwards(TransformerMixin, BaseEstimator):
    """Passes the training rows through; mirrors bmi in every row it is asked to predict."""

    def fit(self, features, labels=None):
        self.mirror_ = 2.0 * float(features["bmi"].mean())
        return self

    def fit_transform(self, features, labels=None):
        self.fit(features)
        return features  # the forest learns on the true bmi

    def transform(self, features):
        return features.assign(bmi=self.mirror_ - pd.to_numeric(features["bmi"]))


def build(features, settings):
    return Pipeline([("backwards", BmiBackwards()), ("model", build_pipeline(features, settings))])
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
    (project.root / "gates" / "expectations" / "diabetes.behaviour.toml").write_text(DIABETES_SPEC, encoding="utf-8")
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
    # The behaviour gates ran on the regressor and it met the spec: finite answers, both declared claims.
    passed = {g["name"] for g in report["gates"] if g["status"] == "passed"}
    assert {
        "test_predictions_finite_for_any_schema_row",
        "test_answer_independent_of_batch",
        "test_invariance_under_declared_noise[blood_pressure_reading_noise]",
        "test_directional_effect_as_declared[progression_rises_with_bmi]",
    } <= passed, names
    assert "test_probabilities_valid_and_labels_known_for_any_schema_row" not in names


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


def test_regressor_whose_prediction_falls_with_bmi_is_refused_by_the_declared_direction(diabetes, tracking_store):
    (diabetes.root / "bmi_backwards.py").write_text(BMI_BACKWARDS_PIPELINE, encoding="utf-8")
    args = regression_args(diabetes, pipeline="bmi_backwards:build")
    result = diabetes.run_gates(*args, "gates/model", timeout=TIMEOUT_SECONDS)
    out = result.stdout + result.stderr
    assert result.returncode == 1, out
    assert tracking_store(diabetes.tracking_uri).champion_version(MODEL_NAME) == "1"
    gates = {g["name"]: g for g in gate_report(diabetes)["gates"]}
    directional = gates["test_directional_effect_as_declared[progression_rises_with_bmi]"]
    assert directional["status"] == "failed", directional
    assert directional["message"].startswith(
        "Failed: directional 'progression_rises_with_bmi' broken: raising 'bmi' by up to 4 lowers the prediction by more than 25 on "
    ), directional["message"]
    # The champion met the claim on the very same draws: a behavioural regression too.
    regression = gates["test_no_behavioural_regression_vs_champion[progression_rises_with_bmi]"]
    assert regression["status"] == "failed" and "vs champion version 1" in regression["message"], regression
    # Mirroring one input keeps every answer a finite number, the same in any batch.
    assert gates["test_predictions_finite_for_any_schema_row"]["status"] == "passed"
    assert gates["test_answer_independent_of_batch"]["status"] == "passed"


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
