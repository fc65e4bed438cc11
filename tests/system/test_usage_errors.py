"""A bad setting stops a real session at once: exit status 4 (pytest's usage error), one line
that names the key or path, no traceback, nothing written. The CLI's own usage errors too.
"""

from __future__ import annotations

import sys

import pytest

# --- usage errors in a real session -------------------------------------------------------

USAGE_ERRORS = {
    "missing dataset file": (["--mlgate-dataset", "data/absent.csv"], {}, "data/absent.csv"),
    "missing target column": (["--mlgate-target", "diagnosis"], {}, "'diagnosis'"),
    "missing config file": (["--mlgate-config", "absent.toml"], {}, "absent.toml"),
    "unknown key": ([], {"min_accuracy": 0.9}, "'min_accuracy'"),
    "wrong type": ([], {"random_seed": "forty-two"}, "'random_seed'"),
    "threshold outside 0..1": ([], {"min_roc_auc": 1.5}, "'min_roc_auc'"),
    "bad estimator name": ([], {"estimator": "sklearn.ensemble.RandomForrestClassifier"}, "'estimator'"),
    "bad estimator parameter": ([], {"estimator_params": {"n_trees": 10}}, "'estimator_params'"),
}


@pytest.mark.slow
@pytest.mark.parametrize("args, config, named", USAGE_ERRORS.values(), ids=USAGE_ERRORS.keys())
def test_bad_setting_stops_session_with_one_usage_error(project, args, config, named):
    if config:
        args = [*args, "--mlgate-config", str(project.write_config(**config))]
    result = project.run_gates(*args, timeout=120)
    assert result.returncode == pytest.ExitCode.USAGE_ERROR, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    errors = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(errors) == 1, result.stderr
    assert errors[0].startswith("ERROR: mlgate: ")
    assert named in errors[0]
    # Stopped before anything was opened or written.
    assert not (project.root / "mlflow.db").exists()
    assert not project.artifacts.exists()


@pytest.mark.slow
def test_expectations_command_with_missing_file_exits_2_with_one_line(project):
    result = project.run(sys.executable, "-m", "mlgate", "expectations", "--dataset", "absent.csv", "--target", "y")
    assert result.returncode == 2
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("mlgate expectations: error: ")
    assert "absent.csv" in lines[0]
