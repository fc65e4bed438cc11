"""The two CI workflows are valid, audited, and gate the upload when their steps are run.

Static checks: the GitHub-workflow JSON schema and zizmor's security audit (the
real tools, offline), then what the workflows promise: triggers, read-only
permissions, SHA-pinned actions, a timeout, a concurrency group, one gate step
shared by both, and upload conditions that require that step's success.

Local runs: tests/support/workflow_runner.py runs each workflow's `run:` steps in order
in a throwaway project copy, with GITHUB_STEP_SUMMARY, GITHUB_OUTPUT,
GITHUB_ENV and GITHUB_WORKSPACE pointing at temp paths, and evaluates each
step's `if:`. Once as a push (the dataset comes from [tool.mlgate]) and once by
hand with a broken CSV chosen through the workflow_dispatch `dataset` input.

The install step is not run: on the runner it installs the checkout into a
fresh Python, but here it would reach PyPI and re-point the shared venv's
editable `mlgate` at a temp copy. The venv the tests run in is that install
already, and its `python` is first on every step's PATH (checked).
"""

from __future__ import annotations

import re
import shlex
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml

from mlgate.session.report import VERDICT_ICONS
from mlgate.settings import Settings
from tests.support.fake_github import FakeGitHub
from tests.support.project import (
    ROOT,
    VENV_BIN,
    Project,
    clean_env,
    copy_project,
    loosen_perf_budgets,
)
from tests.support.workflow_runner import (
    ExpressionError,
    JobRun,
    condition_holds,
    github_env,
    python_on_path,
    run_job,
    substitute,
)

WORKFLOWS_DIR = ROOT / ".github" / "workflows"
TRAIN_ON_CHANGE = "ci_train_model.yml"
TRAIN_AND_UPLOAD = "ci_train_and_upload.yml"
WORKFLOWS = (TRAIN_ON_CHANGE, TRAIN_AND_UPLOAD)
ZIZMOR_CONFIG = ROOT / ".github" / "zizmor.yml"

JOB = "gates"
GATE_STEP = "gates"
INSTALL_STEP = "install"
CHAMPION_STEP = "champion"
PRODUCTION_RUN = 7001  # the upload workflow's run whose bundle is production, in the fake history
# The summary must carry every gate (folded) and the failed ones first, as model/session/report.py writes them.
GATE_TABLE_HEADER = "| gate | value | threshold | verdict |"


def failed_gate_rows(summary: str, family: str) -> list[str]:
    """The rows of the report's "Failed gates" table for one family: `| family: `name` | ... |`."""
    return [row for row in summary.splitlines() if row.startswith(f"| {family}: `")]
# What a red run ships: why nothing was promoted, and the JUnit cases.
REPORT_FILES = ("gate_report.md", "gate_report.json", "junit.xml")
# A step ran by hand with this dataset: the CSV is named so the breast_cancer suite judges it.
BROKEN_DATASET = "data/breast_cancer.csv"
# A dataset chosen by hand that is not in the checkout: a usage error before any gate runs.
MISSING_DATASET = "data/no_such_table.csv"
# What the pull-request workflow must react to (issue 5): model, data, gates, environment.
GATED_PATHS = {"model/**", "gates/**", "data/**", "pyproject.toml", "conda.yaml", "MLProject", "conftest.py"}
PINNED_USES = re.compile(r"^\s*(?:-\s*)?uses:\s*(?P<action>[\w.-]+/[\w./-]+)@(?P<ref>\S+)(?P<rest>.*)$")


def load_workflow(path: Path) -> dict:
    workflow = yaml.safe_load(path.read_text(encoding="utf-8"))
    # YAML 1.1 reads the bare key `on` as True; GitHub reads it as "on".
    if True in workflow:
        workflow["on"] = workflow.pop(True)
    return workflow


def steps_using(workflow: dict, action: str) -> list[dict]:
    return [s for s in workflow["jobs"][JOB]["steps"] if s.get("uses", "").startswith(action + "@")]


def upload_step(workflow: dict, artifact: str) -> dict:
    (step,) = [s for s in steps_using(workflow, "actions/upload-artifact") if s["with"]["name"] == artifact]
    return step


def named_paths(step: dict) -> list[str]:
    return [line.strip() for line in step["with"]["path"].splitlines() if line.strip()]


def configured(key: str) -> str:
    """A [tool.mlgate] value as the project sets it (the default when it sets none)."""
    table = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["mlgate"]
    return table.get(key, getattr(Settings, key))


def configured_artifacts_dir() -> str:
    """Where the session writes the bundle, as the workflows must name it."""
    return configured("artifacts_dir").rstrip("/")


def perf_gates_exist(root: Path) -> bool:
    return any((root / "gates" / "perf").glob("test_*.py"))


@pytest.fixture(scope="module", params=WORKFLOWS)
def workflow(request) -> dict:
    """Each workflow, parsed as GitHub would read it."""
    return load_workflow(WORKFLOWS_DIR / request.param)


# --- the real linters -----------------------------------------------------------------


def _tool(name: str) -> str:
    path = VENV_BIN / name
    if not path.is_file():
        pytest.skip(f"{name} is not installed in {VENV_BIN}; run `pip install -e .[dev]`")
    return str(path)


@pytest.mark.parametrize("name", WORKFLOWS)
def test_workflow_matches_the_github_workflow_schema(name):
    result = subprocess.run(
        [_tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(WORKFLOWS_DIR / name)],
        capture_output=True, text=True, timeout=60, env=clean_env(),
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("persona", ["regular", "pedantic", "auditor"])
def test_workflows_pass_the_zizmor_audit_offline(persona):
    # No GitHub token reaches zizmor: --offline must be enough, and a token would be a leak.
    env = {k: v for k, v in clean_env().items() if k not in ("GH_TOKEN", "GITHUB_TOKEN", "ZIZMOR_GITHUB_TOKEN")}
    # Only the committed config may relax an audit; without one, none found elsewhere is read.
    config = ["--config", str(ZIZMOR_CONFIG)] if ZIZMOR_CONFIG.is_file() else ["--no-config"]
    result = subprocess.run(
        [_tool("zizmor"), "--offline", "--persona", persona, *config, *(str(WORKFLOWS_DIR / n) for n in WORKFLOWS)],
        capture_output=True, text=True, timeout=120, env=env,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# --- what the workflows promise -------------------------------------------------------


@pytest.mark.parametrize("name", WORKFLOWS)
def test_every_action_is_pinned_to_a_full_commit_sha_with_its_version(name):
    uses = [PINNED_USES.match(line) for line in (WORKFLOWS_DIR / name).read_text(encoding="utf-8").splitlines()]
    uses = [m for m in uses if m]
    assert uses, f"{name} uses no action"
    for match in uses:
        assert re.fullmatch(r"[0-9a-f]{40}", match["ref"]), f"{match['action']}@{match['ref']} is not a commit SHA"
        assert re.fullmatch(r"\s*#\s*v\d+(\.\d+)*.*", match["rest"]), f"{match['action']} lacks `# vX.Y.Z`"


def test_workflow_grants_only_read_access_to_contents_and_to_actions_for_the_bundle(workflow):
    assert workflow["permissions"] == {"contents": "read", "actions": "read"}
    assert all("permissions" not in job for job in workflow["jobs"].values()), "a job widens the permissions"


def test_workflow_runs_one_gate_job_with_a_timeout_and_a_concurrency_group(workflow):
    assert list(workflow["jobs"]) == [JOB]
    assert 0 < workflow["jobs"][JOB]["timeout-minutes"] <= 60
    assert "github.workflow" in workflow["concurrency"]["group"]


def test_train_on_change_runs_for_changes_to_model_data_gates_and_environment():
    triggers = load_workflow(WORKFLOWS_DIR / TRAIN_ON_CHANGE)["on"]
    assert set(triggers) == {"pull_request", "push", "workflow_dispatch"}
    pr_paths, push_paths = triggers["pull_request"]["paths"], triggers["push"]["paths"]
    assert pr_paths == push_paths, "pull requests and pushes must watch the same paths"
    assert GATED_PATHS <= set(pr_paths)
    assert f".github/workflows/{TRAIN_ON_CHANGE}" in pr_paths
    # main is gated (and uploaded) by the other workflow on every push.
    assert triggers["push"]["branches-ignore"] == ["main"]
    assert load_workflow(WORKFLOWS_DIR / TRAIN_ON_CHANGE)["concurrency"]["cancel-in-progress"] is True


def test_train_and_upload_runs_on_every_push_to_main_and_by_hand_without_racing():
    workflow = load_workflow(WORKFLOWS_DIR / TRAIN_AND_UPLOAD)
    assert set(workflow["on"]) == {"push", "workflow_dispatch"}
    assert workflow["on"]["push"] == {"branches": ["main"]}
    # Queued, not cancelled: a run uploading its bundle is not killed by the next push.
    assert workflow["concurrency"]["cancel-in-progress"] is False


def test_workflow_lets_a_run_by_hand_choose_the_dataset(workflow):
    dataset = workflow["on"]["workflow_dispatch"]["inputs"]["dataset"]
    assert dataset["type"] == "string" and dataset["default"] == ""
    assert "[tool.mlgate]" in dataset["description"]


def test_workflow_sets_up_python_311_with_pip_cache_and_installs_the_checkout(workflow):
    steps = workflow["jobs"][JOB]["steps"]
    assert steps_using(workflow, "actions/checkout") == [steps[0]]
    assert steps[0]["with"]["persist-credentials"] is False
    (setup,) = steps_using(workflow, "actions/setup-python")
    assert setup["with"]["python-version"] == "3.11"
    assert setup["with"]["cache"] == "pip"
    assert setup["with"]["cache-dependency-path"] == "pyproject.toml"
    (install,) = [s for s in steps if s.get("id") == INSTALL_STEP]
    # `python -m pip`: the interpreter setup-python put first on PATH, not a stray pip.
    assert install["run"].strip() == "python -m pip install -e ."
    assert steps.index(setup) < steps.index(install) < steps.index(gate_step(workflow))


def gate_step(workflow: dict) -> dict:
    (step,) = [s for s in workflow["jobs"][JOB]["steps"] if s.get("id") == GATE_STEP]
    return step


def pytest_arguments(step: dict) -> list[str]:
    """The arguments the gate step gives `python -m pytest`, continuation lines joined."""
    script = step["run"].replace("\\\n", " ")
    (command,) = [line for line in script.splitlines() if line.strip().startswith("python -m pytest ")]
    return shlex.split(command)[3:]


def test_both_workflows_run_the_same_gate_step_writing_junit_and_benchmark_into_the_bundle():
    on_change, upload = (gate_step(load_workflow(WORKFLOWS_DIR / n)) for n in WORKFLOWS)
    assert on_change == upload, "the two workflows would judge the same commit differently"
    artifacts = configured_artifacts_dir()
    arguments = pytest_arguments(on_change)
    assert arguments[0] == "gates/", "the gate step must run the whole gate set"
    assert f"--junitxml={artifacts}/junit.xml" in arguments
    assert f"--benchmark-json={artifacts}/benchmark.json" in arguments
    narrowing = {"-k", "-m", "--lf", "--last-failed", "--sw", "--stepwise", "--deselect", "-x", "--exitfirst"}
    assert not narrowing & set(arguments), "a narrowed session is partial and never promotes"
    assert not any("::" in a for a in arguments), "a node id makes the session partial"


def summary_step(workflow: dict) -> dict:
    (step,) = [s for s in workflow["jobs"][JOB]["steps"] if "GITHUB_STEP_SUMMARY" in s.get("run", "")]
    return step


def test_both_workflows_write_the_gate_report_to_the_job_summary_whatever_the_result():
    on_change, upload = (load_workflow(WORKFLOWS_DIR / n) for n in WORKFLOWS)
    assert summary_step(on_change) == summary_step(upload)
    steps = upload["jobs"][JOB]["steps"]
    assert steps.index(summary_step(upload)) == steps.index(gate_step(upload)) + 1
    assert summary_step(upload)["if"] == "always()"
    assert f"{configured_artifacts_dir()}/gate_report.md" in summary_step(upload)["run"]


# Every (gate step outcome, job status) pair a run can reach when the upload's `if:` is read.
REACHABLE = [("success", "success"), ("success", "failure"), ("failure", "failure"), ("skipped", "failure")]


def _holds(condition: str, gate_outcome: str, job_status: str) -> bool:
    return condition_holds(condition, {"inputs": {}, "steps": {GATE_STEP: {"outcome": gate_outcome}}}, job_status)


def test_bundle_upload_requires_the_gate_step_to_succeed_and_names_the_bundle():
    workflow = load_workflow(WORKFLOWS_DIR / TRAIN_AND_UPLOAD)
    bundle = upload_step(workflow, "mlgate-bundle")
    steps = workflow["jobs"][JOB]["steps"]
    assert steps.index(bundle) > steps.index(gate_step(workflow))
    for gate_outcome, job_status in REACHABLE:
        if gate_outcome != "success":
            assert not _holds(bundle["if"], gate_outcome, job_status), f"uploads after a {gate_outcome} gate step"
    assert _holds(bundle["if"], "success", "success"), "a green run must upload its bundle"
    assert named_paths(bundle) == [configured_artifacts_dir() + "/"]
    assert bundle["with"]["if-no-files-found"] == "error"


def test_gate_report_upload_runs_whatever_the_result_on_change_and_only_on_red_with_upload():
    expected = {
        TRAIN_ON_CHANGE: {"success": True, "failure": True},
        TRAIN_AND_UPLOAD: {"success": False, "failure": True},
    }
    artifacts = configured_artifacts_dir()
    for name, when in expected.items():
        workflow = load_workflow(WORKFLOWS_DIR / name)
        report = upload_step(workflow, "gate-report")
        for gate_outcome, runs in when.items():
            job_status = "failure" if gate_outcome == "failure" else "success"
            assert _holds(report["if"], gate_outcome, job_status) is runs, (name, gate_outcome)
        assert named_paths(report) == [f"{artifacts}/{item}" for item in REPORT_FILES]


def test_expression_evaluator_refuses_forms_it_does_not_model():
    contexts = {"inputs": {}, "steps": {}}
    for unknown in (
        "contains(github.ref, 'main')",
        "env.MLGATE_DATASET == 'x'",
        "steps.gates.outcome > 'a'",
        "hashFiles('x')",
        "true",
        "steps.gates.outcome == 1",
    ):
        with pytest.raises(ExpressionError):
            condition_holds(unknown, contexts, "success")


def test_expression_evaluator_adds_the_implicit_success_check_as_github_does():
    assert not _holds("steps.gates.outcome == 'success'", "success", "failure")
    assert _holds("always() && steps.gates.outcome == 'failure'", "failure", "failure")
    assert not _holds("success()", "failure", "failure")
    assert substitute("${{ inputs.dataset }}", {"inputs": {}, "steps": {}}) == ""


# --- local runs -----------------------------------------------------------------------


def write_broken_dataset(project: Project, frame) -> Path:
    """The bundled table as a CSV with a sign-flip bug upstream: 40 negative radii and areas."""
    frame = frame.copy()
    frame.loc[:39, ["mean radius", "worst area"]] *= -1
    path = project.root / BROKEN_DATASET
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)
    return path


def make_worse(project: Project) -> None:
    """The user's model change under test: one stump, thresholds lowered so only the champion gate can stop it."""
    pyproject = project.root / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8")
    worse = {
        "estimator_params": "{ n_estimators = 1, max_depth = 1 }",
        **{k: "0.5" for k in ("min_holdout_accuracy", "min_macro_f1", "min_roc_auc", "min_class_recall")},
    }
    for key, value in worse.items():
        text, count = re.subn(rf"(?m)^{key}\s*=.*$", f"{key} = {value}", text)
        if not count:
            text = text.replace("[tool.mlgate]\n", f"[tool.mlgate]\n{key} = {value}\n", 1)
    pyproject.write_text(text, encoding="utf-8")


def run_locally(name: str, scenario: str, scratch: Path, frame, github: FakeGitHub,
                not_run: frozenset[str] = frozenset({INSTALL_STEP})) -> JobRun:
    project = copy_project(scratch / "checkout")
    loosen_perf_budgets(project)  # the workflow's steps are under test here, not the timings
    inputs = {}  # a push: no workflow_dispatch inputs
    if scenario == "broken dataset":
        write_broken_dataset(project, frame)
        inputs = {"dataset": BROKEN_DATASET}  # as chosen in the workflow_dispatch form
    elif scenario == "missing dataset":
        inputs = {"dataset": MISSING_DATASET}
    elif scenario == "worse than production":
        make_worse(project)
    env = github_env(project.root, scratch)
    assert python_on_path(env).parent == VENV_BIN, "the steps would not run the venv's python"
    workflow = load_workflow(project.root / ".github" / "workflows" / name)
    context = {"token": "job-token", "repository": github.repository, "event": {"repository": {"default_branch": "main"}}}
    return run_job(workflow, JOB, project.root, scratch / "steps", inputs, not_run=not_run,
                   github=context, path_first=github.install())


@pytest.fixture(scope="module")
def local_runs(tmp_path_factory, breast_cancer_frame):
    """Each (workflow, scenario) run once: a gate session costs ~10 s, several tests read it.

    GitHub's run history is empty (no bundle yet: the first champion), except in
    "worse than production", where the upload workflow's green push is production.
    """
    done: dict[tuple[str, str], JobRun] = {}
    github: dict[tuple[str, str], FakeGitHub] = {}

    def local_run(name: str, scenario: str) -> JobRun:
        if (name, scenario) not in done:
            scratch = tmp_path_factory.mktemp("run")
            history = FakeGitHub(scratch / "github")
            if scenario == "worse than production":
                bundle = local_run(TRAIN_AND_UPLOAD, "push").workspace / configured_artifacts_dir()
                history.add_run(PRODUCTION_RUN, workflow=TRAIN_AND_UPLOAD, bundle=bundle)
            github[name, scenario] = history
            done[name, scenario] = run_locally(name, scenario, scratch, breast_cancer_frame, history)
        return done[name, scenario]

    local_run.github = github  # type: ignore[attr-defined]
    return local_run


def ran_uploads(run: JobRun) -> list:
    uploads = [s for s in run.steps if s.step.get("uses", "").startswith("actions/upload-artifact@")]
    return [s for s in uploads if s.outcome != "skipped"]


def assert_named_paths_exist(run: JobRun) -> None:
    uploads = ran_uploads(run)
    assert uploads, "no upload step would run"
    for upload in uploads:
        for path in named_paths({"with": upload.inputs}):
            assert (run.workspace / path).exists(), f"{upload.name}: {path} does not exist"


@pytest.mark.slow
@pytest.mark.parametrize("name", WORKFLOWS)
def test_green_run_passes_the_gate_step_and_summarises_every_gate_passed(local_runs, name):
    run = local_runs(name, "push")
    gates = run.step(GATE_STEP)
    assert gates.outcome == "success", gates.output[-3000:]
    assert GATE_TABLE_HEADER in run.summary
    assert VERDICT_ICONS["passed"] in run.summary
    assert not any(VERDICT_ICONS[s] in run.summary for s in ("failed", "error", "not run"))
    assert "**Promoted**" in run.summary
    # No production bundle in the run history: the first champion, and the summary says so.
    assert run.step(CHAMPION_STEP).outcome == "success"
    assert "### Champion: none yet" in run.summary
    # No dataset chosen by hand: [tool.mlgate] decided.
    assert f"Dataset `{configured('dataset')}`" in run.summary
    assert_named_paths_exist(run)


@pytest.mark.slow
def test_green_run_uploads_the_whole_bundle(local_runs):
    run = local_runs(TRAIN_AND_UPLOAD, "push")
    assert [s.inputs["name"] for s in ran_uploads(run)] == ["mlgate-bundle"]
    bundle = run.workspace / configured_artifacts_dir()
    expected = ["model/MLmodel", "metrics.json", "data_validation.json", *REPORT_FILES]
    if perf_gates_exist(run.workspace):
        expected.append("benchmark.json")
    for item in expected:
        assert (bundle / item).is_file(), f"the bundle lacks {item}"
    assert list(bundle.glob("*.png")), "the bundle lacks the plots"


@pytest.mark.slow
def test_broken_dataset_fails_the_gate_step_and_summarises_the_red_gate(local_runs):
    # Run once, with the upload workflow: the pull-request workflow's gate and summary steps
    # are the same (checked above), and a full session costs ~20 s of the test budget.
    run = local_runs(TRAIN_AND_UPLOAD, "broken dataset")
    gates = run.step(GATE_STEP)
    assert gates.outcome == "failure"
    chosen = re.search(rf"Dataset `[^`]*{re.escape(BROKEN_DATASET)}`", run.summary)
    assert chosen, "the dataset chosen by hand was not the one gated"
    assert GATE_TABLE_HEADER in run.summary
    red_rows = failed_gate_rows(run.summary, "data")
    assert any("mean radius" in row for row in red_rows), "the negative radii did not turn a data gate red"
    assert "**Promoted nothing.**" in run.summary
    assert_named_paths_exist(run)


@pytest.mark.slow
def test_broken_dataset_skips_the_bundle_upload_and_uploads_the_report_alone(local_runs):
    run = local_runs(TRAIN_AND_UPLOAD, "broken dataset")
    bundle = [s for s in run.steps if s.step.get("with", {}).get("name") == "mlgate-bundle"]
    assert [s.outcome for s in bundle] == ["skipped"]
    assert [s.inputs["name"] for s in ran_uploads(run)] == ["gate-report"]
    assert not (run.workspace / configured_artifacts_dir() / "model").exists()


@pytest.mark.slow
@pytest.mark.parametrize("name", WORKFLOWS)
def test_missing_dataset_stops_the_session_and_the_summary_says_so(local_runs, name):
    run = local_runs(name, "missing dataset")
    gates = run.step(GATE_STEP)
    assert gates.outcome == "failure"
    assert MISSING_DATASET in gates.output and "does not exist" in gates.output
    # The summary step must not fail on a missing report: it says where to look instead.
    assert run.step("Write the gate report to the job summary").outcome == "success"
    assert "No gate report" in run.summary
    assert [s.inputs["name"] for s in ran_uploads(run)] == ["gate-report"]
    assert not (run.workspace / configured_artifacts_dir()).exists()


# --- the champion from production -----------------------------------------------------


def test_both_workflows_import_the_production_champion_right_before_the_gate_step():
    steps = {name: load_workflow(WORKFLOWS_DIR / name)["jobs"][JOB]["steps"] for name in WORKFLOWS}
    ids = {name: [s.get("id") for s in found] for name, found in steps.items()}
    for name, order in ids.items():
        assert order.index(CHAMPION_STEP) + 1 == order.index(GATE_STEP), f"{name}: import is not right before the gates"
    (first, second) = ([s for s in found if s.get("id") == CHAMPION_STEP][0] for found in steps.values())
    assert first == second
    assert first["env"]["GH_TOKEN"] == "${{ github.token }}"  # the job token, read-only, no secret
    script = ROOT / shlex.split(first["run"])[-1]
    assert script.is_file() and "mlgate import-champion" in script.read_text()


@pytest.mark.slow
def test_worse_candidate_than_production_is_refused_and_uploads_no_bundle(local_runs):
    run = local_runs(TRAIN_AND_UPLOAD, "worse than production")
    production = f"https://github.com/owner/repo/actions/runs/{PRODUCTION_RUN}"
    assert run.step(CHAMPION_STEP).outcome == "success", run.step(CHAMPION_STEP).output[-3000:]
    assert f"compared with the `mlgate-bundle` of run [{PRODUCTION_RUN}]({production})" in run.summary
    assert run.step(GATE_STEP).outcome == "failure"
    red_rows = [row for family in ("data", "model", "perf") for row in failed_gate_rows(run.summary, family)]
    # A stump's probabilities are worse too: the calibration gate may refuse it beside the champion gate.
    assert any("test_candidate_not_worse_than_champion" in row for row in red_rows), red_rows
    assert all("test_candidate_not_worse_than_champion" in row or "test_probabilities_calibrated" in row
               for row in red_rows), red_rows
    assert f"production bundle from {production}" in run.summary
    assert "**Promoted nothing.**" in run.summary
    assert [s.inputs["name"] for s in ran_uploads(run)] == ["gate-report"]


@pytest.mark.slow
def test_champion_step_asks_for_the_upload_workflows_successful_runs_on_the_default_branch(local_runs):
    local_runs(TRAIN_AND_UPLOAD, "worse than production")
    calls = local_runs.github[TRAIN_AND_UPLOAD, "worse than production"].calls()
    listed = [c for c in calls if c[:2] == ["run", "list"]]
    assert listed and all(
        {("--workflow", TRAIN_AND_UPLOAD), ("--branch", "main"), ("--status", "success")} <= set(zip(c, c[1:]))
        for c in listed
    )
    assert [c for c in calls if c[:2] == ["run", "download"]] == [
        ["run", "download", str(PRODUCTION_RUN), "--name", "mlgate-bundle", "--dir", calls[-1][-1]]
    ]


def run_champion_step(tmp_path: Path, frame, history: FakeGitHub) -> JobRun:
    """The job with its gate step not run: only what the champion step does is under test."""
    return run_locally(TRAIN_AND_UPLOAD, "push", tmp_path, frame, history, not_run=frozenset({INSTALL_STEP, GATE_STEP}))


@pytest.mark.slow
def test_champion_step_skips_expired_failed_and_other_branch_bundles(local_runs, tmp_path, breast_cancer_frame, tracking_store):
    bundle = local_runs(TRAIN_AND_UPLOAD, "push").workspace / configured_artifacts_dir()
    history = FakeGitHub(tmp_path / "github")
    wanted = history.add_run(7001, workflow=TRAIN_AND_UPLOAD, bundle=bundle)
    history.add_run(7002, workflow=TRAIN_AND_UPLOAD, bundle=None)  # green, but its bundle expired
    history.add_run(7003, workflow=TRAIN_AND_UPLOAD, conclusion="failure", bundle=bundle)
    history.add_run(7004, workflow=TRAIN_AND_UPLOAD, branch="feature", bundle=bundle)
    history.add_run(7005, workflow=TRAIN_ON_CHANGE, bundle=bundle)

    run = run_champion_step(tmp_path, breast_cancer_frame, history)

    assert run.step(CHAMPION_STEP).outcome == "success", run.step(CHAMPION_STEP).output[-3000:]
    assert f"run [7001]({wanted})" in run.summary
    store = tracking_store(f"sqlite:///{run.workspace / 'mlflow.db'}")
    assert store.champion_version() == "1"
    version = store.client.get_model_version("mlgate-classifier", "1")
    assert version.tags["mlgate.imported_from"] == wanted


@pytest.mark.slow
def test_champion_step_with_every_bundle_expired_warns_and_gates_a_first_champion(local_runs, tmp_path, breast_cancer_frame):
    history = FakeGitHub(tmp_path / "github")
    history.add_run(7001, workflow=TRAIN_AND_UPLOAD, bundle=None)

    run = run_champion_step(tmp_path, breast_cancer_frame, history)

    assert run.step(CHAMPION_STEP).outcome == "success"
    assert "::warning::no production bundle left" in run.step(CHAMPION_STEP).output
    assert "### Champion: none left" in run.summary
    assert not (run.workspace / "mlflow.db").exists()
