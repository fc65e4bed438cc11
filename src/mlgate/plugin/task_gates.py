"""Drop, at collection, the gates that do not exist for this session's task or settings.

A gate whose defining module sets `GATE_TASK = "regression"` exists only for a
regression task (and "classification" likewise): the module, not a marker, because
a team's gate file star-imports every shipped module and with them one `pytestmark`.
A gate marked `mlgate_limit("max_rmse")` exists only when that setting is finite. They are marked `mlgate_not_declared`, which the session drops:
a skipped gate would block promotion, a gate that does not apply must not.
"""

from __future__ import annotations

import math
import sys

import pytest

from mlgate.plugin.stash import SETTINGS_KEY

NOT_DECLARED = "mlgate_not_declared"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    from mlgate.task import task_of

    settings = config.stash[SETTINGS_KEY]
    task = None
    for item in items:
        function = getattr(item, "function", None)
        for_task = getattr(sys.modules.get(getattr(function, "__module__", "")), "GATE_TASK", None)
        limit = item.get_closest_marker("mlgate_limit")
        if for_task is not None:
            task = task or task_of(settings).task
            if for_task != task:
                item.add_marker(NOT_DECLARED)
        if limit is not None and not math.isfinite(getattr(settings, limit.args[0])):
            item.add_marker(NOT_DECLARED)
