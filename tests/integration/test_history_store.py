"""`mlgate history` on real stores: a SQLite file and a real `mlflow server`.

The stores are filled through MlflowClient with what gate sessions leave
(tests/support/registry.py): whole sessions would cost minutes and show
nothing more about reading a history.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from mlflow import MlflowClient

from mlgate import tracking
from mlgate.session.history import LATENCY_PLOT, REPORT_FILE, SCORES_PLOT
from tests.support.ports import LOCALHOST, free_port
from tests.support.project import clean_env
from tests.support.registry import REFUSAL, make_history
from tests.support.serving import mlflow_tracking_server

ROOT = Path(__file__).resolve().parents[2]
NAME = "mlgate-classifier"
COMMIT = "073e7e0ebdc073c96bc289a5e07b24ddd916f968"


def history_command(tracking_uri: str, *args: str) -> subprocess.CompletedProcess:
    env = clean_env(MLFLOW_TRACKING_URI=tracking_uri, NO_PROXY=LOCALHOST, no_proxy=LOCALHOST)
    return subprocess.run(
        [sys.executable, "-m", "mlgate", "history", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )


@pytest.fixture(scope="module")
def sqlite_store(tmp_path_factory) -> str:
    """Four versions, the second refused (its race lost), the fourth the champion."""
    uri = f"sqlite:///{tmp_path_factory.mktemp('history') / 'mlflow.db'}"
    make_history(uri, NAME, 4, refused={2}, commit=COMMIT)
    return uri


def test_history_writes_the_report_and_plots_of_every_version(sqlite_store, tmp_path):
    result = history_command(sqlite_store, "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    assert f"4 version(s) of {NAME} read in" in result.stdout
    out = tmp_path / "out"
    assert {p.name for p in out.iterdir()} == {REPORT_FILE, SCORES_PLOT, LATENCY_PLOT}
    report = (out / REPORT_FILE).read_text(encoding="utf-8")
    assert "4 version(s) in" in report and "3 crowned, 1 refused" in report
    rows = [line for line in report.splitlines() if line.startswith("| ") and line[2].isdigit()]
    assert [row.split(" | ")[2] for row in rows] == ["👑 champion", "✅ crowned", "❌ refused", "✅ crowned"]
    assert f"- version 2: {REFUSAL.format(before=1, after=3)}" in report
    assert "recall malignant (0)" in report and f"`{COMMIT[:10]}`" in report


def test_history_reads_versions_and_runs_in_pages_not_one_call_per_version(sqlite_store, monkeypatch):
    """Paged down to 2 versions and 2 run ids per search: the calls follow the pages, never the versions."""
    calls: list[str] = []

    class Counting(MlflowClient):
        def __getattribute__(self, name):
            attribute = super().__getattribute__(name)
            if callable(attribute) and not name.startswith("_"):
                calls.append(name)
            return attribute

    monkeypatch.setattr(tracking.history, "VERSIONS_PAGE_SIZE", 2)
    monkeypatch.setattr(tracking.history, "RUN_IDS_PER_SEARCH", 2)
    versions, runs, aliases = tracking.model_history(Counting(sqlite_store, registry_uri=sqlite_store), NAME)
    assert [v.version for v in sorted(versions, key=lambda v: int(v.version))] == ["1", "2", "3", "4"]
    assert len(runs) == 4 and aliases == {tracking.CHAMPION_ALIAS: "4"}
    assert "get_run" not in calls and "get_model_version" not in calls
    assert 2 <= calls.count("search_model_versions") <= 3  # a last, empty page is allowed
    assert calls.count("search_runs") == 2


def test_history_of_a_model_not_in_the_store_says_what_to_do(sqlite_store, tmp_path):
    result = history_command(sqlite_store, "--model-name", "no-such-model", "--out", str(tmp_path))
    assert result.returncode == 2
    assert "no registered model 'no-such-model' with versions in" in result.stderr
    assert "a green `pytest gates/` registers the first" in result.stderr
    assert "Traceback" not in result.stderr


def test_history_reads_a_tracking_server(tmp_path):
    folder = tmp_path / "server"
    folder.mkdir()
    server = mlflow_tracking_server(f"sqlite:///{folder / 'server.db'}", free_port(), cwd=folder, log=folder / "server.log")
    with server:
        make_history(server.url, NAME, 3, refused={3}, commit=COMMIT)
        result = history_command(server.url, "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    report = (tmp_path / "out" / REPORT_FILE).read_text(encoding="utf-8")
    assert f"3 version(s) in `{server.url}`: 2 crowned, 1 refused" in report
    assert "`@champion` is version 2." in report
