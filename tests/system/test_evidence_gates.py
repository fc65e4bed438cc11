"""The evidence-based model gates in whole sessions: a forest champion, then worse candidates.

One copy of the project gets a green session (a forest on the default data, so the default data
still promotes); a depth-1 stump and a forest with sharpened probabilities are then gated against
it, each in its own session, and neither may move @champion.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.support.project import Project

pytestmark = pytest.mark.slow

TIMEOUT_SECONDS = 300
CHAMPION_GATE = "test_candidate_not_worse_than_champion"
CALIBRATION_GATE = "test_probabilities_calibrated_no_worse_than_champion"
THRESHOLD_GATES = {
    "test_holdout_accuracy_meets_minimum",
    "test_macro_f1_meets_minimum",
    "test_roc_auc_meets_minimum",
    "test_every_class_recall_meets_minimum",
}
# The champion's forest with every probability raised to this power and renormalised: the same
# argmax (the same labels, the same ranking for AUC), overconfident probabilities.
SHARPENED = '''
import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone

from model.pipeline import build_pipeline


class Sharpened(ClassifierMixin, BaseEstimator):
    def __init__(self, inner=None, power=10.0):
        self.inner = inner
        self.power = power

    def fit(self, X, y):
        self.inner_ = clone(self.inner).fit(X, y)
        self.classes_ = self.inner_.classes_
        return self

    def predict(self, X):
        return self.inner_.predict(X)

    def predict_proba(self, X):
        sharp = self.inner_.predict_proba(X) ** self.power
        return sharp / sharp.sum(axis=1, keepdims=True)


def build(features, settings):
    return Sharpened(build_pipeline(features, settings))
'''


def output(result: subprocess.CompletedProcess) -> str:
    return result.stdout[-4000:] + result.stderr[-2000:]


def report_of(project: Project) -> dict:
    return json.loads((project.artifacts / "gate_report.json").read_text(encoding="utf-8"))


def not_passed(report: dict) -> set[str]:
    return {g["name"] for g in report["gates"] if g["status"] != "passed"}


@pytest.fixture(scope="module")
def forest_champion(tmp_path_factory, make_project) -> Project:
    """A green session on the default data: a forest is version 1 and champion."""
    project = make_project(tmp_path_factory.mktemp("evidence") / "project")
    result = project.run_gates(timeout=TIMEOUT_SECONDS)
    assert result.returncode == 0, output(result)
    return project


def test_the_default_data_promotes_and_records_its_split(forest_champion, tracking_store):
    report = report_of(forest_champion)
    assert report["promoted"] is True
    assert report["split"]["definition"] == "hash:content;fraction=0.2;stratify=class;v1"
    store = tracking_store(forest_champion.tracking_uri)
    version = store.client.get_model_version("mlgate-classifier", "1")
    assert version.tags["mlgate.split"] == report["split"]["definition"]
    checks = {(row["gate"], row["check"]) for row in report["evidence"]}
    assert ("min_class_recall", "recall of class 0") in checks and ("calibration", "log loss") in checks


def test_refuses_a_stump_against_the_forest_champion(forest_champion, tracking_store):
    config = forest_champion.write_config(  # thresholds lowered: the comparison must stop it
        estimator_params={"n_estimators": 1, "max_depth": 1},
        min_holdout_accuracy=0.5, min_macro_f1=0.5, min_roc_auc=0.5, min_class_recall=0.5,
    )
    result = forest_champion.run_gates("--mlgate-config", str(config), timeout=TIMEOUT_SECONDS)

    assert result.returncode == pytest.ExitCode.TESTS_FAILED, output(result)
    report = report_of(forest_champion)
    assert CHAMPION_GATE in not_passed(report)
    assert "worse than champion version 1 beyond its margin" in result.stdout
    comparison = report["comparison"]
    # Same split definition as the champion's: the whole holdout, nothing left out.
    assert comparison["excluded_rows"] == 0 and comparison["compared_rows"] == report["split"]["holdout_rows"]
    refused = [d for d in comparison["decisions"] if d["verdict"] == "refused"]
    assert refused and all(d["low"] is not None and d["p_value"] < 0.05 for d in refused)
    assert all(d["detectable_drop"] is not None for d in comparison["decisions"])
    markdown = (forest_champion.artifacts / "gate_report.md").read_text(encoding="utf-8")
    assert "| champion | log loss |" in markdown and "this holdout detects a change for the worse" in markdown
    assert tracking_store(forest_champion.tracking_uri).champion_version() == "1"


def test_refuses_sharpened_probabilities_by_calibration_while_threshold_gates_pass(forest_champion, tracking_store):
    (forest_champion.root / "model" / "sharpened.py").write_text(SHARPENED, encoding="utf-8")
    config = forest_champion.write_config(pipeline="model.sharpened:build")

    result = forest_champion.run_gates("--mlgate-config", str(config), timeout=TIMEOUT_SECONDS)

    assert result.returncode == pytest.ExitCode.TESTS_FAILED, output(result)
    report = report_of(forest_champion)
    failed = not_passed(report)
    assert CALIBRATION_GATE in failed and not failed & THRESHOLD_GATES, failed
    # The same labels as the champion's: the paired accuracy difference is exactly zero.
    assert report["comparison"]["accuracy_delta"] == 0.0
    markdown = (forest_champion.artifacts / "gate_report.md").read_text(encoding="utf-8")
    assert f"`{CALIBRATION_GATE}`" in markdown.split("## Failed gates", 1)[1].split("##", 1)[0]
    assert "errors where its probabilities promise" in markdown
    assert tracking_store(forest_champion.tracking_uri).champion_version() == "1"
