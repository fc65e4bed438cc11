"""mlgate's pytest plugin (the `pytest11` entry point): inert until a session asks for the gates.

Installing mlgate must change nothing for a pytest run that collects no gate, so
this module imports nothing but pytest and pathlib. It adds its options (all
`--mlgate-*`) and markers, keeps the project's `gates/` folder out of runs that
did not name it, and only when an argument names `gates/` (or a path inside it)
registers the gate session: settings, fixtures, the outcomes observer and the
verdict at session finish (`mlgate.plugin.session`).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mlgate.plugin.layout import gates_dir, gates_requested

MARKERS = (
    "data_gate: the Great Expectations data suite",
    "model_gate: model thresholds, the champion comparison and behaviour",
    "perf_gate: serving and exporter latency budgets (pytest-benchmark)",
    "mlgate_not_declared: a gate that does not exist for this dataset; dropped at collection",
    "mlgate_limit(setting): a gate that exists only when that limit setting is finite",
)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("mlgate", "mlgate gate session (pytest gates/)")
    group.addoption("--mlgate-dataset", metavar="PATH", help="a CSV file or sklearn:breast_cancer")
    group.addoption("--mlgate-target", metavar="COLUMN", help="the target column of the dataset")
    group.addoption("--mlgate-model-name", metavar="NAME", help="the registered model to gate and promote")
    group.addoption(
        "--mlgate-config", metavar="FILE", help="a TOML file whose [tool.mlgate] table overrides pyproject.toml"
    )


def pytest_configure(config: pytest.Config) -> None:
    for marker in MARKERS:
        config.addinivalue_line("markers", marker)
    if gates_requested(config):
        from mlgate.plugin import session

        from mlgate.plugin import task_gates

        config.pluginmanager.register(session, "mlgate-session")
        config.pluginmanager.register(task_gates, "mlgate-task-gates")


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """A run that did not name `gates/` never collects it: `pytest` in the project runs the project's tests."""
    if collection_path == gates_dir(config) and not config.pluginmanager.has_plugin("mlgate-session"):
        return True
    return None
