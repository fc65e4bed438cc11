"""The monitoring configuration works with the real Prometheus tools and agrees with the settings.

`promtool` checks monitoring/prometheus.yml and alerts.yml and runs the rule
unit tests in alerts.test.yml; deliberately broken files show it would catch a
mistake. The thresholds in the alert expressions and the dashboard's threshold
lines are read back and compared with [tool.mlgate]. Every Grafana panel query
is parsed by promtool and may name only the metrics the scoring server exports
(EXPORTED_SERIES, the contract with monitoring/metrics.py) or rules recorded
in alerts.yml. Last, a real Prometheus started by tests/prometheus_harness.py
scrapes itself and loads the rules.

Tests that need promtool or prometheus skip when Debian's `prometheus`
package is not installed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from model.settings import Settings, load_settings
from tests.prometheus_harness import RunningPrometheus, free_port, running_prometheus

ROOT = Path(__file__).resolve().parents[1]
MONITORING = ROOT / "monitoring"
PROMETHEUS_CONFIG = MONITORING / "prometheus.yml"
ALERT_RULES = MONITORING / "alerts.yml"
ALERT_RULE_TESTS = MONITORING / "alerts.test.yml"
GRAFANA = MONITORING / "grafana"
DASHBOARDS_DIR = GRAFANA / "dashboards"
DASHBOARD = DASHBOARDS_DIR / "mlgate.json"
DATASOURCE_PROVISIONING = GRAFANA / "provisioning" / "datasources" / "prometheus.yml"
DASHBOARD_PROVISIONING = GRAFANA / "provisioning" / "dashboards" / "mlgate.yml"

# The series the scoring server and the sidecar expose (monitoring/metrics.py).
# Histograms appear only as _bucket/_sum/_count: the bare name has no series.
# `up` is not exported but written by Prometheus for every scrape.
_COUNTERS_AND_GAUGES = {
    "mlgate_inference_requests_total",
    "mlgate_inference_in_flight_requests",
    "mlgate_predictions_total",
    "mlgate_model_info",
    "mlgate_model_holdout_accuracy",
    "mlgate_model_macro_f1",
    "mlgate_model_roc_auc",
    "mlgate_model_last_green_gate_timestamp_seconds",
}
_HISTOGRAMS = {"mlgate_inference_request_duration_seconds", "mlgate_inference_payload_rows"}
EXPORTED_SERIES = (
    _COUNTERS_AND_GAUGES
    | {name + suffix for name in _HISTOGRAMS for suffix in ("_bucket", "_sum", "_count")}
    | {"up"}
)
# The buckets of mlgate_inference_request_duration_seconds, as monitoring/metrics.py declares them.
DURATION_BUCKETS_SECONDS = (
    0.0005, 0.001, 0.0025, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0,
)

SCRAPE_JOBS = {"mlgate-server", "mlgate-sidecar"}
# What each dashboard template variable stands for when a panel query is checked.
DASHBOARD_VARIABLE_VALUES = {"job": "mlgate-server"}
PANEL_TYPES = {"timeseries", "stat"}

# (alert, comparison, setting): the number ending the alert's expr is the setting.
ALERT_THRESHOLDS = [
    ("MlgateP99LatencyOverBudget", ">", "serving_p99_budget_seconds"),
    ("MlgateErrorRatioHigh", ">", "max_error_ratio"),
    ("MlgateModelAccuracyBelowMinimum", "<", "min_holdout_accuracy"),
]
# (panel title, setting): the panel's red threshold is the setting.
DASHBOARD_THRESHOLDS = [
    ("Latency of /invocations (p50, p95, p99)", "serving_p99_budget_seconds"),
    ("Error ratio of /invocations", "max_error_ratio"),
    ("Holdout accuracy", "min_holdout_accuracy"),
    ("Macro F1", "min_macro_f1"),
    ("ROC AUC", "min_roc_auc"),
]

_TRAILING_THRESHOLD = re.compile(r"(?P<op>[<>]=?|[=!]=)\s*(?P<number>[0-9][0-9.eE+-]*)\s*$")
_RECORDING_RULE_NAME = re.compile(r"^[a-z_]+:[a-z0-9_]+:[a-z0-9_]+$")

# Just enough of PromQL's lexer to find the metric names in an expression:
# drop strings, label matchers, ranges and grouping clauses, then every
# identifier left that is not a function call or a keyword is a metric name.
_STRINGS = re.compile(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'|`[^`]*`')
_MATCHERS = re.compile(r"\{[^{}]*\}")
_RANGES = re.compile(r"\[[^\]]*\]")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_IDENTIFIER = re.compile(r"(?<![\w.:])([a-zA-Z_:][\w:]*)(?![\w:])(?!\s*\()")
_KEYWORDS = {
    "and", "or", "unless", "atan2", "bool", "offset", "by", "without", "on", "ignoring",
    "group_left", "group_right", "inf", "nan",
}
_TEMPLATE_VARIABLE = re.compile(r"\$\{?(\w+)\}?")


# --- helpers ---------------------------------------------------------------


def metric_names(expr: str) -> set[str]:
    """The metric (and recording rule) names an expression selects."""
    stripped = _STRINGS.sub('""', expr)
    stripped = _MATCHERS.sub("", stripped)
    stripped = _RANGES.sub("", stripped)
    stripped = _GROUPING.sub("", stripped)
    return {
        name for name in _IDENTIFIER.findall(stripped) if name.lower() not in _KEYWORDS
    }


def run_promtool(promtool: str, *args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [promtool, *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def promtool_report(result: subprocess.CompletedProcess[str]) -> str:
    return f"$ {' '.join(result.args)}\n{result.stdout}{result.stderr}"


def check_promql(
    promtool: str, folder: Path, exprs: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """`promtool check rules` on a file recording each expr: PromQL's own parser, no server."""
    rules_file = folder / "promql_check.yml"
    rules = [{"record": record, "expr": expr} for record, expr in exprs.items()]
    rules_file.write_text(
        yaml.safe_dump({"groups": [{"name": "promql-check", "rules": rules}]}, sort_keys=False),
        encoding="utf-8",
    )
    return run_promtool(promtool, "check", "rules", rules_file)


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def dashboard_queries(dashboard: dict[str, Any]) -> dict[str, str]:
    """Every panel target's expr, keyed `panel <id> <refId>`, with template variables filled in."""
    return {
        f"panel {panel['id']} {target['refId']}": fill_variables(target["expr"], panel["title"])
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
    }


def fill_variables(expr: str, panel_title: str) -> str:
    """`expr` with each Grafana template variable replaced by DASHBOARD_VARIABLE_VALUES."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in DASHBOARD_VARIABLE_VALUES:
            pytest.fail(
                f"panel {panel_title!r} uses ${name}; give it a value in "
                "DASHBOARD_VARIABLE_VALUES so its query can be checked"
            )
        return DASHBOARD_VARIABLE_VALUES[name]

    return _TEMPLATE_VARIABLE.sub(value, expr)


def rule_health(prom: RunningPrometheus) -> dict[str, str]:
    """Each loaded rule's health: "unknown" until its group first ran, then "ok" or "err"."""
    return {rule["name"]: rule["health"] for group in prom.rule_groups() for rule in group["rules"]}


# --- fixtures --------------------------------------------------------------


@pytest.fixture(scope="module")
def promtool() -> str:
    """The promtool binary; without it these checks cannot run, so skip rather than fail."""
    path = shutil.which("promtool")
    if path is None:
        pytest.skip("promtool not found: apt-get install -y prometheus")
    return path


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
    return json.loads(DASHBOARD.read_text(encoding="utf-8"))


# --- promtool on the files as committed ------------------------------------


def test_prometheus_config_passes_promtool_check_config(promtool: str) -> None:
    result = run_promtool(promtool, "check", "config", PROMETHEUS_CONFIG)
    assert result.returncode == 0, promtool_report(result)


def test_alert_rules_pass_promtool_check_rules(promtool: str) -> None:
    result = run_promtool(promtool, "check", "rules", ALERT_RULES)
    assert result.returncode == 0, promtool_report(result)


def test_alert_rule_unit_tests_pass(promtool: str) -> None:
    result = run_promtool(promtool, "test", "rules", ALERT_RULE_TESTS)
    assert result.returncode == 0, promtool_report(result)


# --- promtool catches broken files (so the tests above can fail) -----------


@pytest.mark.parametrize(
    "broken_expr",
    [
        pytest.param("sum(rate(mlgate_inference_requests_total[5m])", id="unclosed-parenthesis"),
        pytest.param("rat(mlgate_inference_requests_total[5m])", id="unknown-function"),
        pytest.param("rate(mlgate_inference_requests_total[5x])", id="bad-duration"),
        pytest.param("rate(mlgate_inference_requests_total)", id="rate-of-instant-vector"),
    ],
)
def test_promtool_check_rules_rejects_a_broken_expression(
    promtool: str, tmp_path: Path, broken_expr: str
) -> None:
    result = check_promql(promtool, tmp_path, {"job:broken:rate5m": broken_expr})
    assert result.returncode != 0, promtool_report(result)
    assert "job:broken:rate5m" in result.stdout + result.stderr, promtool_report(result)


def test_promtool_test_rules_fails_a_wrong_expectation(promtool: str, tmp_path: Path) -> None:
    # A target that is up the whole time, and a test claiming MlgateTargetDown fires.
    wrong_test = {
        "rule_files": [str(ALERT_RULES)],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": [
                    {"series": 'up{job="mlgate-server", instance="127.0.0.1:8080"}', "values": "1x10"}
                ],
                "alert_rule_test": [
                    {
                        "eval_time": "5m",
                        "alertname": "MlgateTargetDown",
                        "exp_alerts": [
                            {
                                "exp_labels": {
                                    "severity": "critical",
                                    "job": "mlgate-server",
                                    "instance": "127.0.0.1:8080",
                                }
                            }
                        ],
                    }
                ],
            }
        ],
    }
    test_file = tmp_path / "wrong.test.yml"
    test_file.write_text(yaml.safe_dump(wrong_test, sort_keys=False), encoding="utf-8")
    result = run_promtool(promtool, "test", "rules", test_file)
    assert result.returncode != 0, promtool_report(result)
    assert "MlgateTargetDown" in result.stdout + result.stderr, promtool_report(result)


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


def test_dashboard_queries_parse_as_promql(
    promtool: str, tmp_path: Path, dashboard: dict[str, Any]
) -> None:
    queries = dashboard_queries(dashboard)
    records = {f"dashboard:{key.replace(' ', '_')}:query": expr for key, expr in queries.items()}
    result = check_promql(promtool, tmp_path, records)
    assert result.returncode == 0, promtool_report(result)


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
        "mlgate_model_info",
        "mlgate_model_holdout_accuracy",
        "mlgate_model_macro_f1",
        "mlgate_model_roc_auc",
        "mlgate_model_last_green_gate_timestamp_seconds",
    ):
        assert series in exprs, f"no panel shows {series}"


def test_dashboard_panels_are_well_formed(dashboard: dict[str, Any]) -> None:
    assert dashboard["uid"] and dashboard["title"]
    assert 36 <= dashboard["schemaVersion"] <= 41
    panel_ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(panel_ids) == len(set(panel_ids)), "panel ids must be unique"
    occupied: set[tuple[int, int]] = set()
    for panel in dashboard["panels"]:
        assert panel["type"] in PANEL_TYPES, panel["title"]
        assert panel["targets"], f"{panel['title']} has no query"
        assert len({target["refId"] for target in panel["targets"]}) == len(panel["targets"])
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
    for panel in dashboard["panels"]:
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


# --- a real Prometheus, via the harness ------------------------------------


def test_harness_prometheus_scrapes_itself(tmp_path: Path) -> None:
    with running_prometheus(scrape_self=True, workdir=tmp_path) as prom:
        (sample,) = prom.wait_for('up{job="prometheus"} == 1')
        assert sample["metric"]["instance"] == prom.url.removeprefix("http://")
        assert prom.wait_for('prometheus_build_info{job="prometheus"}')


def test_real_prometheus_loads_the_rules_and_flags_a_down_target(tmp_path: Path) -> None:
    # Nothing listens on this port: the scrape fails, `up` is 0 and
    # MlgateTargetDown goes pending (it fires only after `for: 1m`).
    closed = f"127.0.0.1:{free_port()}"
    with running_prometheus(
        {"mlgate-server": [closed]}, rule_files=[ALERT_RULES], workdir=tmp_path
    ) as prom:
        groups = {group["name"]: group for group in prom.rule_groups()}
        assert set(groups) == {group["name"] for group in load_yaml(ALERT_RULES)["groups"]}
        (alert,) = prom.wait_for('ALERTS{alertname="MlgateTargetDown"}')
        assert alert["metric"]["instance"] == closed
        assert alert["metric"]["alertstate"] == "pending"
        health = rule_health(prom)
        deadline = time.monotonic() + 10
        while "unknown" in health.values() and time.monotonic() < deadline:
            time.sleep(0.25)
            health = rule_health(prom)
        unhealthy = {name: state for name, state in health.items() if state != "ok"}
        assert not unhealthy, f"rules not evaluating cleanly in a real Prometheus: {unhealthy}"
