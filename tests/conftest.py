"""Fixtures shared by the harness's own tests.

Tests are grouped by kind: tests/unit (the pure core, seconds),
tests/integration (real servers and tools), tests/system (whole gate
sessions); what they share that is not a fixture is in tests/support.

Session tests run `pytest gates/` in a throwaway copy of the project
(tests/support/project.py) and then read what it left behind: the copy's SQLite
tracking store, its registry and its artifacts/ folder. They read the store
with an `MlflowClient` built for that store's URI, never through mlflow's
process-wide tracking URI, so no test can point another at the wrong store.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mlgate import tracking
from tests.support.behaviour import SUITE, Linear
from tests.support.project import Project, copy_project, loosen_perf_budgets

MODEL_NAME = "mlgate-classifier"


def pytest_configure(config: pytest.Config) -> None:
    if hasattr(config, "workerinput"):  # a pytest-xdist worker (`make test` runs the suite in two)
        main = sys.modules["__main__"]
        if main.__spec__ is None and not hasattr(main, "__file__"):
            # pyspark.sql.connect, which great_expectations imports, takes a __main__ with neither
            # a spec nor a file for its doctest runner and calls sys.exit(0); execnet runs each
            # worker under exactly such a __main__. This names the file the worker runs.
            import xdist.remote

            main.__file__ = xdist.remote.__file__


@pytest.fixture(autouse=True)
def no_active_mlflow_run():
    """A test that leaves an MLflow run open makes the next test log into it; fail the leaker."""
    yield
    mlflow = sys.modules.get("mlflow")  # only a test that imported mlflow can leak a run
    if mlflow is not None and mlflow.active_run() is not None:
        leaked = mlflow.active_run().info.run_id
        mlflow.end_run()
        pytest.fail(f"the test left MLflow run {leaked} active; end it (use `with mlflow.start_run()`)")


@pytest.fixture(scope="session")
def settings():
    """The reference project's settings, read as a gate session reads them: budgets and defaults tests compare with."""
    from mlgate.settings import load_settings
    from tests.support.project import ROOT

    return load_settings(pyproject=ROOT / "pyproject.toml", workdir=ROOT)


@pytest.fixture(scope="module")
def penguins(tmp_path_factory):
    """A champion on the penguin-like table (integer `year`, strings and numbers with gaps), compiled and with its
    drift profile, as a green session leaves it: what the MLflow routes, `mlgate score` and Spark are tried on.
    Module scope: each module gets its own store, registering takes seconds."""
    from tests.support.penguins import register_penguins

    return register_penguins(tmp_path_factory.mktemp("penguins"))


@pytest.fixture(scope="session")
def make_project() -> Callable[[Path], Project]:
    """Copies the project to a folder, perf budgets loosened: how every session test gets its copy."""

    def make(destination: Path) -> Project:
        project = copy_project(destination)
        loosen_perf_budgets(project)
        return project

    return make


@pytest.fixture
def project(tmp_path: Path, make_project) -> Project:
    """A fresh copy of the project with an empty store: for a session no other test may influence."""
    return make_project(tmp_path / "project")


@pytest.fixture(scope="session")
def breast_cancer_frame():
    """The bundled default dataset as a table, for tests that need it as a CSV file."""
    from sklearn.datasets import load_breast_cancer

    return load_breast_cancer(as_frame=True).frame


@pytest.fixture(scope="session")
def mixed_frame():
    """A user's kind of table: string categories with gaps, a number, a flag, 3 string labels.

    The label `grade` follows `size` closely and `colour` loosely, so a small
    model learns it well enough to pass the default gates without being handed it.
    """
    import numpy as np
    import pandas as pd

    rows = 300
    rng = np.random.default_rng(0)
    label = np.array(["low", "mid", "high"])[np.arange(rows) % 3]
    centre = {"low": 1.0, "mid": 3.0, "high": 5.0}
    colour = pd.Series([{"low": "red", "mid": "green", "high": "blue"}[v] for v in label], dtype=object)
    colour[rng.random(rows) < 0.1] = rng.choice(["red", "green", "blue"])
    colour[rng.random(rows) < 0.08] = None
    return pd.DataFrame(
        {
            "colour": colour,
            "size": (np.array([centre[v] for v in label]) + rng.normal(0, 0.35, rows)).round(3),
            "indoor": rng.random(rows) < 0.5,
            "grade": label,
        }
    )


@dataclass(frozen=True)
class TrackingStore:
    """What a session left in one tracking store: runs, versions and the champion."""

    client: Any  # an MlflowClient bound to this store's URI

    def champion_version(self, name: str = MODEL_NAME) -> str | None:
        """The version `@champion` points at; None with no champion or no model yet."""
        from mlflow.exceptions import MlflowException

        try:
            return str(self.client.get_model_version_by_alias(name, tracking.CHAMPION_ALIAS).version)
        except MlflowException as error:
            if error.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
                return None
            raise

    def versions(self, name: str = MODEL_NAME) -> list[str]:
        found = self.client.search_model_versions(f"name='{name}'")
        return sorted((str(v.version) for v in found), key=int)

    def runs(self) -> list:
        """Every run in every experiment, newest first."""
        experiments = [e.experiment_id for e in self.client.search_experiments()]
        return self.client.search_runs(experiments, order_by=["attributes.start_time DESC"])

    def latest_run(self):
        runs = self.runs()
        assert runs, "the store holds no run at all"
        return runs[0]


@pytest.fixture(scope="session")
def tracking_store() -> Callable[[str], TrackingStore]:
    """Opens a session's store by URI from this process, as a user's client would after the session."""
    from mlflow import MlflowClient

    return lambda uri: TrackingStore(MlflowClient(tracking_uri=uri, registry_uri=uri))


# --- metrics on a registry of the test's own (prometheus client_python's habit) -------------


@pytest.fixture
def registry():
    """A registry of this test's own: counts start at zero and never leak between tests."""
    import os

    from mlgate.monitoring.metrics import build_registry

    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        pytest.skip("PROMETHEUS_MULTIPROC_DIR is set in the test environment; unset it to run in-process tests")
    return build_registry()


@pytest.fixture
def metrics(registry):
    """The metrics under test, on this test's registry."""
    from mlgate.monitoring.metrics import ServingMetrics

    return ServingMetrics(registry)


# --- the default dataset for the behaviour tests (unit and integration) ---------------------


@pytest.fixture(scope="module")
def split():
    """The default dataset split as the gates split it: the holdout the claims are searched around."""
    from mlgate.data import load_dataset, split_holdout
    from mlgate.settings import Settings

    settings = Settings()
    return split_holdout(load_dataset(settings.dataset, settings.target), settings.holdout_fraction, key=settings.split_key)


@pytest.fixture(scope="module")
def holdout(split):
    """Holdout features in the form the model takes."""
    from mlgate.training import as_model_input

    return as_model_input(split.holdout.features)


@pytest.fixture(scope="module")
def schema(holdout):
    """The rows the shipped data suite accepts: what hypothesis draws from."""
    import json

    from mlgate.behaviour import schema as behaviour_schema

    return behaviour_schema.schema_for(json.loads(SUITE.read_text()), holdout, [0, 1], "target")


@pytest.fixture(scope="module")
def linear(holdout) -> Linear:
    """A fast stand-in: malignant (0) more likely with size and concavity, as in the data."""
    return Linear(holdout, {"worst radius": 2.0, "mean concave points": 1.5, "worst texture": 0.5})


@pytest.fixture(scope="module")
def forest(split):
    """The real default RandomForest, trained once per module: the model the gates judge."""
    from mlgate.settings import Settings
    from mlgate.training import train_model

    return train_model(split.train, Settings())
