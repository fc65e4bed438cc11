"""Model gates: the candidate's holdout scores against the minimums in [tool.mlgate]."""

from __future__ import annotations

import math

import pytest

pytestmark = pytest.mark.model_gate


def test_holdout_accuracy_meets_minimum(holdout_metrics, settings, record_gate):
    record_gate(holdout_metrics.accuracy, settings.min_holdout_accuracy)
    assert holdout_metrics.accuracy >= settings.min_holdout_accuracy, (
        f"holdout accuracy {holdout_metrics.accuracy:.4f} is below min_holdout_accuracy "
        f"{settings.min_holdout_accuracy}"
    )


def test_macro_f1_meets_minimum(holdout_metrics, settings, record_gate):
    record_gate(holdout_metrics.macro_f1, settings.min_macro_f1)
    assert holdout_metrics.macro_f1 >= settings.min_macro_f1, (
        f"macro-F1 {holdout_metrics.macro_f1:.4f} is below min_macro_f1 {settings.min_macro_f1}"
    )


def test_roc_auc_meets_minimum(holdout_metrics, settings, record_gate):
    record_gate(holdout_metrics.roc_auc, settings.min_roc_auc)
    assert not math.isnan(holdout_metrics.roc_auc), (
        "ROC AUC is undefined: the holdout lacks a label the model knows; add rows or "
        "raise holdout_fraction"
    )
    assert holdout_metrics.roc_auc >= settings.min_roc_auc, (
        f"ROC AUC {holdout_metrics.roc_auc:.4f} is below min_roc_auc {settings.min_roc_auc}"
    )


def test_every_class_recall_meets_minimum(holdout_metrics, settings, record_gate):
    worst_label, worst = min(holdout_metrics.class_recall.items(), key=lambda kv: kv[1])
    record_gate(worst, settings.min_class_recall)
    below = {k: round(v, 4) for k, v in holdout_metrics.class_recall.items() if v < settings.min_class_recall}
    assert not below, f"recall below min_class_recall {settings.min_class_recall} for labels {below}"
