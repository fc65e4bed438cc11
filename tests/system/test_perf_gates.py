"""The perf gates decide promotion: a model too slow to serve is stopped however accurate it is.

One red session in a project copy, with a 2,000-tree forest that passes
every accuracy gate but needs ~60 ms a prediction. (Green sessions, where the
perf gates pass on the default model, are tests/system/test_gate_session.py's.)
"""

from __future__ import annotations

import json

import pytest

from model import tracking
from tests.support.project import copy_project

pytestmark = pytest.mark.slow

LATENCY_GATES = {
    "test_serving_p50_latency_within_budget",
    "test_serving_p95_latency_within_budget",
    "test_serving_p99_latency_within_budget",
}
PERF_MEASURES = {
    "serving_p50_seconds",
    "serving_p95_seconds",
    "serving_p99_seconds",
    "exporter_overhead_p50_ratio",
    "metrics_render_p99_seconds",
    "sidecar_overhead_p50_seconds",
}


def test_a_model_too_slow_to_serve_is_stopped_by_the_perf_gates_and_nothing_is_registered(tmp_path, tracking_store):
    project = copy_project(tmp_path / "project")
    # Shallow trees train in seconds and stay accurate; 2,000 of them make every prediction slow.
    # Fewer behaviour examples: this test is about the perf gates, and each example is a slow predict.
    config = project.write_config(estimator_params={"n_estimators": 2000, "max_depth": 3}, behaviour_max_examples=5)
    result = project.run_gates("--mlgate-config", str(config), timeout=400)
    assert result.returncode != 0, result.stdout[-3000:]

    report = json.loads((project.artifacts / "gate_report.json").read_text(encoding="utf-8"))
    not_passed = {g["name"]: g for g in report["gates"] if g["status"] != "passed"}
    assert LATENCY_GATES <= set(not_passed), sorted(not_passed)
    # Nothing but speed stopped it: the accuracy gates passed.
    assert {g["family"] for g in not_passed.values()} == {"perf"}, sorted(not_passed)
    assert not report["promoted"] and "did not pass" in " ".join(report["reasons"])
    assert report["perf"].keys() == PERF_MEASURES
    p50 = report["perf"]["serving_p50_seconds"]
    assert p50["value"] > p50["budget"]
    assert "serving_p50_latency" in (project.artifacts / "gate_report.md").read_text(encoding="utf-8")

    store = tracking_store(project.tracking_uri)
    assert store.versions() == []
    run = store.latest_run()
    assert PERF_MEASURES <= {k.removeprefix("perf.") for k in run.data.metrics}
    assert run.data.tags[tracking.gate_tag_key("perf", "test_serving_p50_latency_within_budget")].startswith("failed value=")
