"""Model gates: the candidate's holdout scores against the minimums in [tool.mlgate], with their evidence.

Each gate decides on an interval, not a point (mlgate.evaluation.intervals): Wilson for accuracy
and per-class recall, a percentile bootstrap for ROC AUC and macro F1, at
`threshold_confidence_level`. An interval wholly below the minimum refuses; one wholly above
passes; one that straddles it is decided by `threshold_straddle`, and the report says so and how
many rows would tell. Each check goes into the report's "Model gates" table.
"""

from __future__ import annotations

import math

import pytest

from mlgate.evaluation import intervals
from mlgate.plugin.evidence import check_row

pytestmark = pytest.mark.model_gate
# The task these gates exist for; the other task drops them at collection (mlgate.plugin.task_gates).
GATE_TASK = "classification"


def _rule(settings) -> dict:
    return {"alpha": 1 - settings.threshold_confidence_level, "straddle": settings.threshold_straddle}


def _decide(gate: str, checks, findings, record_gate, headline) -> None:
    """Record every check of one gate, then fail naming those refused.

    `holdout_metrics` is asked for by every gate here: it logs the scores and reports promotion bundles.
    """
    findings.evidence += [check_row(gate, check) for check in checks]
    record_gate(round(headline.estimate, 6), headline.threshold)
    refused = [check.why for check in checks if check.refused]
    assert not refused, "; ".join(refused)


def test_holdout_accuracy_meets_minimum(holdout_metrics, holdout_predictions, settings, findings, record_gate):
    p = holdout_predictions
    check = intervals.accuracy_check(p.truth, p.labels, settings.min_holdout_accuracy, **_rule(settings))
    _decide("min_holdout_accuracy", [check], findings, record_gate, check)


def test_macro_f1_meets_minimum(holdout_metrics, holdout_predictions, settings, findings, record_gate):
    p = holdout_predictions
    check = intervals.macro_f1_check(p.truth, p.labels, settings.min_macro_f1, **_rule(settings))
    _decide("min_macro_f1", [check], findings, record_gate, check)


def test_roc_auc_meets_minimum(holdout_metrics, holdout_predictions, settings, findings, record_gate):
    p = holdout_predictions
    if math.isnan(holdout_metrics.roc_auc):
        record_gate(holdout_metrics.roc_auc, settings.min_roc_auc)
        pytest.fail(
            "ROC AUC is undefined: the holdout lacks a label the model knows; add rows or raise "
            "holdout_fraction",
            pytrace=False,
        )
    check = intervals.roc_auc_check(p.truth, p.proba, p.classes, settings.min_roc_auc, **_rule(settings))
    _decide("min_roc_auc", [check], findings, record_gate, check)


def test_every_class_recall_meets_minimum(holdout_metrics, holdout_predictions, settings, findings, record_gate):
    p = holdout_predictions
    checks = intervals.class_recall_checks(p.truth, p.labels, settings.min_class_recall, **_rule(settings))
    _decide("min_class_recall", checks, findings, record_gate, min(checks, key=lambda c: c.estimate))
