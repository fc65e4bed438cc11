"""A throwaway copy of the project, to run whole gate sessions in as a user would.

Each copy has its own SQLite tracking store and artifacts folder, so tests
never share a registry and never touch the working tree's.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
# What a user's checkout needs to run `pytest gates/`; the library comes from the install.
COPIED = ("conftest.py", "pyproject.toml", "gates", "model", "monitoring", "MLProject", "conda.yaml", "README.md", ".github", ".ci")
IGNORED = shutil.ignore_patterns("__pycache__", ".pytest_cache", ".hypothesis", ".benchmarks")
# Variables a user's or developer's shell may carry that would point a child process elsewhere.
# An xdist worker's own variables would make a child pytest's benchmarks think they run under xdist.
SCRUBBED = (
    "MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI", "MLFLOW_RUN_ID", "MLFLOW_EXPERIMENT_ID", "MLFLOW_EXPERIMENT_NAME",
    "PYTEST_ADDOPTS", "PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT", "PYTEST_XDIST_TESTRUNUID",
)


def clean_env(scrubbed: tuple[str, ...] = SCRUBBED, /, **extra: str) -> dict[str, str]:
    """This environment without the `scrubbed` variables, venv bin first on PATH, `extra` on top."""
    env = {k: v for k, v in os.environ.items() if k not in scrubbed}
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra)
    return env


@dataclass(frozen=True)
class Project:
    root: Path

    @property
    def tracking_uri(self) -> str:
        return f"sqlite:///{self.root / 'mlflow.db'}"

    @property
    def artifacts(self) -> Path:
        return self.root / "artifacts"

    def run(self, *command: str, env: dict[str, str] | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
        return subprocess.run(
            command,
            cwd=self.root,
            env=env or clean_env(),
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def run_gates(self, *args: str, env: dict[str, str] | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
        """`pytest gates/ ARGS` in this copy, as a subprocess: the session under test."""
        return self.run(sys.executable, "-m", "pytest", "gates/", "-p", "no:cacheprovider", *args, env=env, timeout=timeout)

    def write_config(self, **settings) -> Path:
        """A --mlgate-config file with these [tool.mlgate] values."""
        import json

        lines = ["[tool.mlgate]"]
        for key, value in settings.items():
            if isinstance(value, dict):
                inner = ", ".join(f"{k} = {json.dumps(v)}" for k, v in value.items())
                lines.append(f"{key} = {{ {inner} }}")
            else:
                lines.append(f"{key} = {json.dumps(value)}")
        path = self.root / "override.toml"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path


def copy_project(destination: Path, copied: tuple[str, ...] = COPIED) -> Project:
    destination.mkdir(parents=True, exist_ok=True)
    for name in copied:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, destination / name, ignore=IGNORED)
        elif source.is_file():
            shutil.copy2(source, destination / name)
    return Project(destination)


# Perf budgets in the copies: loose enough that a busy shared machine cannot fail them.
LOOSE_SECONDS, LOOSE_RATIO = 10.0, 1000.0
# Each perf gate's measurement in the copies (perf_measure_seconds): their verdicts are not under test.
BRIEF_MEASURE_SECONDS = 0.3


def loosen_perf_budgets(project: Project) -> None:
    """Every `*_budget*` setting of the copy's [tool.mlgate], set far above any real timing.

    These tests check what a session does with its gates' verdicts; a perf
    gate's own measurement is tested elsewhere. The perf gates still run
    (promotion needs the full set), they just cannot go red on a loaded CI box,
    and they measure for BRIEF_MEASURE_SECONDS instead of seconds.
    """
    import dataclasses
    import re

    from mlgate.settings import Settings

    budgets = {
        f.name: LOOSE_SECONDS if f.name.endswith("_seconds") else LOOSE_RATIO
        for f in dataclasses.fields(Settings)
        if "_budget" in f.name
    }
    budgets["perf_measure_seconds"] = BRIEF_MEASURE_SECONDS
    pyproject = project.root / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8")
    for name in budgets:  # a budget the project sets itself is replaced, not duplicated
        text = re.sub(rf"(?m)^{name}\s*=.*\n", "", text)
    loose = "".join(f"{name} = {value}\n" for name, value in budgets.items())
    header = "[tool.mlgate]\n"
    assert header in text, "pyproject.toml has no [tool.mlgate] table"
    pyproject.write_text(text.replace(header, header + loose, 1), encoding="utf-8")
