"""The slice gates' inputs and outputs as plain data: per-row losses in, report records out.

Per-row losses are what every slice is judged on: a classifier's 0/1 error (1 - the per-row
correctness of mlgate.evaluation.paired.classifier_rows) or a regressor's squared error
(paired.regressor_rows). The records are what the report, `slices.json` and `mlgate slices pin`
read: JSON-safe, each with its one-line description.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mlgate.evaluation.declared_verdicts import DeclaredVerdict
from mlgate.evaluation.paired import regressor_rows
from mlgate.evaluation.segments import describe_segment
from mlgate.evaluation.slice_stats import SliceValue
from mlgate.evaluation.slices import Discovery, SliceFinding, pin
from mlgate.evaluation.weak_segments import WeakSegment

ZERO_ONE_LOSS = "error"
SQUARED_ERROR = "squared error"


def is_regression(model: Any) -> bool:
    from sklearn.base import is_regressor

    return bool(is_regressor(model))


def row_losses(model: Any, frame: Any, truth: Any) -> tuple[np.ndarray, str]:
    """One loss per holdout row, lower is better, and its name."""
    predictions = model.predict(frame)
    if is_regression(model):
        return regressor_rows(truth, predictions).squared_error, SQUARED_ERROR
    return (np.asarray(predictions) != np.asarray(truth)).astype(float), ZERO_ONE_LOSS


def value_record(value: SliceValue | None) -> dict[str, Any] | None:
    if value is None:
        return None
    return {"value": value.value, "low": value.low, "high": value.high, "metric": value.metric}


def finding_record(finding: SliceFinding) -> dict[str, Any]:
    return {
        "segment": finding.name,
        "rows": finding.rows,
        "champion": value_record(finding.champion),
        "candidate": value_record(finding.candidate),
        "p_value": finding.p_value,
        "p_adjusted": finding.p_adjusted,
        "test": finding.test,
        "judged_on": finding.judged_on,
        "family": finding.family,
        "line": finding.describe(),
        "pin": pin(finding),
    }


def discovery_record(discovery: Discovery) -> dict[str, Any]:
    tested = {finding.family: finding.tested for finding in discovery.findings}
    return {
        "segments_searched": discovery.segments_searched,
        "tested": tested,
        "discovery_rows": discovery.discovery_rows,
        "confirmation_rows": discovery.confirmation_rows,
        "red": [finding_record(finding) for finding in discovery.red],
    }


def weak_record(weak: WeakSegment) -> dict[str, Any]:
    return {
        "segment": describe_segment(weak.conditions),
        "rows": weak.rows,
        "value": value_record(weak.value),
        "overall": value_record(weak.overall),
        "line": weak.describe(),
        "pin": {"name": describe_segment(weak.conditions),
                "where": {c.column: c.where() for c in weak.conditions}},
    }


def declared_record(verdict: DeclaredVerdict) -> dict[str, Any]:
    return {
        "name": verdict.name,
        "entry": verdict.spec_index,
        "rows": verdict.rows,
        "status": verdict.status,
        "candidate": value_record(verdict.candidate),
        "champion": value_record(verdict.champion),
        "p_adjusted": verdict.p_adjusted,
        "below_minimum": verdict.below_minimum,
        "line": verdict.describe(),
    }
