"""The data gate's verdict is cached in the tracking store by content: dataset bytes, suite, judges.

Data-gate-only sessions (`pytest gates/data`: partial, so they promote nothing,
and train nothing) in one project copy with a CSV dataset. "great_expectations
was not imported" is checked the hard way: the reusing session runs with a
great_expectations on its path that raises on import, in every process.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading

import pytest

from mlgate import tracking
from tests.support.project import clean_env

pytestmark = pytest.mark.slow

TIMEOUT_SECONDS = 300
REUSED = "Data verdict reused from run "


def output(result: subprocess.CompletedProcess) -> str:
    return result.stdout + result.stderr


@pytest.fixture
def poisoned_ge(tmp_path) -> dict[str, str]:
    """An environment whose great_expectations raises on import: a session that imports it fails."""
    package = tmp_path / "poison" / "great_expectations"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("raise ImportError('great_expectations was imported')\n")
    env = clean_env()
    env["PYTHONPATH"] = f"{package.parent}:{env.get('PYTHONPATH', '')}"
    return env


@pytest.fixture
def csv_project(project, breast_cancer_frame):
    """The copy with the default data as a CSV (its suite is breast_cancer.json, by the file's name)."""
    (project.root / "data").mkdir()
    breast_cancer_frame.to_csv(project.root / "data" / "breast_cancer.csv", index=False)
    return project


def data_session(project, *args: str, env=None) -> subprocess.CompletedProcess:
    """`pytest gates/data` on the CSV (a later --dataset wins): partial, so green exits 1 and promotes nothing."""
    return project.run(sys.executable, "-m", "pytest", "gates/data", "-p", "no:cacheprovider",
                       "--mlgate-dataset", "data/breast_cancer.csv", *args, env=env, timeout=TIMEOUT_SECONDS)


def data_gates(project) -> dict[str, str]:
    """The suite's gates in the last report: one per expectation (the training-drift gate is not one)."""
    report = json.loads((project.artifacts / "gate_report.json").read_text(encoding="utf-8"))
    return {g["name"]: g["status"] for g in report["gates"] if g["name"].startswith("test_expectation_holds[")}


def latest_tags(tracking_store, project) -> dict[str, str]:
    return tracking_store(project.tracking_uri).latest_run().data.tags


def test_unchanged_dataset_reuses_the_verdict_without_importing_great_expectations(
    csv_project, tracking_store, poisoned_ge
):
    first = data_session(csv_project)
    assert REUSED not in first.stdout, output(first)
    judged = data_gates(csv_project)
    first_run = tracking_store(csv_project.tracking_uri).latest_run().info.run_id

    again = data_session(csv_project, env=poisoned_ge)

    assert REUSED + first_run in again.stdout, output(again)
    assert data_gates(csv_project) == judged and set(judged.values()) == {"passed"}
    assert f"Reused from run `{first_run}`" in (csv_project.artifacts / "gate_report.md").read_text()
    assert latest_tags(tracking_store, csv_project)[tracking.TAG_DATA_VERDICT_FROM] == first_run


def test_one_changed_byte_or_a_changed_suite_validates_afresh(csv_project, tracking_store, poisoned_ge):
    assert data_session(csv_project).returncode == pytest.ExitCode.TESTS_FAILED  # partial: green but promotes nothing
    csv = csv_project.root / "data" / "breast_cancer.csv"
    content = csv.read_bytes()
    changed = content.replace(b"17.99", b"17.98", 1)
    assert changed != content and len(changed) == len(content)
    csv.write_bytes(changed)

    # The poisoned great_expectations proves a miss: validating afresh must import it.
    missed = data_session(csv_project, env=poisoned_ge)
    assert REUSED not in missed.stdout and "great_expectations was imported" in output(missed), output(missed)
    fresh = data_session(csv_project)
    assert REUSED not in fresh.stdout and set(data_gates(csv_project).values()) == {"passed"}, output(fresh)
    assert tracking.TAG_DATA_VERDICT_FROM not in latest_tags(tracking_store, csv_project)

    suite = csv_project.root / "gates" / "expectations" / "breast_cancer.json"
    document = json.loads(suite.read_text())
    document["expectations"] = document["expectations"][:-1]
    suite.write_text(json.dumps(document, indent=2))
    after_suite = data_session(csv_project)
    assert REUSED not in after_suite.stdout, output(after_suite)
    assert tracking.TAG_DATA_VERDICT_FROM not in latest_tags(tracking_store, csv_project)
    assert len(data_gates(csv_project)) == len(document["expectations"])


def test_two_sessions_at_once_on_different_data_each_get_their_own_verdict(csv_project, tracking_store):
    good = csv_project.root / "data" / "breast_cancer.csv"
    bad_folder = csv_project.root / "bad"
    bad_folder.mkdir()
    bad = bad_folder / "breast_cancer.csv"  # same suite (by name), a corrupted column
    lines = good.read_text().splitlines()
    bad.write_text("\n".join([lines[0], *[",".join(["-5", *row.split(",")[1:]]) for row in lines[1:]]]) + "\n")
    # Both keys recorded once, so that the concurrent sessions below both read from the cache.
    for path in (good, bad):
        data_session(csv_project, "--mlgate-dataset", str(path))
    results: dict[str, subprocess.CompletedProcess] = {}

    def run(name, path):
        results[name] = data_session(csv_project, "--mlgate-dataset", str(path), env=clean_env())

    threads = [threading.Thread(target=run, args=(n, p)) for n, p in (("good", good), ("bad", bad))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert REUSED in results["good"].stdout and REUSED in results["bad"].stdout
    assert "1 gate(s) did not pass" not in results["good"].stdout
    assert "mean radius" in results["bad"].stdout and "did not pass" in results["bad"].stdout
