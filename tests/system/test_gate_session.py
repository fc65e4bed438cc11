"""Whole gate sessions, run as a user runs them: `pytest gates/` in a copy of the project.

`green` is one copy in which a green session on the default dataset made
version 1 the champion. The tests that follow it in this file add red and
partial sessions to that copy and check that each one leaves the champion
where it was and registers nothing; the second-champion tests build on it
last. Tests that need an empty registry get a fresh copy (`project`).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from mlgate import tracking
from mlgate.monitoring.drift import Profile
from tests.support.project import Project

pytestmark = pytest.mark.slow

TIMEOUT_SECONDS = 300
REPORT_ONLY = {"gate_report.md", "gate_report.json"}
BUNDLE = REPORT_ONLY | {
    "model",
    "drift_profile.json",
    "metrics.json",
    "classification_report.txt",
    "confusion_matrix.png",
    "roc_curve.png",
    "pr_curve.png",
    "latency_distribution.png",
    "data_validation.json",
    "slices.json",
}
FIRST_SCREEN_LINES = 25  # what a job summary shows before the reader scrolls
CHAMPION_GATE = "test_candidate_not_worse_than_champion"
CALIBRATION_GATE = "test_probabilities_calibrated_no_worse_than_champion"


def output(result: subprocess.CompletedProcess) -> str:
    return result.stdout + result.stderr


def run_pytest(project: Project, *args: str) -> subprocess.CompletedProcess:
    """`pytest ARGS` in the copy, for sessions that name their own paths instead of `gates/`."""
    return project.run(sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args, timeout=TIMEOUT_SECONDS)


def gate_report(folder: Path) -> dict:
    return json.loads((folder / "gate_report.json").read_text(encoding="utf-8"))


def first_screen(folder: Path) -> str:
    return "\n".join((folder / "gate_report.md").read_text(encoding="utf-8").splitlines()[:FIRST_SCREEN_LINES])


def folded_gates(folder: Path) -> list[str]:
    """The gate names of the report's folded table, in order."""
    markdown = (folder / "gate_report.md").read_text(encoding="utf-8")
    folded = markdown.split("<details>", 1)[1]
    return [line.split("`")[1] for line in folded.splitlines() if line.startswith("| `")]


def names_in(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


def scoreboard_lines(stdout: str) -> list[str]:
    """The candidate-vs-champion lines the session ends with (before pytest's own closing line)."""
    lines = stdout.splitlines()
    start = max(i for i, line in enumerate(lines) if line.startswith("candidate vs "))
    return [line for line in lines[start:] if line.strip() and not line.startswith("=")]


def tag_key(gate: dict) -> str:
    return tracking.gate_tag_key(gate["family"], gate["name"])


@dataclass(frozen=True)
class GreenSession:
    project: Project
    result: subprocess.CompletedProcess
    bundle: Path  # artifacts/ as the green session left it


@pytest.fixture(scope="module")
def green(tmp_path_factory, make_project) -> GreenSession:
    """One green session on the default dataset, so version 1 is champion.

    It costs a full session, so every test that only reads its outcome
    shares it. Later red sessions in the same copy replace artifacts/, so the
    bundle is copied aside at once.
    """
    root = tmp_path_factory.mktemp("green")
    project = make_project(root / "project")
    result = project.run_gates(timeout=TIMEOUT_SECONDS)
    assert result.returncode == 0, output(result)
    return GreenSession(project, result, Path(shutil.copytree(project.artifacts, root / "first_bundle")))


@pytest.fixture(scope="module")
def green_store(green, tracking_store):
    """The green copy's tracking store and registry."""
    return tracking_store(green.project.tracking_uri)


@pytest.fixture
def registry_before(green_store) -> tuple[str | None, list[str]]:
    """The champion and the versions before a test's session: a red or partial one must keep them."""
    return green_store.champion_version(), green_store.versions()


def registry_now(store) -> tuple[str | None, list[str]]:
    return store.champion_version(), store.versions()


# --- 1. a green session -------------------------------------------------------------------


def test_green_session_registers_version_1_as_champion(green, green_store):
    assert green_store.versions() == ["1"]
    assert green_store.champion_version() == "1"
    assert "registered mlgate-classifier version 1 and moved @champion to it" in output(green.result)


def test_green_session_writes_the_full_bundle(green):
    assert names_in(green.bundle) >= BUNDLE
    assert (green.bundle / "model" / "MLmodel").is_file()
    report = gate_report(green.bundle)
    assert report["promoted"] is True and report["champion_version"] == "1" and report["reasons"] == []
    assert report["gates"] and all(g["status"] == "passed" for g in report["gates"])
    assert {g["family"] for g in report["gates"]} >= {"data", "model"}
    assert folded_gates(green.bundle) == [g["name"] for g in report["gates"]]
    assert "✅ **Promoted** `mlgate-classifier` version 1 to `@champion`" in first_screen(green.bundle)
    assert json.loads((green.bundle / "data_validation.json").read_text())["success"] is True
    metrics = json.loads((green.bundle / "metrics.json").read_text())
    assert metrics["accuracy"] >= 0.9 and metrics["labels"] == [0, 1]
    # The served model's reference, readable beside the model and inside it; a first champion has none to meet.
    profile_text = (green.bundle / "drift_profile.json").read_text(encoding="utf-8")
    assert profile_text == (green.bundle / "model" / "extra_files" / "drift_profile.json").read_text(encoding="utf-8")
    profile = Profile.from_json(profile_text)
    assert len(profile.features) == 30 and profile.labels == ("0", "1") and profile.rows + profile.holdout_rows == 569  # the stable split: every row on one side
    assert report["drift"] == {"champion_version": None, "threshold": 0.25, "features": []}


def test_a_first_champions_report_shows_the_candidates_own_values(green):
    report = gate_report(green.bundle)
    rows = {row["metric"]: row for row in report["summary"]["champion_comparison"]["rows"]}
    assert rows["accuracy"]["candidate"] == pytest.approx(report["scores"]["candidate"]["accuracy"])
    assert rows["accuracy"]["candidate"] >= 0.9 and rows["accuracy"]["champion"] is None
    assert {"macro_f1", "roc_auc", "recall malignant (0)", "recall benign (1)", "serving p99 (ms)"} <= set(rows)
    assert f"| accuracy | {rows['accuracy']['candidate']:.4g} | — | — |" in first_screen(green.bundle)


def test_the_bundles_plots_name_the_version_and_the_latency_plot_is_there(green):
    metrics = json.loads((green.bundle / "metrics.json").read_text())
    assert metrics["class_names"] == {"0": "malignant", "1": "benign"}
    assert (green.bundle / "latency_distribution.png").stat().st_size > 10_000


def test_history_of_a_real_session_shows_what_it_recorded(green, tmp_path):
    """In process: the command's own wiring is tested in tests/integration/test_history_store.py."""
    from mlgate.session.history import write_history

    write_history(green.project.tracking_uri, "mlgate-classifier", tmp_path)
    report = (tmp_path / "history.md").read_text(encoding="utf-8")
    (row,) = [line for line in report.splitlines() if line.startswith("| 1 |")]
    cells = row.split(" | ")
    assert cells[2] == "👑 champion" and "`sklearn:breast_cancer`" in row
    assert all(cell != "—" for cell in cells[4:14]), row  # scores, recalls and latencies all recorded
    assert row.count("`") >= 4  # the dataset and the data fingerprint at least


def test_green_run_holds_params_metrics_plots_validation_and_one_tag_per_gate(green, green_store):
    client = green_store.client
    run = client.get_run(client.get_model_version("mlgate-classifier", "1").run_id)
    assert run.info.status == "FINISHED"
    assert run.data.params["estimator"] == "sklearn.ensemble.RandomForestClassifier"
    assert run.data.params["estimator.n_estimators"] == "100"
    assert run.data.params["dataset"] == "sklearn:breast_cancer"
    assert {"accuracy", "balanced_accuracy", "macro_f1", "roc_auc", "recall_0", "train_seconds"} <= set(run.data.metrics)
    artifacts = {a.path for folder in ("reports", "data_validation", "gates") for a in client.list_artifacts(run.info.run_id, folder)}
    assert {
        "reports/confusion_matrix.png",
        "reports/roc_curve.png",
        "reports/pr_curve.png",
        "reports/metrics.json",
        "reports/classification_report.txt",
        "data_validation/data_validation.json",
        "gates/gate_report.md",
        "gates/gate_report.json",
    } <= artifacts
    gates = gate_report(green.bundle)["gates"]
    gate_tags = {k: v for k, v in run.data.tags.items() if k.startswith(tracking.GATE_TAG_PREFIX)}
    assert set(gate_tags) == {tag_key(g) for g in gates}
    assert all(value.startswith("passed") for value in gate_tags.values())
    assert gate_tags[tracking.gate_tag_key("model", "test_roc_auc_meets_minimum")].endswith("threshold=0.95")
    assert run.data.tags[tracking.TAG_GATE_STATUS] == tracking.STATUS_PASSED
    assert run.data.tags[tracking.TAG_CHAMPION_VERSION] == "1"


def test_champion_version_is_tagged_with_every_gate_and_metric(green, green_store):
    version = green_store.client.get_model_version("mlgate-classifier", "1")
    gates = gate_report(green.bundle)["gates"]
    assert {tag_key(g) for g in gates} <= set(version.tags)
    assert float(version.tags[tracking.metric_tag_key("accuracy")]) >= 0.9


def test_registered_champion_loads_with_pyfunc_and_predicts(green, green_store, breast_cancer_frame, monkeypatch):
    import mlflow.pyfunc

    monkeypatch.setenv("MLFLOW_ALLOW_PICKLE_DESERIALIZATION", "true")
    # The registry says where version 1 is stored; no process-wide tracking URI needed.
    location = green_store.client.get_model_version_download_uri("mlgate-classifier", "1")
    model = mlflow.pyfunc.load_model(location)
    rows = breast_cancer_frame.head(50)
    predicted = model.predict(rows.drop(columns=["target"]))
    assert set(predicted) <= {0, 1}
    assert (predicted == rows["target"].to_numpy()).mean() >= 0.9


# --- 2. corrupted data fails the data gate ------------------------------------------------


@pytest.fixture(scope="module")
def corrupted_csv(green, breast_cancer_frame) -> str:
    """The default data as data/cancer.csv with its drafted suite, and corrupt/cancer.csv.

    The corrupted copy has the same file name in another folder, so the suite
    drafted from the good data judges it: 3 nulls and 2 out-of-range values
    in 'mean radius'.
    """
    project = green.project
    (project.root / "data").mkdir()
    breast_cancer_frame.to_csv(project.root / "data" / "cancer.csv", index=False)
    drafted = project.run(sys.executable, "-m", "mlgate", "expectations", "--dataset", "data/cancer.csv", "--target", "target")
    assert drafted.returncode == 0, output(drafted)
    assert (project.root / "gates" / "expectations" / "cancer.json").is_file()
    corrupted = breast_cancer_frame.copy()
    corrupted.loc[[3, 10, 20], "mean radius"] = None
    corrupted.loc[[5, 6], "mean radius"] = 987.5
    (project.root / "corrupt").mkdir()
    corrupted.to_csv(project.root / "corrupt" / "cancer.csv", index=False)
    return "corrupt/cancer.csv"


def refused_session(green, green_store, registry_before, csv: str) -> str:
    """A session on `csv` after the green one: refused, the registry untouched, only the report written."""
    result = green.project.run_gates("--mlgate-dataset", csv, timeout=TIMEOUT_SECONDS)
    assert result.returncode == pytest.ExitCode.TESTS_FAILED, output(result)
    assert "Promoted nothing" in output(result)
    assert registry_now(green_store) == registry_before
    assert names_in(green.project.artifacts) == REPORT_ONLY
    return output(result)


def test_corrupted_column_fails_data_gate_names_column_and_values(green, green_store, registry_before, corrupted_csv):
    project = green.project
    text = refused_session(green, green_store, registry_before, corrupted_csv)
    assert "failed on column 'mean radius'" in text
    assert "3 unexpected value(s), e.g. [nan, nan, nan]" in text
    assert "2 unexpected value(s), e.g. [987.5, 987.5]" in text
    failed = {g["name"] for g in gate_report(project.artifacts)["gates"] if g["status"] != "passed"}
    assert failed == {
        "test_expectation_holds[column_values_to_not_be_null[mean radius]]",
        "test_expectation_holds[column_values_to_be_between[mean radius]]",
    }
    # The job summary's first screen: the verdict and both failed gates with their reasons.
    screen = first_screen(project.artifacts)
    assert "❌ **Promoted nothing.** 2 gate(s) did not pass" in screen
    for name in failed:
        (row,) = [line for line in screen.splitlines() if f"`{name}`" in line]
        assert "failed on column 'mean radius'" in row
    assert len(folded_gates(project.artifacts)) == len(gate_report(project.artifacts)["gates"])


@pytest.fixture(scope="module")
def shifted_csv(green, breast_cancer_frame) -> str:
    """The default data with 'mean radius' pulled into the upper half of its range, as shifted/breast_cancer.csv.

    Every value stays inside the suite's range, so the data expectations hold;
    only the training-drift gate, reading the champion's profile, can see it.
    """
    shifted = breast_cancer_frame.copy()
    radius = shifted["mean radius"]
    shifted["mean radius"] = radius + (radius.max() - radius) * 0.5
    (green.project.root / "shifted").mkdir()
    shifted.to_csv(green.project.root / "shifted" / "breast_cancer.csv", index=False)
    return "shifted/breast_cancer.csv"


def test_shifted_training_data_fails_the_drift_gate_names_feature_and_bins(
    green, green_store, registry_before, shifted_csv
):
    project = green.project
    text = refused_session(green, green_store, registry_before, shifted_csv)
    assert "drifted from champion version 1's training data over max_training_drift_psi (0.25): 'mean radius' PSI" in text
    report = gate_report(project.artifacts)
    assert [g["name"] for g in report["gates"] if g["status"] != "passed"] == ["test_training_drift_within_budget"]
    worst = report["drift"]["features"][0]
    assert worst["feature"] == "mean radius" and worst["psi"] > 0.25 and worst["moved_bins"]
    assert all(row["psi"] < 0.25 for row in report["drift"]["features"][1:])
    assert "## Training drift" in (project.artifacts / "gate_report.md").read_text(encoding="utf-8")
    run = green_store.latest_run()
    assert run.data.metrics["drift.psi.mean radius"] == worst["psi"]


# --- 4. a green but partial session promotes nothing, and says why ------------------------

# Each selects the data gates only (no training, no perf gates): cheap, and every one green.
PARTIAL = {
    "-k data": (["gates/", "-k", "data"], "-k 'data' selected a subset of the gates."),
    "-m data_gate": (["gates/", "-m", "data_gate"], "-m 'data_gate' selected a subset of the gates."),
    "--deselect": (["gates/", "--deselect", "gates/model", "--deselect", "gates/perf"], "gate(s) were deselected."),
    "one gate file": (["gates/data/test_data_gates.py"], "gate file(s) left out of the session: "),
}


@pytest.mark.parametrize("args, reason", PARTIAL.values(), ids=PARTIAL.keys())
def test_partial_session_passes_every_selected_gate_yet_promotes_nothing(
    green, green_store, registry_before, args, reason
):
    result = run_pytest(green.project, *args)

    assert result.returncode == pytest.ExitCode.TESTS_FAILED, output(result)
    report = gate_report(green.project.artifacts)
    assert report["gates"] and all(g["status"] == "passed" for g in report["gates"]), report["gates"]
    assert report["promoted"] is False
    assert reason in " ".join(report["reasons"])
    assert "Promoted nothing: " in result.stdout and reason in result.stdout
    assert scoreboard_lines(result.stdout) == [
        "candidate vs champion: no candidate was scored in this session (no model gate ran)."]
    assert registry_now(green_store) == registry_before
    assert names_in(green.project.artifacts) == REPORT_ONLY
    run = green_store.latest_run()
    assert run.data.tags[tracking.TAG_GATE_STATUS] == tracking.STATUS_FAILED
    assert reason in run.data.tags[tracking.TAG_REFUSED_BECAUSE]


def test_session_stopped_by_x_names_gates_not_run_and_promotes_nothing(
    green, green_store, registry_before, corrupted_csv
):
    result = green.project.run_gates("-x", "--mlgate-dataset", corrupted_csv, timeout=TIMEOUT_SECONDS)

    assert result.returncode == pytest.ExitCode.TESTS_FAILED, output(result)
    assert "stopping after 1 failures" in result.stdout
    report = gate_report(green.project.artifacts)
    statuses = [g["status"] for g in report["gates"]]
    first_failure = statuses.index("failed")
    assert statuses.count("failed") == 1
    # The report lists gates in the order they ran: everything after the failure never ran.
    assert set(statuses[first_failure + 1 :]) == {"not run"}
    not_green = len(statuses) - first_failure
    assert f"Promoted nothing: {not_green} gate(s) did not pass: " in result.stdout
    assert "(not run)" in result.stdout
    assert registry_now(green_store) == registry_before
    assert names_in(green.project.artifacts) == REPORT_ONLY


# --- 9. a second champion, and a worse model stopped --------------------------------------


@dataclass(frozen=True)
class SecondSession:
    result: subprocess.CompletedProcess
    report: dict  # its gate_report.json, read before any later session replaces it


@pytest.fixture(scope="module")
def second_green(green, green_store) -> SecondSession:
    """A second green session on the same data: the same (equal) model, to become version 2."""
    assert green_store.versions() == ["1"], "a red or partial session in this copy registered a version"
    result = green.project.run_gates(timeout=TIMEOUT_SECONDS)
    return SecondSession(result, gate_report(green.project.artifacts))


def test_second_green_session_becomes_version_2_and_champion(green_store, second_green):
    assert second_green.result.returncode == 0, output(second_green.result)
    assert green_store.versions() == ["1", "2"]
    assert green_store.champion_version() == "2"
    assert "registered mlgate-classifier version 2 and moved @champion to it" in second_green.result.stdout
    report = second_green.report
    assert report["promoted"] is True and report["champion_version"] == "2"
    assert report["comparison"]["champion_version"] == "1"
    assert report["comparison"]["accuracy_delta"] == 0.0
    assert report["comparison"]["p_value"] == 1.0
    assert report["scores"]["champion"]["accuracy"] == report["scores"]["candidate"]["accuracy"]
    # The same data as the champion's: the drift gate compared with its profile and found nothing.
    assert report["drift"]["champion_version"] == "1"
    assert max(row["psi"] for row in report["drift"]["features"]) == pytest.approx(0.0, abs=1e-12)


def test_clearly_worse_model_is_stopped_by_the_champion_gate(green, green_store, second_green):
    assert green_store.champion_version() == "2"
    # One stump: thresholds lowered so that only the champion gate can stop it.
    config = green.project.write_config(
        estimator_params={"n_estimators": 1, "max_depth": 1},
        min_holdout_accuracy=0.5,
        min_macro_f1=0.5,
        min_roc_auc=0.5,
        min_class_recall=0.5,
    )

    result = green.project.run_gates("--mlgate-config", str(config), timeout=TIMEOUT_SECONDS)

    assert result.returncode == pytest.ExitCode.TESTS_FAILED, output(result)
    report = gate_report(green.project.artifacts)
    # Its probabilities are worse too: the calibration gate may refuse it beside the champion gate.
    failed = [g["name"] for g in report["gates"] if g["status"] != "passed"]
    assert CHAMPION_GATE in failed and set(failed) <= {CHAMPION_GATE, CALIBRATION_GATE}
    assert "worse than champion version 2 beyond its margin" in result.stdout
    assert registry_now(green_store) == ("2", ["1", "2"])
    # The session's last words: the stump against champion 2, metric by metric, and the gate that stopped it.
    board = scoreboard_lines(result.stdout)
    assert board[0] == "candidate vs champion version 2:"
    accuracy = next(line.split() for line in board if line.split()[0] == "accuracy")
    assert accuracy[3].startswith("-") and accuracy[4:] == ["worse", "passed"]
    assert board[-1].startswith("  gates that did not pass: ") and CHAMPION_GATE in board[-1]


# --- 3. impossible thresholds, on an empty registry ---------------------------------------


def test_impossible_threshold_fails_model_gate_and_registers_nothing(project, tracking_store):
    config = project.write_config(estimator_params={"n_estimators": 1, "max_depth": 1}, min_roc_auc=1.0)

    result = project.run_gates("--mlgate-config", str(config), timeout=TIMEOUT_SECONDS)

    assert result.returncode == pytest.ExitCode.TESTS_FAILED, output(result)
    assert "ROC AUC: " in result.stdout and "the whole 95 % interval is below 1: the data show it below" in result.stdout
    assert "test_roc_auc_meets_minimum (failed)" in result.stdout
    store = tracking_store(project.tracking_uri)
    assert store.client.search_registered_models() == []
    assert names_in(project.artifacts) == REPORT_ONLY
    run = store.latest_run()
    assert run.info.status == "FAILED"
    assert run.data.tags[tracking.TAG_GATE_STATUS] == tracking.STATUS_FAILED
    assert "test_roc_auc_meets_minimum" in run.data.tags[tracking.TAG_FAILED_GATES]
    assert run.data.tags[tracking.gate_tag_key("model", "test_roc_auc_meets_minimum")].startswith("failed value=")


def test_a_gate_set_without_the_perf_family_promotes_with_its_drift_profile(project, tracking_store):
    # A team that serves elsewhere may delete gates/perf: the model gates still build the drift
    # profile the registered model carries, and the whole remaining set promotes.
    shutil.rmtree(project.root / "gates" / "perf")

    result = project.run_gates(timeout=TIMEOUT_SECONDS)

    assert result.returncode == 0, output(result)
    store = tracking_store(project.tracking_uri)
    assert store.champion_version() == "1"
    servable = tracking.load_servable("models:/mlgate-classifier@champion", project.tracking_uri)
    assert servable.drift_profile is not None


# --- 6. a user's CSV: categories with gaps, string labels, three classes ------------------


def test_dataset_without_suite_fails_data_gate_with_the_command_to_draft_one(project, mixed_frame, tracking_store):
    (project.root / "data").mkdir()
    mixed_frame.to_csv(project.root / "data" / "grades.csv", index=False)

    # -x: what this claim needs is the missing-suite gate's message; nothing after it adds to that.
    result = project.run_gates("-x", "--mlgate-dataset", "data/grades.csv", "--mlgate-target", "grade", timeout=TIMEOUT_SECONDS)

    assert result.returncode == pytest.ExitCode.TESTS_FAILED, output(result)
    assert "no data suite for dataset 'grades'" in result.stdout
    assert "mlgate expectations --dataset " in result.stdout and "--target grade" in result.stdout
    assert tracking_store(project.tracking_uri).client.search_registered_models() == []


def test_categorical_csv_with_string_labels_passes_promotes_and_serves_strings(
    project, mixed_frame, tracking_store, monkeypatch
):
    import mlflow.pyfunc
    import pandas as pd

    (project.root / "data").mkdir()
    mixed_frame.to_csv(project.root / "data" / "grades.csv", index=False)
    drafted = project.run(sys.executable, "-m", "mlgate", "expectations", "--dataset", "data/grades.csv", "--target", "grade")
    assert drafted.returncode == 0, output(drafted)
    suite = json.loads((project.root / "gates" / "expectations" / "grades.json").read_text())
    label_sets = [
        e["kwargs"]["value_set"]
        for e in suite["expectations"]
        if e["type"] == "expect_column_values_to_be_in_set" and e["kwargs"]["column"] == "grade"
    ]
    assert label_sets == [["high", "low", "mid"]]

    result = project.run_gates("--mlgate-dataset", "data/grades.csv", "--mlgate-target", "grade", timeout=TIMEOUT_SECONDS)

    assert result.returncode == 0, output(result)
    store = tracking_store(project.tracking_uri)
    assert store.champion_version() == "1"
    assert set(json.loads((project.artifacts / "metrics.json").read_text())["class_recall"]) == {"high", "low", "mid"}
    monkeypatch.setenv("MLFLOW_ALLOW_PICKLE_DESERIALIZATION", "true")
    model = mlflow.pyfunc.load_model(store.client.get_model_version_download_uri("mlgate-classifier", "1"))
    rows = pd.DataFrame(
        {
            "colour": ["red", None, "purple"],  # known, missing, never seen
            "size": [1.0, 3.0, 5.0],
            "indoor": [True, False, True],
        }
    )
    assert list(model.predict(rows)) == ["low", "mid", "high"]


# --- 10. the champion imported from a bundle: production's champion in a fresh store ------

IMPORT_SOURCE = "GitHub run 4242"


def import_champion(project: Project, bundle: Path, *args: str) -> subprocess.CompletedProcess:
    return project.run(sys.executable, "-m", "mlgate", "import-champion", str(bundle), *args, timeout=TIMEOUT_SECONDS)


@pytest.fixture(scope="module")
def imported(green, tmp_path_factory, make_project) -> tuple[Project, subprocess.CompletedProcess]:
    """A fresh copy whose store's only version is the green bundle, imported: where CI starts."""
    project = make_project(tmp_path_factory.mktemp("imported") / "project")
    result = import_champion(project, green.bundle, "--source", IMPORT_SOURCE)
    assert result.returncode == 0, output(result)
    return project, result


def test_imported_bundle_is_champion_with_its_gate_tags_and_provenance(green, green_store, imported, tracking_store):
    project, result = imported
    store = tracking_store(project.tracking_uri)
    assert registry_now(store) == ("1", ["1"])
    assert f"imported {IMPORT_SOURCE} as mlgate-classifier version 1, now @champion" in result.stdout
    version = store.client.get_model_version("mlgate-classifier", "1")
    gated_here = green_store.client.get_model_version("mlgate-classifier", "1")
    carried = {k: v for k, v in gated_here.tags.items() if k.startswith((tracking.GATE_TAG_PREFIX, tracking.METRIC_TAG_PREFIX))}
    assert carried and {k: version.tags.get(k) for k in carried} == carried
    assert version.tags[tracking.TAG_IMPORTED_FROM] == IMPORT_SOURCE
    assert version.tags[tracking.TAG_SOURCE_RUN_ID] == gate_report(green.bundle)["run_id"]
    assert version.tags[tracking.TAG_SOURCE_VERSION] == "1"
    assert abs(float(version.tags[tracking.TAG_GATED_AT]) - float(gated_here.tags[tracking.TAG_GATED_AT])) < 120


def test_imported_champion_is_the_bundles_model_byte_for_byte(green, imported, tmp_path):
    project, _ = imported
    served = tracking.download_model("models:/mlgate-classifier@champion", tmp_path, project.tracking_uri)
    files = sorted(p.relative_to(green.bundle / "model") for p in (green.bundle / "model").rglob("*") if p.is_file())
    files.remove(Path("registered_model_meta"))  # names the version in the store the bundle came from
    assert Path("model.skops") in files
    for name in files:
        assert (served / name).read_bytes() == (green.bundle / "model" / name).read_bytes(), name


def test_worse_candidate_is_refused_by_the_champion_gate_naming_the_imported_champion(imported, tracking_store):
    project, _ = imported
    config = project.write_config(  # one stump, thresholds lowered: only the champion gate can stop it
        estimator_params={"n_estimators": 1, "max_depth": 1},
        min_holdout_accuracy=0.5,
        min_macro_f1=0.5,
        min_roc_auc=0.5,
        min_class_recall=0.5,
    )

    result = project.run_gates("--mlgate-config", str(config), timeout=TIMEOUT_SECONDS)

    assert result.returncode == pytest.ExitCode.TESTS_FAILED, output(result)
    report = gate_report(project.artifacts)
    failed = [g["name"] for g in report["gates"] if g["status"] != "passed"]
    assert CHAMPION_GATE in failed and set(failed) <= {CHAMPION_GATE, CALIBRATION_GATE}
    assert f"worse than champion version 1 (imported from {IMPORT_SOURCE})" in result.stdout
    assert report["comparison"]["champion_imported_from"] == IMPORT_SOURCE
    assert f"production bundle from {IMPORT_SOURCE}" in (project.artifacts / "gate_report.md").read_text()
    assert registry_now(tracking_store(project.tracking_uri)) == ("1", ["1"])


def test_import_refuses_a_model_trained_on_other_columns_and_registers_nothing(green, project, mixed_frame):
    (project.root / "data").mkdir()
    mixed_frame.to_csv(project.root / "data" / "grades.csv", index=False)

    result = import_champion(project, green.bundle, "--dataset", "data/grades.csv", "--target", "grade")

    assert result.returncode == 2, output(result)
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "trained on other columns than data/grades.csv's features" in result.stderr
    assert "'mean radius'" in result.stderr and "'colour'" in result.stderr
    assert not (project.root / "mlflow.db").exists()


@pytest.mark.parametrize("damage", ["red report", "no report", "no model", "not a folder"])
def test_import_refuses_what_is_not_a_green_bundle_with_one_message(green, project, tmp_path, damage):
    bundle = Path(shutil.copytree(green.bundle, tmp_path / "bundle"))
    expected = {
        "red report": "holds a red session's report, not a green bundle",
        "no report": "is not an mlgate bundle: it has no gate_report.json",
        "no model": "has a green report but no model/MLmodel",
        "not a folder": "no bundle at",
    }[damage]
    if damage == "red report":  # a red session's artifacts/ as CI's gate-report artifact holds it
        report = gate_report(bundle)
        report.update(promoted=False, reasons=["1 gate(s) did not pass: test_accuracy (failed)."])
        (bundle / "gate_report.json").write_text(json.dumps(report))
    elif damage == "no report":
        (bundle / "gate_report.json").unlink()
    elif damage == "no model":
        shutil.rmtree(bundle / "model")
    else:
        bundle = bundle / "gate_report.md"

    result = import_champion(project, bundle)

    assert result.returncode == 2, output(result)
    assert expected in result.stderr and result.stderr.count("\n") == 1
    assert not (project.root / "mlflow.db").exists()
