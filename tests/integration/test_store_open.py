"""Opening one SQLite store from processes that start together, and the lock that makes it safe.

Real processes on a real SQLite file: the first creates and migrates the
schema under `mlflow.db.lock`, the others wait and then open it; a holder
killed with SIGKILL leaves no lock behind; a store that exists is opened
without the lock at all.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from mlgate import tracking
from mlgate.locking import LockTimeout, exclusive
from tests.support.processes import stop
from tests.support.project import ROOT, clean_env

OPENERS = 4
OPEN = "import sys; from mlgate import tracking; tracking.open_store(sys.argv[1]).search_experiments(); print('opened')"
HOLD = (
    "import sys, time; from pathlib import Path; from mlgate.locking import exclusive\n"
    "with exclusive(Path(sys.argv[1]), 5):\n    print('held', flush=True); time.sleep(600)\n"
)


def python(code: str, *args: str, **options) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", code, *args], env=clean_env(PYTHONPATH=str(ROOT)), text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, **options,
    )


@pytest.fixture
def holder(tmp_path):
    """A process that holds the lock on tmp_path/mlflow.db.lock until killed."""
    lock_file = tmp_path / ("mlflow.db" + tracking.STORE_LOCK_SUFFIX)
    process = python(HOLD, str(lock_file))
    try:
        assert process.stdout.readline().strip() == "held", process.stderr.read()
        yield process, lock_file
    finally:
        stop(process, signal.SIGKILL)


def test_processes_opening_a_fresh_store_together_all_get_it(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    processes = [python(OPEN, uri) for _ in range(OPENERS)]
    results = [process.communicate(timeout=300) for process in processes]
    for process, (out, err) in zip(processes, results):
        assert process.returncode == 0 and out.strip() == "opened", err[-3000:]
        assert "OperationalError" not in err
    assert tracking._ready(Path(tmp_path / "mlflow.db"))


def test_a_lock_holder_killed_with_sigkill_blocks_nobody(holder):
    process, lock_file = holder
    with pytest.raises(LockTimeout, match=str(lock_file)):  # held: a waiter gives up, naming the file
        with exclusive(lock_file, wait_seconds=0.3):
            pass
    stop(process, signal.SIGKILL)
    with exclusive(lock_file, wait_seconds=5) as waited:  # the kernel dropped the dead holder's lock
        assert waited < 5


def test_an_existing_store_is_opened_while_another_process_holds_its_lock(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    created = python(OPEN, uri)
    assert created.communicate(timeout=300)[0].strip() == "opened"
    lock_file = tmp_path / ("mlflow.db" + tracking.STORE_LOCK_SUFFIX)
    holding = python(HOLD, str(lock_file))
    try:
        assert holding.stdout.readline().strip() == "held"
        opener = python(OPEN, uri)
        out, err = opener.communicate(timeout=120)  # would wait STORE_LOCK_WAIT_SECONDS if it took the lock
        assert opener.returncode == 0 and out.strip() == "opened", err[-3000:]
    finally:
        stop(holding, signal.SIGKILL)
