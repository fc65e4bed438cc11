"""The tutorials' quickstart commands, run as written in a fresh project, promote a champion.

Each tutorial marks its quickstart with `<!-- quickstart -->` above a fenced
bash block; this test runs those lines one by one in an empty folder set up as a
user's project, so the docs cannot rot away from the commands that work.
Lines that set up the environment (`python3 -m venv`, `pip install`) are not
run: the test runs in the environment under test, with this checkout's mlgate.
"""

from __future__ import annotations

import re
import shlex
import subprocess

import pytest

from tests.support.project import ROOT, Project, clean_env, loosen_perf_budgets

pytestmark = pytest.mark.slow

TUTORIALS = ROOT / "docs" / "tutorial"
MARK = "<!-- quickstart -->"
ENVIRONMENT_SETUP = ("python3 -m venv", "pip install")


def quickstart_commands(page: str) -> list[str]:
    """The command lines of the bash block right after the page's quickstart mark."""
    text = page.split(MARK, 1)[1]
    block = re.match(r"\s*```bash\n(.*?)```", text, flags=re.DOTALL)
    assert block, f"no ```bash block right after {MARK}"
    lines = [line.split("  #", 1)[0].strip() for line in block.group(1).splitlines()]
    return [line for line in lines if line and not line.startswith(ENVIRONMENT_SETUP)]


def test_the_quickstart_block_is_read_without_its_comments_and_setup_lines():
    page = f"intro\n{MARK}\n```bash\npython3 -m venv .venv\npip install mlgate\nmlgate init   # writes\npytest gates/\n```\n"
    assert quickstart_commands(page) == ["mlgate init", "pytest gates/"]


def _existing_project(root, csv: bool) -> None:
    """A repository as a team has it before mlgate: its own pyproject, tests and (maybe) a CSV."""
    (root / "tests").mkdir(parents=True)
    (root / "tests" / "test_acme.py").write_text("def test_acme():\n    assert True\n", encoding="utf-8")
    (root / "pyproject.toml").write_text('[project]\nname = "acme"\nversion = "1.0"\n', encoding="utf-8")
    if csv:
        from sklearn.datasets import load_breast_cancer

        frame = load_breast_cancer(as_frame=True).frame.rename(columns={"target": "churned"})
        (root / "data").mkdir()
        frame.to_csv(root / "data" / "churn.csv", index=False)
    for command in (["git", "init", "-q"], ["git", "add", "-A"], ["git", "-c", "user.name=t", "-c", "user.email=t@t",
                                                                   "commit", "-qm", "acme"]):
        subprocess.run(command, cwd=root, check=True, capture_output=True)


@pytest.mark.parametrize("tutorial, needs_csv", [("first-session.md", False), ("your-csv.md", True)])
def test_the_tutorial_quickstart_promotes_a_champion(tmp_path, tutorial, needs_csv):
    commands = quickstart_commands((TUTORIALS / tutorial).read_text(encoding="utf-8"))
    project = Project(tmp_path / "acme")
    _existing_project(project.root, needs_csv)
    env = clean_env(PYTHONPATH=str(ROOT / "src"))
    for command in commands:
        done = project.run(*shlex.split(command), env=env)
        assert done.returncode == 0, f"`{command}` exited {done.returncode}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        if command.startswith("mlgate init"):
            # The perf gates' own measurement is tested in test_perf_gates.py; here a loaded
            # machine must not turn the tutorial red.
            loosen_perf_budgets(project)
    report = (project.artifacts / "gate_report.md").read_text(encoding="utf-8")
    assert "✅ **Promoted**" in report, report[:2000]
    assert (project.root / "mlflow.db").is_file()
