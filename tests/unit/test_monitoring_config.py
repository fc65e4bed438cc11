"""The monitoring configuration agrees with the settings and with the metrics the servers export.

The thresholds in the alert expressions and the dashboard's threshold lines
are read back and compared with [tool.mlgate]. Every Grafana panel query may
name only the metrics the scoring server exports (EXPORTED_SERIES, the
contract with monitoring/metrics.py) or rules recorded in alerts.yml. The
real Prometheus tools check the same files in
tests/integration/test_monitoring_tools.py.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest

from mlgate.settings import Settings, load_settings
from tests.support.monitoring_config import (
    ALERT_RULE_TESTS,
    ALERT_RULES,
    DASHBOARD,
    DASHBOARD_PROVISIONING,
    DASHBOARDS_DIR,
    DATASOURCE_PROVISIONING,
    DURATION_BUCKETS_SECONDS,
    EXPORTED_SERIES,
    MODEL_GAUGES,
    PANEL_TYPES,
    PROMETHEUS_CONFIG,
    ROOT,
    ROW_TYPE,
    SCRAPE_JOBS,
    dashboard_queries,
    load_dashboard,
    load_yaml,
    metric_names,
)

# (alert, comparison, setting): the number ending the alert's expr is the setting.
ALERT_THRESHOLDS = [
    ("MlgateP99LatencyOverBudget", ">", "serving_p99_budget_seconds"),
    ("MlgateErrorRatioHigh", ">", "max_error_ratio"),
    ("MlgateModelAccuracyBelowMinimum", "<", "min_holdout_accuracy"),
    ("MlgateFeatureDrift", ">", "max_serving_drift_psi"),
    ("MlgatePredictionDrift", ">", "max_serving_drift_psi"),
    ("MlgatePredictionShift", ">", "max_prediction_share_shift"),
]
# (panel title, setting): the panel's red threshold is the setting.
DASHBOARD_THRESHOLDS = [
    ("Latency of /invocations (p50, p95, p99)", "serving_p99_budget_seconds"),
    ("Error ratio of /invocations", "max_error_ratio"),
    ("Holdout accuracy", "min_holdout_accuracy"),
    ("Macro F1", "min_macro_f1"),
    ("ROC AUC", "min_roc_auc"),
    ("Feature drift (PSI) by feature", "max_serving_drift_psi"),
    ("Prediction drift (PSI)", "max_serving_drift_psi"),
]

_TRAILING_THRESHOLD = re.compile(r"(?P<op>[<>]=?|[=!]=)\s*(?P<number>[0-9][0-9.eE+-]*)\s*$")
_RECORDING_RULE_NAME = re.compile(r"^[a-z_]+:[a-z0-9_]+:[a-z0-9_]+$")


# --- fixtures --------------------------------------------------------------


@pytest.fixture(scope="module")
def project_settings() -> Settings:
    """The settings of the project's pyproject.toml alone.

    Not the session `settings`: a --mlgate-config file may override them for
    one gate session, but alerts.yml is written once for the project.
    """
    return load_settings(ROOT / "pyproject.toml", workdir=ROOT, environ={})


@pytest.fixture(scope="module")
def rule_groups() -> list[dict[str, Any]]:
    """The groups of alerts.yml, parsed once for the structural tests."""
    return load_yaml(ALERT_RULES)["groups"]


@pytest.fixture(scope="module")
def alerts(rule_groups: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Alerting rules of alerts.yml by name."""
    return {rule["alert"]: rule for group in rule_groups for rule in group["rules"] if "alert" in rule}


@pytest.fixture(scope="module")
def recorded_names(rule_groups: list[dict[str, Any]]) -> set[str]:
    """The series names alerts.yml records; the dashboard may query them too."""
    return {rule["record"] for group in rule_groups for rule in group["rules"] if "record" in rule}


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    """The provisioned Grafana dashboard, parsed once."""
    return load_dashboard()


# --- alerts.yml agrees with the settings and with itself --------------------


@pytest.mark.parametrize(("alert_name", "comparison", "setting"), ALERT_THRESHOLDS)
def test_alert_threshold_equals_setting(
    alerts: dict[str, dict[str, Any]],
    project_settings: Settings,
    alert_name: str,
    comparison: str,
    setting: str,
) -> None:
    expr = alerts[alert_name]["expr"]
    match = _TRAILING_THRESHOLD.search(expr)
    assert match, f"{alert_name}: expr must end with '{comparison} <number>' (alerts.yml): {expr!r}"
    assert match["op"] == comparison, f"{alert_name} compares with {match['op']}, not {comparison}"
    assert float(match["number"]) == getattr(project_settings, setting), (
        f"{alert_name} fires at {match['number']} but {setting} is "
        f"{getattr(project_settings, setting)}; change alerts.yml and alerts.test.yml with it"
    )


def test_p99_budget_is_a_latency_bucket_boundary(project_settings: Settings) -> None:
    # Off a boundary, histogram_quantile's linear interpolation inside a bucket,
    # not the measured latencies, decides whether the alert fires.
    assert project_settings.serving_p99_budget_seconds in DURATION_BUCKETS_SECONDS


def test_every_alert_has_severity_summary_and_description(alerts: dict[str, dict[str, Any]]) -> None:
    for name, rule in alerts.items():
        assert rule.get("labels", {}).get("severity") in {"critical", "warning"}, name
        assert rule.get("annotations", {}).get("summary"), f"{name} has no summary"
        assert rule.get("annotations", {}).get("description"), f"{name} has no description"


def test_required_alerts_exist(alerts: dict[str, dict[str, Any]]) -> None:
    assert {
        "MlgateP99LatencyOverBudget",
        "MlgateErrorRatioHigh",
        "MlgateTargetDown",
        "MlgateModelAccuracyBelowMinimum",
        "MlgateNoTraffic",
        "MlgateFeatureDrift",
        "MlgatePredictionDrift",
        "MlgatePredictionShift",
    } <= set(alerts)


def test_every_alert_is_unit_tested_firing_and_not_firing(alerts: dict[str, dict[str, Any]]) -> None:
    cases = [
        case
        for test in load_yaml(ALERT_RULE_TESTS)["tests"]
        for case in test.get("alert_rule_test", [])
    ]
    for name in alerts:
        outcomes = {bool(case.get("exp_alerts")) for case in cases if case["alertname"] == name}
        assert True in outcomes, f"alerts.test.yml never shows {name} firing"
        assert False in outcomes, f"alerts.test.yml never shows {name} not firing"


def test_recording_rules_are_named_level_metric_operations(recorded_names: set[str]) -> None:
    badly_named = {name for name in recorded_names if not _RECORDING_RULE_NAME.match(name)}
    assert not badly_named, f"recording rules must be named level:metric:operations: {badly_named}"


def test_rule_exprs_name_only_exported_metrics_or_recorded_rules(
    rule_groups: list[dict[str, Any]], recorded_names: set[str]
) -> None:
    known = EXPORTED_SERIES | recorded_names
    for rule in (rule for group in rule_groups for rule in group["rules"]):
        unknown = metric_names(rule["expr"]) - known
        name = rule.get("alert") or rule.get("record")
        assert not unknown, f"{name} names unknown series {unknown}"


def test_metric_name_check_catches_a_misspelt_metric() -> None:
    expr = (
        "sum by (job, le) "
        '(rate(mlgate_inference_request_duraton_seconds_bucket{job=~"mlgate-.*"}[5m]))'
    )
    assert metric_names(expr) == {"mlgate_inference_request_duraton_seconds_bucket"}
    assert metric_names(expr) - EXPORTED_SERIES


def test_prometheus_scrapes_the_jobs_the_alerts_watch() -> None:
    config = load_yaml(PROMETHEUS_CONFIG)
    assert config["rule_files"] == ["alerts.yml"], "rule_files must be relative to prometheus.yml"
    assert {job["job_name"] for job in config["scrape_configs"]} == SCRAPE_JOBS


# --- the Grafana dashboard and its provisioning -----------------------------



def test_dashboard_queries_name_only_exported_metrics_or_recorded_rules(
    dashboard: dict[str, Any], recorded_names: set[str]
) -> None:
    known = EXPORTED_SERIES | recorded_names
    for key, expr in dashboard_queries(dashboard).items():
        names = metric_names(expr)
        assert names, f"{key} selects no metric: {expr!r}"
        assert not names - known, f"{key} names unknown series {names - known}: {expr!r}"


def test_dashboard_has_the_required_panels(dashboard: dict[str, Any]) -> None:
    exprs = " ".join(dashboard_queries(dashboard).values())
    for series in (
        "mlgate_inference_requests:rate1m",
        "p50_5m",
        "p95_5m",
        "p99_5m",
        "errors_per_requests:ratio_rate5m",
        "mlgate_inference_in_flight_requests",
        "mlgate_predictions:rate5m",
        *MODEL_GAUGES,
        "mlgate_feature_drift_psi",
        "mlgate_drift_window_rows",
        "mlgate_prediction_share",
        "mlgate_prediction_reference_share",
        "mlgate_prediction_drift_psi",
        "mlgate_prediction_value_bucket",
    ):
        assert series in exprs, f"no panel shows {series}"


def test_regressor_value_panel_shows_quantiles_of_the_prediction_histogram(dashboard: dict[str, Any]) -> None:
    (panel,) = [p for p in dashboard["panels"] if p["title"] == "Predicted values of a regressor (p10, p50, p90)"]
    quantiles = [re.match(r"histogram_quantile\((0\.\d+), sum by \(job, le\) \(rate\(mlgate_prediction_value_bucket\{", t["expr"])
                 for t in panel["targets"]]
    assert all(quantiles), [t["expr"] for t in panel["targets"]]
    assert [float(q[1]) for q in quantiles] == [0.1, 0.5, 0.9]


def test_dashboard_panels_are_well_formed(dashboard: dict[str, Any]) -> None:
    assert dashboard["uid"] and dashboard["title"]
    assert 36 <= dashboard["schemaVersion"] <= 41
    panel_ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(panel_ids) == len(set(panel_ids)), "panel ids must be unique"
    occupied: set[tuple[int, int]] = set()
    for panel in dashboard["panels"]:
        assert panel["type"] in PANEL_TYPES | {ROW_TYPE}, panel["title"]
        assert panel["type"] == ROW_TYPE or panel["targets"], f"{panel['title']} has no query"
        assert panel["type"] != ROW_TYPE or panel["gridPos"]["w"] == 24, f"row {panel['title']} must span the width"
        targets = panel.get("targets", [])
        assert len({target["refId"] for target in targets}) == len(targets)
        grid = panel["gridPos"]
        assert grid["x"] >= 0 and grid["w"] > 0 and grid["x"] + grid["w"] <= 24, panel["title"]
        cells = {
            (x, y)
            for x in range(grid["x"], grid["x"] + grid["w"])
            for y in range(grid["y"], grid["y"] + grid["h"])
        }
        assert not cells & occupied, f"{panel['title']} overlaps another panel"
        occupied |= cells


def test_dashboard_queries_use_the_provisioned_datasource(dashboard: dict[str, Any]) -> None:
    (datasource,) = load_yaml(DATASOURCE_PROVISIONING)["datasources"]
    expected = {"type": datasource["type"], "uid": datasource["uid"]}
    assert datasource["url"] == "http://127.0.0.1:9090"
    for panel in (p for p in dashboard["panels"] if p["type"] != ROW_TYPE):
        assert panel["datasource"] == expected, panel["title"]
        for target in panel["targets"]:
            assert target["datasource"] == expected, f"{panel['title']} {target['refId']}"
    for variable in dashboard["templating"]["list"]:
        assert variable["datasource"] == expected, variable["name"]


@pytest.mark.parametrize(("title", "setting"), DASHBOARD_THRESHOLDS)
def test_dashboard_threshold_equals_setting(
    dashboard: dict[str, Any], project_settings: Settings, title: str, setting: str
) -> None:
    (panel,) = [panel for panel in dashboard["panels"] if panel["title"] == title]
    marked = panel["fieldConfig"]["defaults"]["thresholds"]["steps"][-1]["value"]
    expected = getattr(project_settings, setting)
    assert marked == expected, f"panel {title!r} marks {marked} but {setting} is {expected}"


def test_dashboard_provider_loads_the_dashboards_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    # Grafana expands ${VAR} in provisioning files; the README sets this one.
    monkeypatch.setenv("MLGATE_GRAFANA_DASHBOARDS_DIR", str(DASHBOARDS_DIR))
    (provider,) = load_yaml(DASHBOARD_PROVISIONING)["providers"]
    assert provider["type"] == "file"
    path = Path(os.path.expandvars(provider["options"]["path"]))
    assert path.is_absolute() and (path / DASHBOARD.name).is_file()


