"""The session's settings: the project's only pytest_addoption.

Settings are parsed once, in pytest_configure, so that a bad value stops the
session before collection with one usage error instead of a traceback later.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from gates.stash import SETTINGS_KEY
from model.settings import Settings, SettingsError, load_settings


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("mlgate", "mlgate gate session")
    group.addoption("--dataset", metavar="PATH", help="a CSV file or sklearn:breast_cancer")
    group.addoption("--target", metavar="COLUMN", help="the label column of the dataset")
    group.addoption("--model-name", metavar="NAME", help="the registered model to gate and promote")
    group.addoption(
        "--mlgate-config",
        metavar="FILE",
        help="a TOML file whose [tool.mlgate] table overrides pyproject.toml",
    )


@pytest.hookimpl(tryfirst=True)  # gates/conftest.py reads the settings in its own pytest_configure
def pytest_configure(config: pytest.Config) -> None:
    config_file = config.getoption("mlgate_config")
    overrides = {
        "dataset": config.getoption("dataset"),
        "target": config.getoption("target"),
        "model_name": config.getoption("model_name"),
    }
    try:
        settings = load_settings(
            pyproject=config.rootpath / "pyproject.toml",
            config_file=Path(config_file) if config_file else None,
            overrides=overrides,
        )
    except SettingsError as error:
        raise pytest.UsageError(f"mlgate: {error}") from None
    config.stash[SETTINGS_KEY] = settings


@pytest.fixture(scope="session")
def settings(pytestconfig: pytest.Config) -> Settings:
    """Every knob of the session, typed and checked once at start-up."""
    return pytestconfig.stash[SETTINGS_KEY]
