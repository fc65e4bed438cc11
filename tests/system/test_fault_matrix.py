"""The fault matrix: whatever goes wrong in a gate session, no bad session moves `@champion`.

One green session makes version 1 the champion of a project copy; each fault
then gets its own clone of that copy (files and SQLite store, the store's
absolute paths rewritten), so every fault starts from the same registry and
none can disturb another. The faults run a few at a time as real
subprocesses: gates going red, a `-k` subset, SIGKILL while training and
while registering, the tracking server dying, the dataset changing under the
session, two sessions racing to promote. FAULTS is the table: each fault,
how it is injected, and what it must leave behind; one test body reads each
fault's store against its row. The last test prints the matrix (fault, exit status, champion before and
after, run status) that the README's reliability section quotes.

Kills are placed by watching the store, not by sleeping: "training" is the
stretch between the run opening and its `train_rows` param (the model is
made slow to fit); "registering" is a registered version without the alias,
and a SQLite write lock held by this test freezes the session inside that
window while it is killed.
"""

from __future__ import annotations

import json
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from mlgate import tracking
from tests.support.ports import free_port
from tests.support.processes import stop, wait_until
from tests.support.project import Project, clean_env
from tests.support.serving import mlflow_tracking_server

pytestmark = pytest.mark.slow

MODEL_NAME = "mlgate-classifier"
SESSION_TIMEOUT_SECONDS = 300
# Faults run this many at a time: the sessions wait on each other's I/O as much as on CPU.
PARALLEL_FAULTS = 3
KILLED = "SIGKILL"
POLL_SECONDS = 0.02
MATRIX_BEHAVIOUR_EXAMPLES = 20

# A test instrument, not product code: loaded with `-p fault_pause`, it holds a session
# at the end of collection until told to go on. mlgate.plugin.session reads the dataset's bytes
# (once) in its own pytest_collection_finish: `tryfirst` pauses before that read, `trylast`
# just after it.
PAUSE_PLUGIN = '''
import pathlib, time
import pytest


@pytest.hookimpl({order}=True)
def pytest_collection_finish(session):
    signals = pathlib.Path(session.config.rootpath, ".fault")
    (signals / "paused").touch()
    deadline = time.monotonic() + 120
    while not (signals / "resume").exists():
        if time.monotonic() > deadline:
            raise RuntimeError("nobody resumed the paused session")
        time.sleep(0.02)
'''


# --- sessions and stores -------------------------------------------------------------------


@dataclass
class Outcome:
    """What the fault's session process did, as the fault function saw it."""

    exit_status: str  # the exit code, or SIGKILL
    output: str
    notes: list[str] = field(default_factory=list)
    extra: dict = field(default_factory=dict)


def gates_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "pytest", "gates/", "-p", "no:cacheprovider", *args]


def start_session(project: Project, *args: str, env: dict | None = None) -> subprocess.Popen:
    log = (project.root / f"session-{time.time_ns()}.log").open("w")
    process = subprocess.Popen(
        gates_command(*args), cwd=project.root, env=env or clean_env(), stdout=log, stderr=subprocess.STDOUT
    )
    process.log = log  # closed, and read back, by finish_session
    return process


def finish_session(process: subprocess.Popen) -> Outcome:
    """Wait for the session to end by itself; one that outlives its timeout fails the fault and is killed."""
    try:
        code = process.wait(timeout=SESSION_TIMEOUT_SECONDS)
    finally:
        stop(process, signal.SIGKILL)  # a no-op once it has ended
        process.log.close()
    status = KILLED if code == -signal.SIGKILL else str(code)
    return Outcome(status, Path(process.log.name).read_text(errors="replace"))


@contextmanager
def stopped_on_error(process: subprocess.Popen) -> Iterator[subprocess.Popen]:
    """A session the fault is steering: if the fault fails, the session does not outlive it."""
    try:
        yield process
    except BaseException:
        stop(process, signal.SIGKILL)
        raise


def run_session(project: Project, *args: str, env: dict | None = None) -> Outcome:
    return finish_session(start_session(project, *args, env=env))


def kill(process: subprocess.Popen) -> Outcome:
    stop(process, signal.SIGKILL)
    return finish_session(process)


def db_path(project: Project) -> Path:
    return project.root / "mlflow.db"


def query(db: Path, sql: str, *params) -> list[tuple]:
    """A read of the store from this process, while a session may be writing to it."""
    with sqlite3.connect(db, timeout=30) as con:
        return con.execute(sql, params).fetchall()


def wait_for(condition: Callable[[], object], process: subprocess.Popen | None, what: str, timeout: float = 180):
    """Poll the store until `condition()` holds; fail if the session ends first or time runs out."""
    return wait_until(condition, what, timeout, process=process, poll_seconds=POLL_SECONDS)


def new_run(db: Path, baseline_runs: set[str]) -> str | None:
    runs = [r for (r,) in query(db, "SELECT run_uuid FROM runs") if r not in baseline_runs]
    return runs[0] if runs else None


def has_param(db: Path, run_id: str, key: str) -> bool:
    return bool(query(db, "SELECT 1 FROM params WHERE run_uuid = ? AND key = ?", run_id, key))


def latest_version(db: Path) -> int:
    (found,) = query(db, "SELECT max(version) FROM model_versions WHERE name = ?", MODEL_NAME)
    return int(found[0] or 0)


def clone(baseline: Project, destination: Path) -> Project:
    """The baseline copy with its store, every absolute path in the store moved to the clone."""
    shutil.copytree(baseline.root, destination, ignore=shutil.ignore_patterns("session-*.log", ".fault"))
    old, new = str(baseline.root), str(destination)
    with sqlite3.connect(destination / "mlflow.db") as con:
        tables = [t for (t,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            for column in con.execute(f"PRAGMA table_info('{table}')").fetchall():
                if column[2].upper().startswith(("VARCHAR", "TEXT", "CHAR")):
                    name = column[1]
                    con.execute(
                        f"UPDATE '{table}' SET \"{name}\" = replace(\"{name}\", ?, ?) WHERE instr(\"{name}\", ?) > 0",
                        (old, new, old),
                    )
    return Project(destination)


def write_csv(project: Project, frame, name: str = "breast_cancer") -> Path:
    """The default data as a CSV named like its suite, so the suite and behaviour spec judge it."""
    (project.root / "data").mkdir(exist_ok=True)
    path = project.root / "data" / f"{name}.csv"
    frame.to_csv(path, index=False)
    return path


def set_settings(project: Project, **values) -> None:
    """Put `values` at the top of the copy's [tool.mlgate] table."""
    pyproject = project.root / "pyproject.toml"
    lines = "".join(f"{key} = {json.dumps(value)}\n" for key, value in values.items())
    pyproject.write_text(pyproject.read_text().replace("[tool.mlgate]\n", "[tool.mlgate]\n" + lines, 1))


# --- the faults -------------------------------------------------------------------------------
# Each takes its own clone (champion: version 1) and returns what its session did.


def data_gate_red(project: Project, frame) -> Outcome:
    corrupted = frame.copy()
    corrupted.loc[[3, 10, 20], "mean radius"] = None
    corrupted.loc[[5, 6], "mean radius"] = 987.5
    write_csv(project, corrupted)
    return run_session(project, "--mlgate-dataset", "data/breast_cancer.csv")


def model_gate_red(project: Project, frame) -> Outcome:
    config = project.write_config(min_holdout_accuracy=1.0)
    return run_session(project, "--mlgate-config", str(config))


def champion_profile_corrupted(project: Project, frame) -> Outcome:
    # The store's copy of version 1's drift profile (local artifacts), not the bundle's.
    (profile,) = [p for p in project.root.glob("mlruns/**/extra_files/drift_profile.json")]
    profile.write_text("{ not json")
    return run_session(project)


def behaviour_gate_red(project: Project, frame) -> Outcome:
    spec = project.root / "gates" / "expectations" / "breast_cancer.behaviour.toml"
    # "A larger tumour never looks MORE malignant": false, and declared as if true.
    spec.write_text(spec.read_text().replace('effect = "not_lower"', 'effect = "not_higher"', 1))
    return run_session(project)


def k_subset(project: Project, frame) -> Outcome:
    return run_session(project, "-k", "accuracy")


def sigkill_while_training(project: Project, frame) -> Outcome:
    """Kill once the run is open and training (made slow: 4000 trees) has not logged `train_rows`."""
    db = db_path(project)
    baseline = {r for (r,) in query(db, "SELECT run_uuid FROM runs")}
    config = project.write_config(estimator_params={"n_estimators": 4000})
    with stopped_on_error(start_session(project, "--mlgate-config", str(config))) as process:
        run_id = wait_for(lambda: new_run(db, baseline), process, "the run opened")
        opened = time.monotonic()
        time.sleep(1.0)  # into train_model: the run opens just before it (gate_run, then trained_model)
        assert not has_param(db, run_id, "train_rows"), "training finished before the kill; raise n_estimators"
        outcome = kill(process)
    trained = has_param(db, run_id, "train_rows")
    outcome.notes.append(
        f"killed {time.monotonic() - opened:.1f} s after the run opened; train_rows "
        + ("logged: NOT during training" if trained else "never logged: killed while training")
    )
    outcome.extra["killed_while_training"] = not trained
    return outcome


def sigkill_while_registering(project: Project, frame) -> Outcome:
    """Kill between `register_model` and the alias move, with the session frozen by a write lock.

    The version row appears, this test takes SQLite's write lock (BEGIN
    IMMEDIATE), so the session blocks on its next write (the version's gate
    tags, ~130 of them, come before the alias), and is killed while blocked.
    Then the next session, a cheap narrowed one (`-k accuracy`), runs in a
    clone of what the kill left: it must find the orphan and tag it abandoned.
    """
    db = db_path(project)
    before = latest_version(db)
    with stopped_on_error(start_session(project)) as process:
        wait_for(lambda: latest_version(db) > before, process, "a new version was registered", timeout=SESSION_TIMEOUT_SECONDS)
        lock = sqlite3.connect(db, timeout=30, isolation_level=None)
        try:
            lock.execute("BEGIN IMMEDIATE")  # from here the session cannot write to the store
            version = lock.execute("SELECT max(version) FROM model_versions WHERE name = ?", (MODEL_NAME,)).fetchone()[0]
            alias = lock.execute(
                "SELECT version FROM registered_model_aliases WHERE name = ? AND alias = 'champion'", (MODEL_NAME,)
            ).fetchone()
            tags = lock.execute(
                "SELECT count(*) FROM model_version_tags WHERE name = ? AND version = ?", (MODEL_NAME, version)
            ).fetchone()[0]
            outcome = kill(process)
        finally:
            lock.execute("ROLLBACK")
            lock.close()
    orphan_tags = dict(query(db, "SELECT key, value FROM model_version_tags WHERE name = ? AND version = ?", MODEL_NAME, version))
    after = clone(project, project.root.parent / "next_session")
    outcome.extra.update(
        frozen_version=str(version),
        alias_when_killed=str(alias[0]) if alias else None,
        tags_when_killed=tags,
        killed_pid=process.pid,
        orphan_tags=orphan_tags,
        next_session=run_session(after, "-k", "accuracy"),
        next_project=after,
    )
    outcome.notes.append(
        f"killed with version {version} registered, {tags} of its tags written, @champion at "
        f"{alias[0] if alias else 'none'}"
    )
    return outcome


def tracking_server_stops(project: Project, frame) -> Outcome:
    """A real `mlflow server` on the copy's store; killed once the model is trained."""
    db = db_path(project)
    baseline = {r for (r,) in query(db, "SELECT run_uuid FROM runs")}
    server = mlflow_tracking_server(f"sqlite:///{db}", free_port(), cwd=project.root, log=project.root / "server.log")
    with server:
        # A dead server costs MLflow's default 7 retries with backoff (~4 min) per call; a
        # gate session should fail fast instead.
        env = clean_env(
            MLFLOW_TRACKING_URI=server.url,
            MLFLOW_HTTP_REQUEST_MAX_RETRIES="0",
            MLFLOW_HTTP_REQUEST_TIMEOUT="10",
        )
        with stopped_on_error(start_session(project, env=env)) as process:
            run_id = wait_for(lambda: new_run(db, baseline), process, "the run opened through the server")
            wait_for(lambda: has_param(db, run_id, "train_rows"), process, "the model was trained")
            time.sleep(1.0)  # past the call that logged train_rows: gates are running
            server.kill()  # the server and its workers, by process group
            outcome = finish_session(process)
    outcome.notes.append("server killed 1 s after train_rows was logged through it")
    return outcome


def _paused_session(project: Project, order: str, *args: str) -> tuple[subprocess.Popen, Path]:
    (project.root / "fault_pause.py").write_text(PAUSE_PLUGIN.replace("{order}", order))
    signals = project.root / ".fault"
    signals.mkdir()
    process = start_session(project, "-p", "fault_pause", *args)
    with stopped_on_error(process):
        wait_for(lambda: (signals / "paused").exists(), process, "the session paused after collection")
    return process, signals


def dataset_truncated_before_read(project: Project, frame) -> Outcome:
    """Start-up checked the header; the file loses all but 40 rows before the session reads it."""
    path = write_csv(project, frame)
    process, signals = _paused_session(project, "tryfirst", "--mlgate-dataset", "data/breast_cancer.csv")
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:41]))
    (signals / "resume").touch()
    return finish_session(process)


def dataset_deleted_before_read(project: Project, frame) -> Outcome:
    write_csv(project, frame)
    process, signals = _paused_session(project, "tryfirst", "--mlgate-dataset", "data/breast_cancer.csv")
    (project.root / "data" / "breast_cancer.csv").unlink()
    (signals / "resume").touch()
    return finish_session(process)


def dataset_deleted_after_read(project: Project, frame) -> Outcome:
    """The file vanishes just after the session read its bytes, before anything trained or validated."""
    path = write_csv(project, frame)
    process, signals = _paused_session(project, "trylast", "--mlgate-dataset", "data/breast_cancer.csv")
    path.unlink()
    (signals / "resume").touch()
    return finish_session(process)


def two_sessions_race(project: Project, frame) -> Outcome:
    """Two checkouts, one store: both sessions start together and both are green."""
    other = Project(project.root.parent / "race-b")
    shutil.copytree(project.root, other.root, ignore=shutil.ignore_patterns("mlflow.db", "mlruns", "artifacts", "session-*.log"))
    env = clean_env(MLFLOW_TRACKING_URI=project.tracking_uri)
    first, second = start_session(project, env=env), start_session(other, env=env)
    a, b = finish_session(first), finish_session(second)
    outcome = Outcome(f"{a.exit_status}, {b.exit_status}", a.output + "\n" + b.output)
    outcome.extra["outputs"] = (a.output, b.output)
    return outcome


# --- running the matrix --------------------------------------------------------------------------


@dataclass
class Row:
    """One line of the matrix, read from the fault's store after its session ended."""

    key: str
    fault: str
    outcome: Outcome | None
    error: BaseException | None
    project: Project
    champion_before: str | None = None
    champion_after: str | None = None
    versions_before: list[str] = field(default_factory=list)
    versions_after: list[str] = field(default_factory=list)
    runs: list = field(default_factory=list)  # the fault's runs (not the baseline's)
    report: dict | None = None  # artifacts/gate_report.json as the session left it

    @property
    def run_status(self) -> str:
        if not self.runs:
            return "no run"
        return ", ".join(r.info.status for r in self.runs)

    @property
    def reason(self) -> str:
        reasons = [r.data.tags.get(tracking.TAG_REFUSED_BECAUSE, "") for r in self.runs]
        text = " / ".join(r for r in reasons if r)
        if not text and self.report and not self.report.get("promoted"):
            text = "(not on the run) report: " + " ".join(self.report.get("reasons", []))
        if not text and self.outcome is not None and self.outcome.exit_status == KILLED:
            text = "killed: no reason written"
        return text


@dataclass
class Matrix:
    baseline: Project
    rows: dict[str, Row]
    seconds: float


# --- what each fault must leave behind -------------------------------------------------------------

ANY_FAILURE = "any failure"  # an exit status that is neither 0 nor a kill


@dataclass(frozen=True)
class Fault:
    """One row of the table: the fault, how it is injected, and what it must leave behind.

    `champion_after` and `versions_after` are what the store holds once the
    fault's session ended (None: not a fixed value, the row's `check` says);
    `run_statuses` are the fault's own runs, oldest first; `refused_because`
    are fragments of the reason tag on its FAILED run (and the report then says
    it promoted nothing); `check` holds what is particular to this fault.
    """

    key: str
    title: str
    inject: Callable[[Project, object], Outcome]
    exit_status: str | None  # "0", "1", KILLED or ANY_FAILURE; None: the check decides
    champion_after: str | None = "1"
    versions_after: tuple[str, ...] | None = ("1",)
    run_statuses: tuple[str, ...] | None = ("FAILED",)
    refused_because: tuple[str, ...] | None = None
    check: Callable[[Row, Callable], None] | None = None

    def __str__(self) -> str:
        return self.key


def behaviour_red_reports_the_example(row: Row, tracking_store) -> None:
    (gate,) = [g for g in row.report["gates"] if g["status"] != "passed"]
    assert "e.g. holdout row " in gate["message"]  # the falsifying example, in the report
    # The champion breaks the false claim too: the candidate is red, but it is no regression.
    regression = [g for g in row.report["gates"] if g["name"].startswith("test_no_behavioural_regression")]
    assert regression and all(g["status"] == "passed" for g in regression)


def corrupted_profile_named_once_per_gate_no_traceback(row: Row, tracking_store) -> None:
    output = row.outcome.output
    assert "the champion's drift profile cannot be read" in output and "import-champion" in output
    assert "Traceback" not in output and "INTERNALERROR" not in output
    failed = [g for g in row.report["gates"] if g["status"] != "passed"]
    assert failed and any(g["name"] == "test_training_drift_within_budget" for g in failed)


def killed_while_training_left_no_verdict(row: Row, tracking_store) -> None:
    assert row.outcome.extra["killed_while_training"], row.outcome.notes
    # Nobody lived to mark the run: it stays RUNNING, with no verdict tag.
    assert tracking.TAG_REFUSED_BECAUSE not in row.runs[0].data.tags
    assert row.runs[0].data.tags[tracking.TAG_GATE_STATUS] == tracking.STATUS_RUNNING


def killed_while_registering_left_an_orphan_and_the_old_bundle(row: Row, tracking_store) -> None:
    extra = row.outcome.extra
    # The kill landed in the window: version 2 existed and the alias had not moved.
    assert extra["frozen_version"] == "2" and extra["alias_when_killed"] == "1", row.outcome.notes
    # The bundle on disk is still the champion's: the new one is swapped in only after the alias moves.
    bundle = json.loads((row.project.artifacts / "gate_report.json").read_text())
    assert bundle["champion_version"] == "1"
    # Born gating, with the session that registered it: the one killed.
    orphan = extra["orphan_tags"]
    assert orphan[tracking.TAG_VERDICT] == tracking.VERDICT_GATING
    assert orphan[tracking.TAG_GATING_SESSION].split(" ")[1] == str(extra["killed_pid"])
    # The next session finds its session gone, tags it abandoned (never deletes it), leaves @champion, says so.
    after = tracking_store(extra["next_project"].tracking_uri)
    assert (after.champion_version(), after.versions()) == ("1", ["1", "2"])
    tags = after.client.get_model_version(MODEL_NAME, "2").tags
    assert tags[tracking.TAG_VERDICT] == tracking.VERDICT_ABANDONED
    assert "no longer running" in tags[tracking.TAG_ABANDONED_BECAUSE]
    assert after.client.get_model_version(MODEL_NAME, "1").tags.get(tracking.TAG_VERDICT) != tracking.VERDICT_ABANDONED
    report_dir = extra["next_project"].artifacts
    assert list(json.loads((report_dir / "gate_report.json").read_text())["abandoned"]) == ["2"]
    assert "## Abandoned versions" in (report_dir / "gate_report.md").read_text()
    assert f"Tagged {MODEL_NAME} version 2 abandoned" in extra["next_session"].output


def server_gone_reason_only_in_the_local_report(row: Row, tracking_store) -> None:
    # The store was gone: the run could not be marked, the reason is in the local report.
    assert row.report is not None and row.report["promoted"] is False
    assert any("did not pass" in reason for reason in row.report["reasons"])
    assert "Could not record the verdict on run" in row.outcome.output


def deleted_before_read_errors_with_the_cause(row: Row, tracking_store) -> None:
    # Every gate that reads data errors with the cause; the run says the session failed.
    assert "data/breast_cancer.csv does not exist" in row.outcome.output
    assert "INTERNALERROR" not in row.outcome.output


def deleted_after_read_promotes_what_the_gates_saw(row: Row, tracking_store) -> None:
    """Correct by design: the session read the bytes once; the model and the data gate both judged them."""
    assert not (row.project.root / "data" / "breast_cancer.csv").exists()
    (run,) = row.runs
    # Trained and validated on the whole file as it was read (569 rows), not on what is on disk now.
    assert int(run.data.params["train_rows"]) + int(run.data.params["holdout_rows"]) == 569
    gate_tags = {k: v for k, v in run.data.tags.items() if k.startswith(tracking.gate_tag_key("data", ""))}
    assert gate_tags and all(v.startswith("passed") for v in gate_tags.values())


def race_leaves_the_alias_on_a_fully_green_version(row: Row, tracking_store) -> None:
    store = tracking_store(row.project.tracking_uri)
    champion = store.client.get_model_version_by_alias(MODEL_NAME, tracking.CHAMPION_ALIAS)
    gate_tags = {k: v for k, v in champion.tags.items() if k.startswith(tracking.GATE_TAG_PREFIX)}
    assert str(champion.version) != "1"
    assert len(gate_tags) > 100 and all(v.startswith("passed") for v in gate_tags.values())
    run = store.client.get_run(champion.run_id)
    assert run.info.status == "FINISHED" and run.data.tags[tracking.TAG_GATE_STATUS] == tracking.STATUS_PASSED
    # Each session that exited 0 registered a version; the alias is on one of them. A session
    # that finished second may instead refuse because @champion moved under it: it exits 1,
    # says so, and the version it registered (if it got that far) is tagged as refused.
    statuses = row.outcome.exit_status.split(", ")
    refusals = [out for out in row.outcome.extra["outputs"] if "@champion moved from version" in out]
    assert statuses.count("0") >= 1 and len(statuses) - statuses.count("0") == len(refusals)
    assert 1 + statuses.count("0") <= len(row.versions_after) <= 1 + len(statuses)
    for version in row.versions_after[1:]:
        tags = store.client.get_model_version(MODEL_NAME, version).tags
        assert version == str(champion.version) or tracking.TAG_REFUSED_BECAUSE in tags or statuses == ["0", "0"]
        # Each ends with its verdict: none is left gating by a session that finished.
        assert tags[tracking.TAG_VERDICT] in (tracking.VERDICT_PROMOTED, tracking.VERDICT_REFUSED), tags
    promoted = {r.data.tags.get(tracking.TAG_CHAMPION_VERSION) for r in row.runs if r.info.status == "FINISHED"}
    assert str(champion.version) in promoted


FAULTS: dict[str, Fault] = {
    fault.key: fault
    for fault in [
        Fault(
            "data_gate_red", "data gate red (corrupted CSV)", data_gate_red, "1",
            refused_because=(
                "column_values_to_not_be_null[mean radius]] (failed)",
                "column_values_to_be_between[mean radius]] (failed)",
            ),
        ),
        Fault(
            "model_gate_red", "model gate red (min_holdout_accuracy = 1.0)", model_gate_red, "1",
            refused_because=("test_holdout_accuracy_meets_minimum (failed)",),
        ),
        Fault(
            "behaviour_gate_red", "behaviour gate red (a false declared expectation)", behaviour_gate_red, "1",
            refused_because=("test_directional_effect_as_declared[larger_worst_radius_not_less_malignant] (failed)",),
            check=behaviour_red_reports_the_example,
        ),
        Fault(
            "champion_profile_corrupted", "champion's drift profile corrupted in the store",
            champion_profile_corrupted, "1", refused_because=("test_training_drift_within_budget",),
            check=corrupted_profile_named_once_per_gate_no_traceback,
        ),
        Fault(
            "k_subset", "-k subset (`-k accuracy`)", k_subset, "1",
            refused_because=("-k 'accuracy' selected a subset of the gates",),
        ),
        Fault(
            "sigkill_while_training", "SIGKILL while training", sigkill_while_training, KILLED,
            run_statuses=("RUNNING",), check=killed_while_training_left_no_verdict,
        ),
        Fault(
            "sigkill_while_registering", "SIGKILL between registration and the alias move", sigkill_while_registering,
            KILLED, versions_after=("1", "2"),  # an orphan: registered, never crowned
            run_statuses=("RUNNING",), check=killed_while_registering_left_an_orphan_and_the_old_bundle,
        ),
        Fault(
            "tracking_server_stops", "tracking server killed mid-session", tracking_server_stops, "1",
            run_statuses=("RUNNING",), check=server_gone_reason_only_in_the_local_report,
        ),
        Fault(
            "dataset_truncated_before_read", "dataset truncated after start-up, before the read",
            dataset_truncated_before_read, "1",
            refused_because=("test_expectation_holds[table_row_count_to_be_between] (failed)",),
        ),
        Fault(
            "dataset_deleted_before_read", "dataset deleted after start-up, before the read",
            dataset_deleted_before_read, ANY_FAILURE, check=deleted_before_read_errors_with_the_cause,
        ),
        Fault(
            "dataset_deleted_after_read", "dataset deleted just after the session read it",
            dataset_deleted_after_read, "0", champion_after="2", versions_after=None, run_statuses=("FINISHED",),
            check=deleted_after_read_promotes_what_the_gates_saw,
        ),
        Fault(
            "two_sessions_race", "two green sessions race to promote", two_sessions_race, None,
            champion_after=None, versions_after=None, run_statuses=None,
            check=race_leaves_the_alias_on_a_fully_green_version,
        ),
    ]
}
# Started first: the longest.
ORDER = [
    "two_sessions_race", "tracking_server_stops", "sigkill_while_registering", "dataset_deleted_after_read",
    "data_gate_red", "model_gate_red", "behaviour_gate_red", "champion_profile_corrupted", "dataset_truncated_before_read",
    "sigkill_while_training", "k_subset", "dataset_deleted_before_read",
]


@pytest.fixture(scope="module")
def matrix(tmp_path_factory, make_project, tracking_store, breast_cancer_frame) -> Matrix:
    """The baseline green session, then every fault in its own clone, a few at a time."""
    started = time.monotonic()
    root = tmp_path_factory.mktemp("faults")
    baseline = make_project(root / "baseline")
    # The matrix tests what sessions do with verdicts, not how deep the behaviour search goes.
    set_settings(baseline, behaviour_max_examples=MATRIX_BEHAVIOUR_EXAMPLES)
    green = run_session(baseline)
    assert green.exit_status == "0", green.output[-4000:]
    before = tracking_store(baseline.tracking_uri)
    champion_before, versions_before = before.champion_version(), before.versions()
    assert (champion_before, versions_before) == ("1", ["1"])
    baseline_runs = {r.info.run_id for r in before.runs()}

    projects = {key: clone(baseline, root / key / "project") for key in ORDER}

    def attempt(key: str):
        try:
            return FAULTS[key].inject(projects[key], breast_cancer_frame), None
        except BaseException as error:  # noqa: BLE001 - reported by the fault's row
            return None, error

    with ThreadPoolExecutor(max_workers=PARALLEL_FAULTS) as pool:
        done = dict(zip(ORDER, pool.map(attempt, ORDER)))

    rows = {}
    for key in ORDER:
        outcome, error = done[key]
        project = projects[key]
        store = tracking_store(project.tracking_uri)
        report_path = project.artifacts / "gate_report.json"
        rows[key] = Row(
            key=key,
            fault=FAULTS[key].title,
            outcome=outcome,
            error=error,
            project=project,
            champion_before=champion_before,
            champion_after=store.champion_version(),
            versions_before=versions_before,
            versions_after=store.versions(),
            runs=[r for r in reversed(store.runs()) if r.info.run_id not in baseline_runs],
            report=json.loads(report_path.read_text()) if report_path.is_file() else None,
        )
    return Matrix(baseline, rows, time.monotonic() - started)


def row_for(matrix: Matrix, key: str) -> Row:
    row = matrix.rows[key]
    if row.error is not None:
        raise row.error
    return row


# --- one test body, one row per fault ------------------------------------------------------------


@pytest.mark.parametrize("fault", FAULTS.values(), ids=str)
def test_fault_leaves_the_champion_and_the_store_as_its_row_says(matrix, tracking_store, fault: Fault):
    row = row_for(matrix, fault.key)
    if fault.exit_status == ANY_FAILURE:
        assert row.outcome.exit_status not in ("0", KILLED), row.outcome.output[-3000:]
    elif fault.exit_status is not None:
        assert row.outcome.exit_status == fault.exit_status, row.outcome.output[-3000:]
    if fault.champion_after is not None:
        assert (row.champion_before, row.champion_after) == ("1", fault.champion_after), (
            f"@champion: {row.champion_before} -> {row.champion_after}"
        )
    if fault.versions_after is not None:
        assert row.versions_after == list(fault.versions_after), f"versions {row.versions_before} -> {row.versions_after}"
    if fault.run_statuses is not None:
        assert [r.info.status for r in row.runs] == list(fault.run_statuses), row.run_status
    if fault.refused_because is not None:
        tags = row.runs[0].data.tags
        assert tags[tracking.TAG_GATE_STATUS] == tracking.STATUS_FAILED
        reason = tags[tracking.TAG_REFUSED_BECAUSE]
        for fragment in fault.refused_because:
            assert fragment in reason, reason
        assert row.report is not None and row.report["promoted"] is False
    if fault.check is not None:
        fault.check(row, tracking_store)


def test_print_the_matrix(matrix, capsys):
    """The table for the README's reliability section (shown without -s)."""
    lines = [
        "| fault | exit status | champion before → after | run status | reason on the run |",
        "| --- | --- | --- | --- | --- |",
    ]
    for row in (matrix.rows[key] for key in FAULTS):
        if row.error is not None:
            lines.append(f"| {row.fault} | error: {type(row.error).__name__}: {row.error} | | | |")
            continue
        reason = " ".join(row.reason.split())
        reason = reason if len(reason) <= 90 else reason[:89] + "…"
        note = f" ({'; '.join(row.outcome.notes)})" if row.outcome.notes else ""
        lines.append(
            f"| {row.fault} | {row.outcome.exit_status} | {row.champion_before or 'none'} → "
            f"{row.champion_after or 'none'} | {row.run_status} | {reason}{note} |"
        )
    table = "\n".join(lines)
    (matrix.baseline.root.parent / "fault_matrix.md").write_text(table + "\n", encoding="utf-8")
    with capsys.disabled():
        print(f"\n\nFault matrix ({len(matrix.rows)} faults, {matrix.seconds:.0f} s):\n{table}\n")
    assert all(row.error is None for row in matrix.rows.values())
