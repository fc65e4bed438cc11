"""The metrics and alerts reference: every Prometheus metric mlgate exports, and the alert rules.

Metrics are read from a fresh CollectorRegistry holding the serving metrics
and the drift collector (on a one-feature profile), so names, types, labels and
help are the ones a scrape shows. Alerts are read from the alert rules that
`mlgate init` writes (monitoring/alerts.yml).
"""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import yaml
from prometheus_client import CollectorRegistry
from prometheus_client.metrics import MetricWrapperBase

import mlgate.scaffold
from mlgate.monitoring.drift import FeatureProfile, Profile
from mlgate.monitoring.drift_window import DriftWindow
from mlgate.monitoring.metrics import ServingMetrics
from mlgate.reference.source_comments import table_cell
from mlgate.settings import Settings

ALERT_RULES = Path(mlgate.scaffold.__file__).parent / "files" / "monitoring" / "alerts.yml"
SUFFIX = {"counter": "_total"}


def _one_feature_profile() -> Profile:
    feature = FeatureProfile("x", "numeric", ("(-inf, 0]", "(0, inf)", "missing"), (0.5, 0.5, 0.0), edges=(0.0,))
    return Profile(features=(feature,), labels=("a",), label_shares=(1.0,), rows=1, holdout_rows=1)


def exported_metrics() -> list[tuple[str, str, str, str]]:
    """(name as scraped, type, labels, help) of every metric, sorted by name."""
    registry = CollectorRegistry()
    metrics = ServingMetrics(registry)
    defaults = Settings()
    window = DriftWindow(_one_feature_profile(), ["x"], defaults.drift_window_half_life_seconds,
                         defaults.drift_min_window_rows)
    metrics.track_drift(window)
    # A served regressor adds its predicted-value histogram: a model of that kind shows it.
    from sklearn.dummy import DummyRegressor

    metrics.set_model(SimpleNamespace(name="m", version="1", run_id="r", alias="champion",
                                      model=DummyRegressor(), gate_scores={}, drift_profile=None))
    labels = {
        wrapper._name: wrapper._labelnames
        for wrapper in vars(metrics).values()
        if isinstance(wrapper, MetricWrapperBase)
    }
    labels.update({wrapper._name: wrapper._labelnames for wrapper in metrics.gate_gauges.values()})
    labels["mlgate_model_info"] = metrics.model_info._labelnames
    rows = []
    for family in registry.collect():
        names = labels.get(family.name) or tuple(
            sorted({key for sample in family.samples for key in sample.labels if key != "le"})
        )
        name = family.name + SUFFIX.get(family.type, "")
        rows.append((name, family.type, ", ".join(names), family.documentation))
    return sorted(rows)


def alert_rules() -> list[dict]:
    document = yaml.safe_load(ALERT_RULES.read_text(encoding="utf-8"))
    return [rule for group in document["groups"] for rule in group["rules"] if "alert" in rule]


INTRO = """# Metrics and alerts

`mlgate serve` answers `GET /metrics`; so does `mlgate sidecar` in front of any MLflow-protocol
server (`mlflow models serve`). With `--workers N` the values are summed across workers.
The model gauges start as NaN (a model served without gate tags must not look like accuracy 0);
the drift gauges read NaN until the window holds `drift_min_window_rows` rows.

## Metrics

| metric | type | labels | what it measures |
| --- | --- | --- | --- |
"""

ALERTS_INTRO = """
## Alerts

The rules `mlgate init` writes to `monitoring/alerts.yml`, tested firing and not firing by
`promtool test rules monitoring/alerts.test.yml`. Their thresholds are the settings named in
each summary (`tests/unit/test_monitoring_config.py` fails when one drifts from
`[tool.mlgate]`).

| alert | for | severity | fires when |
| --- | --- | --- | --- |
"""


LONG_EXPR_CHARS = 100


def _fires_when(rule: dict) -> str:
    summary = re.sub(r"\{\{ \$labels\.(\w+) \}\}", r"<\1>", rule["annotations"]["summary"])
    expr = " ".join(rule["expr"].split())
    shown = f"`{expr}`" if len(expr) <= LONG_EXPR_CHARS else "(see the rule in `monitoring/alerts.yml`)"
    return f"{table_cell(summary)}: {table_cell(shown)}"


def render_metrics() -> str:
    rows = [
        f"| `{name}` | {kind} | {f'`{labels}`' if labels else '—'} | {table_cell(text)} |"
        for name, kind, labels, text in exported_metrics()
    ]
    alerts = [
        f"| `{rule['alert']}` | {rule.get('for', '—')} | {rule.get('labels', {}).get('severity', '—')} | "
        f"{_fires_when(rule)} |"
        for rule in alert_rules()
    ]
    return INTRO + "\n".join(rows) + "\n" + ALERTS_INTRO + "\n".join(alerts) + "\n"
