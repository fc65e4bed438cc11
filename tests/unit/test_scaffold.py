"""`mlgate init`: this repository is what it writes, and it never overwrites a team's file."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from mlgate.scaffold import FILES, init_project, rendered, templates, tokens
from mlgate.settings import SettingsError
from tests.support.project import ROOT


def test_the_reference_project_is_exactly_what_init_writes():
    """Every scaffold file, rendered for this repository, equals the file at the top level."""
    values = tokens(ROOT, "sklearn:breast_cancer", "target")
    differing = [
        str(t.relative_to(FILES)) for t in templates() if rendered(t, values) != (ROOT / t.relative_to(FILES)).read_bytes()
    ]
    assert differing == []
    assert {"gates/model/test_model_gates.py", "model/pipeline.py", "monitoring/alerts.yml", "MLProject",
            "conda.yaml", ".github/workflows/ci_train_model.yml"} <= {str(t.relative_to(FILES)) for t in templates()}


def test_another_project_installs_the_release_and_this_one_itself():
    assert tokens(ROOT, "d.csv", "y")["@MLGATE@"] == "-e ."
    assert tokens(Path("/nonexistent"), "d.csv", "y")["@MLGATE@"].startswith("mlgate==")


@pytest.fixture
def team(tmp_path: Path) -> Path:
    """An existing project: its own pyproject with a [project] table, a CSV, a file init would write."""
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "acme"\nversion = "1"\n')
    (tmp_path / "data").mkdir()
    rows = "\n".join(f"{i},{i % 7},{'a' if i % 3 else 'b'}" for i in range(60))
    (tmp_path / "data" / "x.csv").write_text("n,m,y\n" + rows + "\n")
    (tmp_path / "MLProject").write_text("name: ours\n")
    return tmp_path


def test_init_writes_the_table_suite_and_ignores_and_keeps_the_teams_files(team):
    done = init_project(team, "data/x.csv", "y")
    table = tomllib.loads((team / "pyproject.toml").read_text())
    assert table["tool"]["mlgate"] == {"dataset": "data/x.csv", "target": "y"} and table["project"]["name"] == "acme"
    assert (team / "gates" / "expectations" / "x.json").is_file() and (team / "model" / "pipeline.py").is_file()
    assert "mlflow.db" in (team / ".gitignore").read_text().splitlines()
    assert (team / "MLProject").read_text() == "name: ours\n" and done.skipped == ["MLProject"]
    assert "mlgate[boosting]==" in (team / "conda.yaml").read_text()


def test_a_second_init_changes_nothing(team):
    init_project(team, "data/x.csv", "y")
    before = {p: p.read_bytes() for p in team.rglob("*") if p.is_file()}
    again = init_project(team, "data/x.csv", "y")
    assert {p: p.read_bytes() for p in team.rglob("*") if p.is_file()} == before
    assert again.written == []


def test_force_overwrites_what_differs(team):
    init_project(team, "data/x.csv", "y", force=True)
    assert (team / "MLProject").read_text().startswith("name: mlgate")


def test_a_missing_dataset_is_one_error_naming_it_and_nothing_is_written(team):
    with pytest.raises(SettingsError, match="data/absent.csv"):
        init_project(team, "data/absent.csv", "y")
    assert not (team / "gates").exists()


def test_conda_env_takes_its_dependencies_from_pyproject_alone():
    """One list of dependencies: conda.yaml names only Python, pip and mlgate itself (with an extra)."""
    import yaml

    env = yaml.safe_load((ROOT / "conda.yaml").read_text())
    (pip,) = [entry["pip"] for entry in env["dependencies"] if isinstance(entry, dict)]
    assert pip == ["-e .[boosting]"]
    assert [d for d in env["dependencies"] if isinstance(d, str)] == ["python=3.11", "pip"]
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert "boosting" in extras
