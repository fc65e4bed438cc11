"""A throwaway copy of the project for the benchmarks, and the datasets they run on.

The benchmarks time whole gate sessions and servers as a user would run
them, in a temporary folder with its own SQLite store, so they never share a
registry with each other or touch the working tree's. The copying and the
clean environment are the test suite's (tests/support/project.py); the
benchmarks copy less, run sessions quietly and drop PYTHONPATH too.

A copy holds what `pytest gates/` reads: model/, monitoring/, gates/,
conftest.py and pyproject.toml. (With model/ and monitoring/ in the copy, a
session imports the copy's library, as a checkout without an editable
install would.)
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support import project as test_project  # noqa: E402

ROOT = test_project.ROOT
COPIED = ("model", "monitoring", "gates", "conftest.py", "pyproject.toml")
# The tests' list, and PYTHONPATH: a benchmark times the installed library, never a path a shell points at.
SCRUBBED = (*test_project.SCRUBBED, "PYTHONPATH")
# The wine dataset with a one-hot column, as `wine_categorical.csv` in a copy.
WINE_CSV, WINE_TARGET = "data/wine_categorical.csv", "cultivar"
WINE_REGIONS = ("north", "south", "east", "west")
DIABETES_CSV, DIABETES_TARGET = "data/diabetes.csv", "progression"


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without what would point a session at another store, venv bin first on PATH."""
    return test_project.clean_env(SCRUBBED, **extra)


class Project(test_project.Project):
    """A copy as the benchmarks run it: their clean environment, quiet sessions, 15 minutes at most."""

    def run(self, *command: str, env: dict[str, str] | None = None, timeout: float = 900) -> subprocess.CompletedProcess:
        return super().run(*command, env=env or clean_env(), timeout=timeout)

    def run_gates(self, *args: str, timeout: float = 900) -> subprocess.CompletedProcess:
        """`pytest gates/ ARGS` in this copy, as a subprocess, against the copy's own SQLite store."""
        return self.run(sys.executable, "-m", "pytest", "gates/", "-q", "-p", "no:cacheprovider", *args, timeout=timeout)


def copy_project(destination: Path) -> Project:
    return Project(test_project.copy_project(destination, COPIED).root)


# --- datasets: (gate arguments) for a copy -------------------------------------------------


def wine_categorical_frame(seed: int = 7):
    """Wine with string labels, a 'region' column (4 values, ~10 % missing) and ~5 % NaN in two numeric columns.

    A pipeline with a one-hot step and imputers on both kinds: what the
    compiled model must handle beyond a forest on numbers.
    """
    import pandas as pd
    from sklearn.datasets import load_wine

    rng = np.random.default_rng(seed)
    frame = load_wine(as_frame=True).frame
    frame[WINE_TARGET] = frame.pop("target").map({0: "barolo", 1: "grignolino", 2: "barbera"})
    region = pd.Series(rng.choice(WINE_REGIONS, size=len(frame)), dtype=object)
    region[rng.random(len(frame)) < 0.10] = None
    frame.insert(0, "region", region)
    for column in ("magnesium", "color_intensity"):
        frame.loc[rng.random(len(frame)) < 0.05, column] = np.nan
    return frame


def diabetes_frame():
    """scikit-learn's diabetes data with its target named as a user would: a number to predict."""
    from sklearn.datasets import load_diabetes

    frame = load_diabetes(as_frame=True).frame
    frame[DIABETES_TARGET] = frame.pop("target")
    return frame


# The settings each dataset overrides in a copy (its pyproject.toml names breast_cancer).
DATASETS = {
    "breast_cancer": {},
    "wine_categorical": {"dataset": WINE_CSV, "target": WINE_TARGET},
    # A regression champion (task inferred from the numeric target): a compiled forest regressor.
    "diabetes": {"dataset": DIABETES_CSV, "target": DIABETES_TARGET},
}
FRAMES = {"wine_categorical": wine_categorical_frame, "diabetes": diabetes_frame}


def use_dataset(project: Project, dataset: str) -> list[str]:
    """Prepare `project` for `dataset` (a key of DATASETS); the `pytest gates/` arguments for it.

    For the wine dataset: the CSV in the copy and its Great Expectations
    suite drafted by `mlgate expectations`, as a user would.
    """
    if dataset not in DATASETS:
        raise ValueError(f"unknown dataset {dataset!r}; use one of {', '.join(DATASETS)}")
    arguments = [part for key, value in DATASETS[dataset].items() for part in (f"--mlgate-{key}", value)]
    if dataset == "breast_cancer":
        return arguments
    csv, target = DATASETS[dataset]["dataset"], DATASETS[dataset]["target"]
    path = project.root / csv
    path.parent.mkdir(parents=True, exist_ok=True)
    FRAMES[dataset]().to_csv(path, index=False)
    drafted = project.run(sys.executable, "-m", "mlgate", "expectations", "--dataset", csv, "--target", target)
    if drafted.returncode != 0:
        raise RuntimeError(f"drafting the {dataset} suite failed:\n{drafted.stdout[-2000:]}\n{drafted.stderr[-2000:]}")
    return arguments
