"""The monitoring files as the tests read them: paths, the exported series, PromQL's metric names.

Shared by the static checks (tests/unit/test_monitoring_config.py) and the
checks with the real Prometheus tools (tests/integration/test_monitoring_tools.py).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.project import ROOT

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
# The served model's gauges: what it is and what its gates measured.
MODEL_GAUGES = (
    "mlgate_model_info",
    "mlgate_model_holdout_accuracy",
    "mlgate_model_macro_f1",
    "mlgate_model_roc_auc",
    "mlgate_model_last_green_gate_timestamp_seconds",
)
_COUNTERS_AND_GAUGES = {
    "mlgate_inference_requests_total",
    "mlgate_inference_in_flight_requests",
    "mlgate_predictions_total",
    *MODEL_GAUGES,
    # Drift (monitoring/drift_window.py): only from a server whose model carries a profile.
    "mlgate_feature_drift_psi",
    "mlgate_prediction_share",
    "mlgate_prediction_reference_share",
    "mlgate_prediction_drift_psi",
    "mlgate_drift_window_rows",
}
_HISTOGRAMS = {"mlgate_inference_request_duration_seconds", "mlgate_inference_payload_rows", "mlgate_prediction_value"}
EXPORTED_SERIES = (
    _COUNTERS_AND_GAUGES
    | {name + suffix for name in _HISTOGRAMS for suffix in ("_bucket", "_sum", "_count")}
    | {"up"}
)
# The buckets of mlgate_inference_request_duration_seconds, as monitoring/metrics.py declares them.
DURATION_BUCKETS_SECONDS = (
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0,
)

SCRAPE_JOBS = {"mlgate-server", "mlgate-sidecar"}
# What each dashboard template variable stands for when a panel query is checked.
DASHBOARD_VARIABLE_VALUES = {"job": "mlgate-server"}
PANEL_TYPES = {"timeseries", "stat"}
# A row only titles the panels below it: no query, no datasource.
ROW_TYPE = "row"

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


def metric_names(expr: str) -> set[str]:
    """The metric (and recording rule) names an expression selects."""
    stripped = _STRINGS.sub('""', expr)
    stripped = _MATCHERS.sub("", stripped)
    stripped = _RANGES.sub("", stripped)
    stripped = _GROUPING.sub("", stripped)
    return {
        name for name in _IDENTIFIER.findall(stripped) if name.lower() not in _KEYWORDS
    }


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



def load_dashboard() -> dict[str, Any]:
    """The provisioned Grafana dashboard."""
    return json.loads(DASHBOARD.read_text(encoding="utf-8"))
