"""The monitoring configuration passes the real Prometheus tools.

`promtool` checks monitoring/prometheus.yml and alerts.yml and runs the rule
unit tests in alerts.test.yml; deliberately broken files show it would catch a
mistake; every Grafana panel query is parsed by promtool. Last, a real
Prometheus started by tests/support/prometheus.py scrapes itself and loads
the rules.

Tests that need promtool or prometheus skip when Debian's `prometheus`
package is not installed.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from tests.support.monitoring_config import (
    ALERT_RULE_TESTS,
    ALERT_RULES,
    PROMETHEUS_CONFIG,
    ROOT,
    dashboard_queries,
    load_dashboard,
    load_yaml,
)
from tests.support.ports import free_port
from tests.support.prometheus import RunningPrometheus, running_prometheus


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



def test_dashboard_queries_parse_as_promql(
    promtool: str, tmp_path: Path
) -> None:
    queries = dashboard_queries(load_dashboard())
    records = {f"dashboard:{key.replace(' ', '_')}:query": expr for key, expr in queries.items()}
    result = check_promql(promtool, tmp_path, records)
    assert result.returncode == 0, promtool_report(result)



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
