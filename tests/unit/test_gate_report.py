"""The gate report at a glance: verdict and failures on the first screen, every gate still folded below."""

from __future__ import annotations

import json

import pytest

from mlgate.session.report import GateReport, GateResult

FIRST_SCREEN_LINES = 25
FAILED_GATES = {
    "test_holdout_accuracy_meets_minimum": ("model", 0.81, 0.9, "accuracy 0.81 is below min_holdout_accuracy 0.9"),
    "test_expectation_holds[column_values_to_be_between[mean radius]]": (
        "data", 0.03, 0.0, "3% of 'mean radius' outside 6.9..28.2: the data changed",
    ),
    "test_serving_p99_latency_within_budget": ("perf", 0.0712, 0.05, "serving p99 latency 71.2 ms is over 50 ms"),
}


def session_gates(failed: dict[str, tuple] | None = None) -> list[GateResult]:
    """A default-data session's shape: 94 data expectations, model and perf gates; `failed` among them."""
    gates = [GateResult("model", f"test_model_gate_{i}", "passed", 0.97, 0.9, duration_seconds=0.5) for i in range(13)]
    gates += [
        GateResult("data", f"test_expectation_holds[expectation_{i}]", "passed", 0, duration_seconds=0.01)
        for i in range(94)
    ]
    gates += [GateResult("perf", f"test_perf_gate_{i}", "passed", 0.001, 0.05, duration_seconds=1.5) for i in range(9)]
    for name, (family, value, threshold, message) in (failed or {}).items():
        gates.append(GateResult(family, name, "failed", value, threshold, message, duration_seconds=0.2))
    return gates


def first_screen(report: GateReport) -> str:
    return "\n".join(report.to_markdown().splitlines()[:FIRST_SCREEN_LINES])


def folded_rows(markdown: str) -> list[str]:
    """The gate rows of the folded table, in order."""
    folded = markdown.split("<details>", 1)[1].split("</details>", 1)[0]
    return [line for line in folded.splitlines() if line.startswith("| `")]


@pytest.fixture
def green() -> GateReport:
    """A promoted session of 116 gates: the verdict must not wait behind 94 data rows."""
    return GateReport(
        "sklearn:breast_cancer", "mlgate-classifier", "run1", session_gates(), promoted=True, champion_version="4"
    )


@pytest.fixture
def red() -> GateReport:
    """A red session with one failed gate in each family, the rest as in `green`."""
    gates = session_gates(FAILED_GATES)
    return GateReport(
        "sklearn:breast_cancer",
        "mlgate-classifier",
        "run2",
        gates,
        reasons=[f"{len(FAILED_GATES)} gate(s) did not pass: ..."],
    )


def test_green_verdict_is_the_first_line_after_the_title(green):
    lines = green.to_markdown().splitlines()
    assert lines[2] == (
        "✅ **Promoted** `mlgate-classifier` version 4 to `@champion`: all 116 gates passed on `sklearn:breast_cancer`."
    )


def test_red_verdict_and_every_failed_gate_are_on_the_first_screen(red):
    screen = first_screen(red)
    assert "❌ **Promoted nothing.** 3 gate(s) did not pass" in screen
    for name, (family, value, threshold, message) in FAILED_GATES.items():
        row = next(line for line in screen.splitlines() if f"`{name}`" in line)
        assert row == f"| {family}: `{name}` | {value:.4g} | {threshold:.4g} | {message} |"


def test_families_show_passed_over_total_and_time(red):
    rows = {row["family"]: row for row in red.families()}
    assert (rows["data"]["passed"], rows["data"]["total"]) == (94, 95)
    assert rows["perf"]["seconds"] == pytest.approx(9 * 1.5 + 0.2)
    assert "| data | ❌ 94/95 | 1.1 s |" in first_screen(red)
    assert "| model | ❌ 13/14 | 6.7 s |" in first_screen(red)


@pytest.mark.parametrize("session", ["green", "red"])
def test_every_gate_is_in_the_folded_table_grouped_by_family(session, request):
    report: GateReport = request.getfixturevalue(session)
    markdown = report.to_markdown()
    names = [row.split("`")[1] for row in folded_rows(markdown)]
    by_family = sorted(report.gates, key=lambda g: ["model", "data", "perf"].index(g.family))
    assert names == [g.name for g in by_family]
    # The folded table is the last thing: nothing a reader needs hides behind it.
    assert markdown.rstrip().endswith("</details>")
    assert "### data (94/" in markdown


@pytest.mark.parametrize("session", ["green", "red"])
def test_outside_the_fold_only_failed_gates_are_listed(session, request):
    report: GateReport = request.getfixturevalue(session)
    unfolded = report.to_markdown().split("<details>", 1)[0]
    listed = [line.split("`")[1] for line in unfolded.splitlines() if line.startswith("| ") and "`" in line]
    assert listed == [g.name for g in report.failed]


def test_a_first_champion_shows_the_candidates_own_values():
    report = GateReport(
        "sklearn:breast_cancer",
        "m",
        "run1",
        session_gates(),
        comparison={"champion_version": "none (this is the first champion)"},
        scores={"candidate": {"accuracy": 0.9561, "macro_f1": 0.95, "roc_auc": 0.99, "recall_0": 0.93, "recall_1": 0.97}},
        class_names={"0": "malignant", "1": "benign"},
        perf={"serving_p99_seconds": {"value": 0.0021, "budget": 0.05, "champion": None}},
    )
    markdown = report.to_markdown()
    assert "No champion to compare with: none (this is the first champion)." in markdown
    assert "| metric | candidate | champion | delta |" in markdown
    assert "| accuracy | 0.9561 | — | — |" in markdown
    assert "| recall malignant (0) | 0.93 | — | — |" in markdown
    assert "| serving p99 (ms) | 2.1 | — | — |" in markdown


def test_champion_comparison_has_both_models_and_the_delta_on_every_metric():
    report = GateReport(
        "d",
        "m",
        "run1",
        session_gates(),
        comparison={"champion_version": "3", "p_value": 0.5},
        scores={
            "candidate": {"accuracy": 0.95, "macro_f1": 0.94, "roc_auc": 0.99, "recall_a": 0.9},
            "champion": {"accuracy": 0.96, "macro_f1": 0.95, "roc_auc": 0.98, "recall_a": 0.8},
        },
        perf={
            "serving_p50_seconds": {"value": 0.001, "budget": 0.01, "champion": 0.0005},
            "serving_p99_seconds": {"value": 0.009, "budget": 0.05, "champion": None},
            "serving_p99_seconds_side_by_side": {"value": 0.004, "budget": None, "champion": 0.002},
        },
    )
    rows = {row["metric"]: row for row in report.comparison_rows()}
    assert list(rows) == ["accuracy", "macro_f1", "roc_auc", "recall a", "serving p50 (ms)", "serving p99 (ms)"]
    assert rows["accuracy"]["delta"] == pytest.approx(-0.01)
    assert rows["recall a"]["delta"] == pytest.approx(0.1)
    assert rows["serving p99 (ms)"] == pytest.approx(
        {"metric": "serving p99 (ms)", "candidate": 4.0, "champion": 2.0, "delta": 2.0}
    )
    assert "| metric | candidate | champion (version 3) | delta |" in report.to_markdown()
    assert "| accuracy | 0.95 | 0.96 | -0.01 |" in report.to_markdown()
    assert "| serving p50 (ms) | 1 | 0.5 | +0.5 |" in first_screen(report)


def test_json_holds_the_same_summary_and_every_gate(red):
    document = json.loads(red.to_json())
    assert document["summary"]["verdict"] == red.verdict()
    assert [g["name"] for g in document["summary"]["failed"]] == list(FAILED_GATES)
    assert [f["family"] for f in document["summary"]["families"]] == ["model", "data", "perf"]
    assert [g["name"] for g in document["gates"]] == [g.name for g in red.gates]
    failed = next(g for g in document["gates"] if g["name"] == "test_holdout_accuracy_meets_minimum")
    assert failed["value"] == 0.81 and failed["threshold"] == 0.9 and failed["status"] == "failed"


def test_a_gate_that_errored_without_a_message_shows_its_status():
    report = GateReport("d", "m", "r", [GateResult("model", "test_x", "not run")], reasons=["partial."])
    assert "| model: `test_x` | — | — | ⛔ not run |" in first_screen(report)


def test_a_failed_gate_shows_its_own_words_not_pytests_introspection():
    message = (
        "AssertionError: recall below min_class_recall 0.85 for labels {'0': 0.8095}\n"
        "assert not {'0': 0.8095}"
    )
    report = GateReport("d", "m", "r", [GateResult("model", "test_x", "failed", 0.8095, 0.85, message)], reasons=["red."])
    assert "| model: `test_x` | 0.8095 | 0.85 | recall below min_class_recall 0.85 for labels {'0': 0.8095} |" in (
        report.to_markdown()
    )


def test_a_pipe_in_a_message_does_not_break_the_table():
    report = GateReport("d", "m", "r", [GateResult("data", "test_x", "failed", message="a | b")], reasons=["red."])
    assert "| a \\| b |" in report.to_markdown()


# --- the bundle's latency plot ---------------------------------------------------------------


def test_latency_plot_draws_both_models_and_nothing_without_timings(tmp_path):
    from mlgate.session.plots import latency_distribution

    timings = {"candidate": [0.001 + i * 1e-6 for i in range(200)], "champion": [0.002 + i * 1e-6 for i in range(200)]}
    path = latency_distribution(timings, tmp_path / "latency.png", "m version 2 on sklearn:breast_cancer")
    assert path is not None and path.stat().st_size > 10_000
    assert latency_distribution({"candidate": []}, tmp_path / "none.png", "t") is None
    assert not (tmp_path / "none.png").exists()


def test_plots_name_classes_with_their_code():
    from mlgate.evaluation.metrics import class_label

    assert class_label(0, {"0": "malignant"}) == "malignant (0)"
    assert class_label("low", {}) == "low"


def test_a_long_value_is_cut_in_the_table_and_kept_whole_in_json():
    columns = [f"column {i}" for i in range(40)]
    report = GateReport("d", "m", "r", [GateResult("data", "test_columns", "passed", columns)], promoted=True)
    (row,) = [line for line in report.to_markdown().splitlines() if "`test_columns`" in line]
    assert len(row) < 140 and "…" in row
    assert json.loads(report.to_json())["gates"][0]["value"] == columns


def test_model_gates_section_shows_estimate_interval_rows_threshold_and_verdict_and_a_small_class():
    from mlgate.evaluation.intervals import accuracy_check, class_recall_checks
    from mlgate.evaluation.paired import non_inferiority
    from mlgate.plugin.evidence import check_row, decision_row

    truth = ["a"] * 100 + ["b"] * 12
    predicted = ["a"] * 100 + ["b"] * 10 + ["a"] * 2  # class b: 10/12 = 0.833 against 0.85
    rows = [check_row("min_holdout_accuracy", accuracy_check(truth, predicted, 0.9))]
    rows += [check_row("min_class_recall", c) for c in class_recall_checks(truth, predicted, 0.85)]
    champion = [1.0] * 112
    rows.append(decision_row("champion", non_inferiority(
        [float(t == p) for t, p in zip(truth, predicted, strict=True)], champion, 0.01, 0.05, "correctness")))
    report = GateReport("sklearn:wine", "m", "run", session_gates(), evidence=rows)

    section = report.to_markdown().split("## Model gates", 1)[1].split("\n## ", 1)[0]
    assert "| min_class_recall | recall of class b | 0.8333 | 0.552 to 0.953 | 12 | >= 0.85 | ✅ passed |" in section
    assert "| champion | accuracy | -0.01786 |" in section and "❌ refused" not in section.split("| champion |")[0]
    # The straddling class says that 12 rows cannot tell, and how many would.
    assert "12 rows cannot tell 0.833 from 0.85; ~" in section and "rows would" in section
    assert json.loads(report.to_json())["summary"]["model_gates"] == rows
