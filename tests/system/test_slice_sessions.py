"""Slice gates in whole gate sessions (issue #22), on the loans table as a CSV.

One copy of the project, three sessions in order:
1. a first champion on the full features: its weakest segments are reported, the gates pass;
2. a candidate whose pipeline loses income and debt for phone applications (1.2 % of rows):
   the slice gate refuses it naming `channel = phone` while accuracy, F1, AUC and the champion
   gate pass;
3. the champion's recipe again with a declared slice too small to judge: the report names it
   "too few rows", the session promotes, the bundle holds slices.json and `mlgate history`
   lists the declared slice on the new version.
30,000 rows, as in the issue. Data seed 6 is that case: 66 phone rows in the holdout, accuracy
-0.003 and McNemar p 0.052 over the whole holdout. Measured with this project's default pipeline
(median imputation, then HistGradientBoosting) on data seeds 0-9: the slice gate named
`channel = phone` on 3-9 (adjusted p 0.06-0.16 on 0-2, at 67-75 phone rows); McNemar over the
whole holdout was below 0.05 on 3-5 and 7-9 as well, so there the champion gate refuses too.
"""

from __future__ import annotations

import json
import sys

import pytest

from tests.support.loans import loans_table
from tests.support.project import Project

pytestmark = pytest.mark.slow

TIMEOUT_SECONDS = 400
ROWS = 30_000
DATA_SEED = 6
SLICE_GATE = "test_no_discovered_slice_regressed_against_the_champion"
DECLARED_GATE = "test_declared_slices_hold"
AGGREGATE_GATES = {
    "test_candidate_not_worse_than_champion", "test_holdout_accuracy_meets_minimum", "test_macro_f1_meets_minimum",
    "test_roc_auc_meets_minimum",
}
LOANS_SETTINGS = """[tool.mlgate]
dataset = "data/loans.csv"
target = "approved"
estimator = "sklearn.ensemble.HistGradientBoostingClassifier"
estimator_params = { max_iter = 60 }
min_holdout_accuracy = 0.80
min_macro_f1 = 0.78
min_roc_auc = 0.85
min_class_recall = 0.70
"""
# The candidate's feature code: income and debt lost for phone applications.
PHONE_PIPELINE = '''"""The champion's pipeline behind a step that loses income and debt for phone applications."""

import numpy as np
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from model.pipeline import build_pipeline as full_pipeline


def lose_phone_income(frame):
    out = frame.copy()
    out.loc[out["channel"] == "phone", ["income", "debt"]] = np.nan
    return out


def build_pipeline(features, settings):
    return Pipeline([("lose", FunctionTransformer(lose_phone_income)), ("model", full_pipeline(features, settings))])
'''


def output(result) -> str:
    return result.stdout + result.stderr


def report(project: Project) -> dict:
    return json.loads((project.artifacts / "gate_report.json").read_text(encoding="utf-8"))


def statuses(document: dict) -> dict[str, str]:
    return {gate["name"]: gate["status"] for gate in document["gates"]}


def config(project: Project, name: str, extra: str = "") -> str:
    (project.root / name).write_text(LOANS_SETTINGS + extra, encoding="utf-8")
    return name


@pytest.fixture(scope="module")
def loans_project(tmp_path_factory, make_project) -> Project:
    """A copy with the loans table as data/loans.csv, its drafted suite and the phone pipeline."""
    project = make_project(tmp_path_factory.mktemp("slices") / "project")
    frame, label = loans_table(ROWS, seed=DATA_SEED)
    (project.root / "data").mkdir()
    frame.assign(approved=label).to_csv(project.root / "data" / "loans.csv", index=False)
    (project.root / "model" / "phone_pipeline.py").write_text(PHONE_PIPELINE, encoding="utf-8")
    drafted = project.run(sys.executable, "-m", "mlgate", "expectations", "--dataset", "data/loans.csv",
                          "--target", "approved")
    assert drafted.returncode == 0, output(drafted)
    return project


def run_session(project: Project, name: str, extra: str = ""):
    """`pytest gates/` on the loans settings plus `extra`, written as config `name`: the process and its report."""
    result = project.run_gates("--mlgate-config", config(project, name, extra), timeout=TIMEOUT_SECONDS)
    return result, report(project)


@pytest.fixture(scope="module")
def first_champion(loans_project) -> dict:
    """The first green session: the champion the phone candidate is judged against."""
    result, document = run_session(loans_project, "loans.toml")
    assert result.returncode == 0, output(result)
    return document


@pytest.fixture(scope="module")
def phone_candidate(loans_project, first_champion):
    """A candidate whose feature code loses income and debt for phone applications."""
    return run_session(loans_project, "phone.toml", 'pipeline = "model.phone_pipeline:build_pipeline"\n')


@pytest.fixture(scope="module")
def declared_session(loans_project, phone_candidate):
    """The phone candidate again, with the north phone slice declared at a minimum accuracy."""
    extra = 'slices = [{where = {channel = "phone", region = "north"}, name = "north phone", min_accuracy = 0.7}]\n'
    return run_session(loans_project, "declared.toml", extra)


def test_a_first_champion_reports_its_weakest_segments_and_passes_the_slice_gates(first_champion):
    assert statuses(first_champion)[SLICE_GATE] == "passed"
    slices = first_champion["slices"]
    assert slices["champion_version"] is None and "discovered" not in slices
    assert slices["weakest"], "a first champion's weakest segments are reported"


def test_refuses_a_candidate_that_lost_income_for_phone_applications_naming_the_segment(loans_project, phone_candidate):
    result, document = phone_candidate
    assert result.returncode == pytest.ExitCode.TESTS_FAILED, output(result)
    gates = statuses(document)
    assert gates[SLICE_GATE] == "failed"
    assert {gates[name] for name in AGGREGATE_GATES} == {"passed"}, gates
    (failed,) = [g for g in document["gates"] if g["name"] == SLICE_GATE]
    assert "channel = phone:" in failed["message"], failed["message"]
    red = document["slices"]["discovered"]["red"]
    assert [finding["segment"] for finding in red] == ["channel = phone"]
    assert red[0]["pin"] == {"name": "channel = phone", "where": {"channel": "phone"}}
    markdown = (loans_project.artifacts / "gate_report.md").read_text(encoding="utf-8")
    assert "## Slices" in markdown and "❌ channel = phone:" in markdown


def test_a_declared_slice_with_too_few_rows_is_named_so_and_the_version_carries_it(loans_project, declared_session):
    result, document = declared_session
    assert result.returncode == 0, output(result)
    (declared,) = document["slices"]["declared"]
    assert declared["status"] == "too few rows" and 0 < declared["rows"] < 50
    markdown = (loans_project.artifacts / "gate_report.md").read_text(encoding="utf-8")
    assert "too few rows: north phone: too few rows (n = " in markdown
    bundled = json.loads((loans_project.artifacts / "slices.json").read_text(encoding="utf-8"))
    assert bundled["declared"][0]["name"] == "north phone"
    history = loans_project.run(sys.executable, "-m", "mlgate", "history", "--out", "history")
    assert history.returncode == 0, output(history)
    text = (loans_project.root / "history" / "history.md").read_text(encoding="utf-8")
    assert "- version 2: north phone (too few rows)" in text
