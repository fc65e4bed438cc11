"""Company: sessions started together on one fresh store, `-n` (pytest-xdist), gate files that break.

Four full gate sessions (different model names, one checkout, one fresh
SQLite store, one artifacts/ folder) start at the same moment: each must run
and pass every gate and promote its own model, with no schema error. The
5-round version of this, with lock wait times, is benchmarks/concurrent_sessions.py.
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from mlgate import tracking
from tests.support.processes import stop
from tests.support.project import clean_env

pytestmark = pytest.mark.slow

SESSIONS = 4
TIMEOUT_SECONDS = 600
SCHEMA_ERRORS = re.compile(r"OperationalError|duplicate column|IntegrityError|alembic")
ALL_PASSED = re.compile(r"All (\d+) gates passed: registered (\S+) version 1 and moved @champion to it")


def test_four_sessions_started_together_on_a_fresh_store_all_run_every_gate_and_promote(project, tracking_store):
    # The claim is about the store, not how deep hypothesis searches: fewer examples per claim.
    config = project.write_config(behaviour_max_examples=10)
    assert not (project.root / "mlflow.db").exists()
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "pytest", "gates/", "-p", "no:cacheprovider", "--mlgate-config", str(config),
             "--mlgate-model-name", f"concurrent-{i}"],
            cwd=project.root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env=clean_env(),
        )
        for i in range(SESSIONS)
    ]
    try:
        outputs = [process.communicate(timeout=TIMEOUT_SECONDS)[0] for process in processes]
    finally:
        for process in processes:
            stop(process)
    for i, (process, output) in enumerate(zip(processes, outputs)):
        assert process.returncode == 0, f"session {i}:\n{output[-4000:]}"
        assert not SCHEMA_ERRORS.search(output), f"session {i}:\n{output[-4000:]}"
    passed = [ALL_PASSED.search(output) for output in outputs]
    assert all(passed), outputs
    # Every session ran the same, whole gate set, and each promoted its own model.
    assert len({int(m.group(1)) for m in passed}) == 1
    assert sorted(m.group(2) for m in passed) == [f"concurrent-{i}" for i in range(SESSIONS)]
    store = tracking_store(project.tracking_uri)
    for i in range(SESSIONS):
        champion = store.client.get_model_version_by_alias(f"concurrent-{i}", tracking.CHAMPION_ALIAS)
        assert champion.tags[tracking.TAG_VERDICT] == tracking.VERDICT_PROMOTED
    assert (project.root / ("mlflow.db" + tracking.STORE_LOCK_SUFFIX)).is_file()


def test_gates_under_xdist_are_refused_with_one_usage_error_that_says_what_to_run(project):
    result = project.run_gates("-n", "2", timeout=120)
    output = result.stdout + result.stderr
    assert result.returncode == pytest.ExitCode.USAGE_ERROR, output
    errors = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(errors) == 1, result.stderr
    assert errors[0].startswith("ERROR: mlgate: ") and "-n 2 (pytest-xdist) is refused" in errors[0]
    assert "Run `pytest gates/` without -n" in errors[0]
    assert "left out" not in output and "Traceback" not in output
    # Refused before any worker started, any store opened or anything was written.
    assert not (project.root / "mlflow.db").exists() and not project.artifacts.exists()


def test_a_gate_file_that_fails_to_import_is_named_as_such_not_as_left_out(project):
    (project.root / "gates" / "model" / "test_broken.py").write_text("import a_module_nobody_installed\n")
    result = project.run_gates(timeout=300)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "gate file(s) that could not be collected (see the errors above): model/test_broken.py." in output
    assert "left out" not in output
    assert "All " not in output and not (project.artifacts / "model").exists()
