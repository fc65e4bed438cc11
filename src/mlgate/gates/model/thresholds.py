"""Model gates: the candidate's holdout scores against the minimums in [tool.mlgate]."""

from __future__ import annotations

import math

import pytest

pytestmark = pytest.mark.model_gate
# The task these gates exist for; the other task drops them at collection (mlgate.plugin.task_gates).
GATE_TASK = "classification"


def test_holdout_accuracy_meets_minimum(holdout_metrics, settings, record_gate):
    accuracy, minimum = holdout_metrics.accuracy, settings.min_holdout_accuracy
    record_gate(accuracy, minimum)
    assert accuracy >= minimum, f"holdout accuracy {accuracy:.4f} is below min_holdout_accuracy {minimum}"


def test_macro_f1_meets_minimum(holdout_metrics, settings, record_gate):
    macro_f1, minimum = holdout_metrics.macro_f1, settings.min_macro_f1
    record_gate(macro_f1, minimum)
    assert macro_f1 >= minimum, f"macro-F1 {macro_f1:.4f} is below min_macro_f1 {minimum}"


def test_roc_auc_meets_minimum(holdout_metrics, settings, record_gate):
    roc_auc, minimum = holdout_metrics.roc_auc, settings.min_roc_auc
    record_gate(roc_auc, minimum)
    if math.isnan(roc_auc):
        pytest.fail(
            "ROC AUC is undefined: the holdout lacks a label the model knows; add rows or raise "
            "holdout_fraction",
            pytrace=False,
        )
    assert roc_auc >= minimum, f"ROC AUC {roc_auc:.4f} is below min_roc_auc {minimum}"


def test_every_class_recall_meets_minimum(holdout_metrics, settings, record_gate):
    recalls, minimum = holdout_metrics.class_recall, settings.min_class_recall
    record_gate(min(recalls.values()), minimum)
    below = {label: round(r, 4) for label, r in recalls.items() if r < minimum}
    assert not below, f"recall below min_class_recall {minimum} for labels {below}"
