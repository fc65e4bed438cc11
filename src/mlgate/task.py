"""Which task a gate session judges: classification or regression, set or inferred from the target.

`task = "auto"` (the default) reads the target column once and decides:

- text, booleans or categories: classification;
- numbers with a fractional part and more than MAX_CLASSES distinct values: regression;
- whole numbers (int columns, or floats that are all whole, as a CSV's integer
  labels with gaps read): regression only when there are more than MAX_CLASSES
  distinct values *and* they are more than MIN_DISTINCT_SHARE of the rows, so a
  100-class integer code on 100,000 rows stays a classification;
- anything else: classification.

The rule and its numbers go into the report, so a wrong guess is one line to
read and one setting (`task`) to fix. Rows without a target are not counted
here: they are dropped and counted by the split.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

from mlgate.settings import Settings

CLASSIFICATION, REGRESSION, AUTO = "classification", "regression", "auto"
# More distinct values than this cannot be a label set a report of per-class recalls could show.
MAX_CLASSES = 20
# Whole numbers: distinct values in more than this share of the rows read as a quantity, not codes.
MIN_DISTINCT_SHARE = 0.05
# The estimator setting's default is a classifier; a regression task left at it gets this one.
DEFAULT_REGRESSOR = "sklearn.ensemble.RandomForestRegressor"


@dataclass(frozen=True)
class TaskChoice:
    task: str  # "classification" or "regression"
    why: str  # one sentence for the report

    @property
    def is_regression(self) -> bool:
        return self.task == REGRESSION


def infer_task(target: pd.Series) -> TaskChoice:
    """The task a target column implies, by the rule in the module docstring, and why."""
    values = target.dropna()
    name = f"target '{target.name}'"
    if values.empty or not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        return TaskChoice(CLASSIFICATION, f"{name} is not numeric ({target.dtype}): classification (task = \"auto\")")
    distinct = int(values.nunique())
    share = distinct / len(values)
    numbers = values.to_numpy(dtype=np.float64)
    whole = bool(np.all(np.isfinite(numbers)) and np.all(numbers == np.round(numbers)))
    counted = f"{distinct} distinct values in {len(values)} rows ({share:.0%})"
    if not whole and distinct > MAX_CLASSES:
        task, rule = REGRESSION, f"fractional numbers with over {MAX_CLASSES} distinct values"
    elif whole and distinct > MAX_CLASSES and share > MIN_DISTINCT_SHARE:
        task, rule = REGRESSION, f"whole numbers with over {MAX_CLASSES} distinct values in over {MIN_DISTINCT_SHARE:.0%} of rows"
    else:
        task, rule = CLASSIFICATION, (
            f"numbers needing over {MAX_CLASSES} distinct values"
            + ("" if not whole else f" in over {MIN_DISTINCT_SHARE:.0%} of rows")
            + " for regression"
        )
    return TaskChoice(task, f"{name} has {counted}: {task} (task = \"auto\": {rule}); set task to override")


def task_of(settings: Settings) -> TaskChoice:
    """The session's task: the `task` setting, or inferred from the dataset's target column."""
    if settings.task != AUTO:
        return TaskChoice(settings.task, f"task = \"{settings.task}\" in the settings")
    return _inferred(settings.dataset, settings.target)


@lru_cache(maxsize=8)
def _inferred(dataset: str, target: str) -> TaskChoice:
    from mlgate.data import read_target

    return infer_task(read_target(dataset, target))


def estimator_name(settings: Settings, task: str) -> str:
    """The estimator class to build: a regression task left at the classifier default gets DEFAULT_REGRESSOR."""
    from mlgate.settings import Settings as Defaults

    if task == REGRESSION and settings.estimator == Defaults.estimator:
        return DEFAULT_REGRESSOR
    return settings.estimator
