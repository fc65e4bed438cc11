"""Drop, at collection, the gates that do not exist for this session's task or settings.

A gate marked `mlgate_task("regression")` exists only for a regression task (and
"classification" likewise); one marked `mlgate_limit("max_rmse")` only when that
setting is finite. They are marked `mlgate_not_declared`, which the session drops:
a skipped gate would block promotion, a gate that does not apply must not.
"""

from __future__ import annotations

import math

import pytest

from mlgate.plugin.stash import SETTINGS_KEY

NOT_DECLARED = "mlgate_not_declared"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    from mlgate.task import task_of

    settings = config.stash[SETTINGS_KEY]
    task = None
    for item in items:
        for_task = item.get_closest_marker("mlgate_task")
        limit = item.get_closest_marker("mlgate_limit")
        if for_task is not None:
            task = task or task_of(settings).task
            if for_task.args[0] != task:
                item.add_marker(NOT_DECLARED)
        if limit is not None and not math.isfinite(getattr(settings, limit.args[0])):
            item.add_marker(NOT_DECLARED)
