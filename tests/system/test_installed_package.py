"""mlgate as a team gets it: a wheel installed into a repository that is not this one.

The wheel is built from this checkout and installed with its dependencies into a
fresh virtual environment; the team's repository has its own package, tests and
CSV. Nothing here imports the checkout's source: every step is a process in that
environment, as a user would run it.
"""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.support.project import ROOT, Project, clean_env, loosen_perf_budgets

pytestmark = pytest.mark.slow
INSTALL_SECONDS = 900
# What `mlgate init` adds to a repository, as `git status --porcelain` shows it (new folders as one line).
INIT_WRITES = (".github/", "MLProject", "conda.yaml", "gates/", "model/", "monitoring/", "pyproject.toml", ".gitignore")


def run(*command, cwd: Path, env=None, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=cwd, env=env or clean_env(), capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel `pip wheel .` builds from this checkout: what PyPI would carry."""
    out = tmp_path_factory.mktemp("wheel")
    built = run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(ROOT), cwd=out,
                timeout=INSTALL_SECONDS)
    assert built.returncode == 0, built.stderr[-3000:]
    (path,) = out.glob("mlgate-*.whl")
    return path


@pytest.fixture(scope="module")
def venv(wheel, tmp_path_factory) -> Path:
    """A fresh virtual environment with the wheel installed in it, and no checkout on its path.

    Its dependencies are read from the harness's environment through a path file (a plain
    directory entry: that environment's own .pth files, the editable mlgate among them, are
    not processed), so installing takes seconds instead of minutes of unpacking MLflow.
    """
    folder = tmp_path_factory.mktemp("venv") / "env"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True)
    (site,) = (folder / "lib").glob("python3*/site-packages")
    (site / "harness_dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    # pip from this interpreter installs into the new environment: no download of pip itself.
    installed = run(sys.executable, "-m", "pip", "--python", str(folder / "bin" / "python"), "install", "-q",
                    "--no-deps", str(wheel), cwd=folder, timeout=INSTALL_SECONDS)
    assert installed.returncode == 0, installed.stderr[-3000:]
    imported = run(str(folder / "bin" / "python"), "-c", "import mlgate; print(mlgate.__file__)", cwd=folder)
    assert imported.stdout.startswith(str(site)), imported.stdout + imported.stderr  # the wheel's, not the checkout's
    return folder / "bin"


def team_env(venv: Path) -> dict[str, str]:
    env = clean_env()
    env["PATH"] = f"{venv}:{env['PATH'].split(':', 1)[1]}"  # the team's venv, not the harness's
    env.pop("VIRTUAL_ENV", None)
    return env


def churn_csv(path: Path, rows: int = 400) -> None:
    """A CSV mlgate was not designed around: string labels, a categorical with gaps, integer counts."""
    rng = np.random.default_rng(7)
    tenure = rng.integers(1, 72, rows)
    charges = rng.normal(70, 20, rows).round(2)
    plan = rng.choice(["basic", "plus", "pro"], rows).astype(object)
    plan[rng.random(rows) < 0.05] = None
    charges[rng.random(rows) < 0.05] = np.nan
    churned = (tenure < 12) | ((plan == "basic") & (rng.random(rows) < 0.3))
    frame = pd.DataFrame({"tenure months": tenure, "monthly charges": charges, "plan": plan,
                          "churn": np.where(churned, "yes", "no")})
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)


@pytest.fixture(scope="module")
def team_repo(tmp_path_factory) -> Path:
    """An existing repository: its own pyproject, package, tests and data, committed."""
    root = tmp_path_factory.mktemp("team") / "acme"
    (root / "acme").mkdir(parents=True)
    (root / "acme" / "__init__.py").write_text("def double(x):\n    return 2 * x\n")
    (root / "tests").mkdir()
    (root / "tests" / "test_acme.py").write_text("from acme import double\n\n\ndef test_double():\n    assert double(2) == 4\n")
    (root / "pyproject.toml").write_text('[project]\nname = "acme"\nversion = "1.0"\n\n[tool.pytest.ini_options]\n'
                                         'pythonpath = ["."]\n')
    churn_csv(root / "data" / "x.csv")
    for command in (["git", "init", "-q"], ["git", "add", "-A"],
                    ["git", "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "acme"]):
        subprocess.run(command, cwd=root, check=True)
    return root


def git_status(root: Path) -> str:
    return subprocess.run(["git", "status", "--porcelain"], cwd=root, capture_output=True, text=True).stdout


def test_the_wheel_holds_one_top_level_package(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert {name.split("/")[0] for name in names} == {"mlgate", wheel.name.split("-py")[0] + ".dist-info"}
    assert "mlgate/scaffold/files/model/pipeline.py" in names


@pytest.mark.parametrize("generic", ["model", "monitoring", "team", "gates"])
def test_the_installed_wheel_puts_no_generic_package_on_the_path(venv, tmp_path, generic):
    result = run(str(venv / "python"), "-c", f"import {generic}", cwd=tmp_path)
    assert result.returncode == 1 and "ModuleNotFoundError" in result.stderr


def test_a_team_repository_gets_gates_that_promote_and_its_own_tests_stay_as_they_were(venv, team_repo):
    env = team_env(venv)
    before = run(str(venv / "python"), "-m", "pytest", cwd=team_repo, env=env)
    assert before.returncode == 0, before.stdout
    init = run(str(venv / "mlgate"), "init", "--dataset", "data/x.csv", "--target", "churn", cwd=team_repo, env=env)
    assert init.returncode == 0, init.stderr
    assert "wrote gates/model/test_model_gates.py" in init.stdout and "wrote model/pipeline.py" in init.stdout

    after = run(str(venv / "python"), "-m", "pytest", cwd=team_repo, env=env)
    assert after.returncode == 0 and "1 passed" in after.stdout, after.stdout
    # pytest's header lists installed plugins by name; nothing else of mlgate may show.
    assert [line for line in after.stdout.splitlines() if "gate" in line.lower()] == [
        line for line in before.stdout.splitlines() if "gate" in line.lower()
    ]
    assert not (team_repo / "mlflow.db").exists() and git_status(team_repo).count("\n") == len(INIT_WRITES)

    loosen_perf_budgets(Project(team_repo))  # the verdict, not this box's load, is under test
    gates = run(str(venv / "python"), "-m", "pytest", "gates/", "-p", "no:cacheprovider", cwd=team_repo, env=env, timeout=900)
    assert gates.returncode == 0, gates.stdout[-4000:]
    assert "Bundle written" in gates.stdout and (team_repo / "artifacts" / "gate_report.md").is_file()


def test_reinstalling_and_a_second_init_change_nothing(venv, wheel, team_repo):
    env = team_env(venv)
    subprocess.run(["git", "add", "-A"], cwd=team_repo, check=True)
    subprocess.run(["git", "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "init"], cwd=team_repo)
    reinstalled = run(sys.executable, "-m", "pip", "--python", str(venv / "python"), "install", "-q",
                      "--force-reinstall", "--no-deps", str(wheel), cwd=team_repo, timeout=INSTALL_SECONDS)
    assert reinstalled.returncode == 0, reinstalled.stderr
    again = run(str(venv / "mlgate"), "init", "--dataset", "data/x.csv", "--target", "churn", cwd=team_repo, env=env)
    assert again.returncode == 0, again.stderr
    assert git_status(team_repo) == "" and "wrote" not in again.stdout, again.stdout
