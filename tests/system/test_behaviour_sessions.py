"""Behaviour gates in whole gate sessions: a dataset without a spec, and a false claim reaching the report."""

from __future__ import annotations

import json

import pytest


@pytest.mark.slow
def test_a_dataset_without_a_spec_has_no_declared_gates_and_still_promotes(project):
    (project.root / "gates" / "expectations" / "breast_cancer.behaviour.toml").unlink()
    result = project.run_gates("-q")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    report = json.loads((project.artifacts / "gate_report.json").read_text())
    names = [g["name"] for g in report["gates"]]
    assert report["promoted"] and all(g["status"] == "passed" for g in report["gates"])
    assert "test_answer_independent_of_batch" in names
    assert not [n for n in names if n.startswith(("test_invariance", "test_directional", "test_no_behavioural"))]
    assert "skipped" not in result.stdout


@pytest.mark.slow
def test_a_falsifying_example_reaches_the_gate_report(project):
    spec = project.root / "gates" / "expectations" / "breast_cancer.behaviour.toml"
    spec.write_text(spec.read_text().replace('effect = "not_lower"', 'effect = "not_higher"', 1))
    result = project.run_gates("-q")
    assert result.returncode == 1
    report = json.loads((project.artifacts / "gate_report.json").read_text())
    failed = {g["name"]: g for g in report["gates"] if g["status"] != "passed"}
    assert list(failed) == ["test_directional_effect_as_declared[larger_worst_radius_not_less_malignant]"]
    gate = failed["test_directional_effect_as_declared[larger_worst_radius_not_less_malignant]"]
    assert "directional 'larger_worst_radius_not_less_malignant' broken: raising 'worst radius'" in gate["message"]
    assert "e.g. holdout row " in gate["message"] and gate["value"] > gate["threshold"] == 0.0
    markdown = (project.artifacts / "gate_report.md").read_text()
    assert "e.g. holdout row " in markdown and not report["promoted"]
