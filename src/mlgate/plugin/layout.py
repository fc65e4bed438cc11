"""Where a project keeps its gates, and whether a session asked for them (light: the plugin imports it at start-up)."""

from __future__ import annotations

from pathlib import Path

import pytest

GATES_FOLDER = "gates"


def gates_dir(config: pytest.Config) -> Path:
    return config.rootpath / GATES_FOLDER


def gates_requested(config: pytest.Config) -> bool:
    """True when an argument names the gates folder or a path inside it: `pytest gates/`, `pytest gates/model`."""
    folder = gates_dir(config)
    invoked = config.invocation_params.dir
    for arg in config.args:
        path = (invoked / arg.split("::")[0]).resolve()
        if path == folder or folder in path.parents:
            return True
    return False
