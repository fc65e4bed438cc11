"""Threshold gates with evidence: Wilson and bootstrap intervals, the straddle rule, rows needed."""

from __future__ import annotations


import numpy as np
import pytest
from sklearn.metrics import f1_score, roc_auc_score

from mlgate.evaluation.intervals import (
    ThresholdError,
    accuracy_check,
    class_recall_checks,
    macro_f1_check,
    roc_auc_check,
    rows_needed,
    wilson,
)


def _scored(rows: int, classes: int, seed: int = 0):
    """Labels, rounded (so tied) probabilities and argmax labels of a moderately good model."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, rows)
    logits = rng.normal(size=(rows, classes))
    logits[np.arange(rows), y] += 1.5
    proba = np.round(np.exp(logits) / np.exp(logits).sum(1, keepdims=True), 2)
    proba /= proba.sum(1, keepdims=True)
    return y, proba, proba.argmax(1)


@pytest.mark.parametrize(("rows", "classes"), [(114, 2), (114, 3), (2000, 4)])
def test_estimates_equal_scikit_learns_metrics(rows: int, classes: int) -> None:
    y, proba, pred = _scored(rows, classes)
    auc = roc_auc_check(y, proba, np.arange(classes), 0.5)
    expected = (
        roc_auc_score(y, proba[:, 1]) if classes == 2
        else roc_auc_score(y, proba, multi_class="ovr", average="macro")
    )
    assert auc.estimate == pytest.approx(expected, abs=1e-12)
    f1 = macro_f1_check(y, pred, 0.5)
    assert f1.estimate == pytest.approx(f1_score(y, pred, average="macro"))
    assert auc.low < auc.estimate < auc.high


def test_bootstrap_is_reproducible() -> None:
    y, proba, _ = _scored(300, 2)
    assert roc_auc_check(y, proba, np.arange(2), 0.9) == roc_auc_check(y, proba, np.arange(2), 0.9)


def test_wilson_is_statsmodels_interval_of_the_issue() -> None:
    low, high = wilson(10, 12, 0.05)
    assert (round(low, 2), round(high, 2)) == (0.55, 0.95)


def test_a_small_class_below_its_threshold_passes_and_says_how_many_rows_would_tell() -> None:
    y = np.r_[np.full(12, 2), np.zeros(100)]
    pred = np.r_[np.full(10, 2), np.zeros(2), np.zeros(100)]
    check = {c.name: c for c in class_recall_checks(y, pred, 0.85)}["recall of class 2.0"]
    assert check.decision == "pass" and check.estimate < 0.85
    assert "10/12 = 0.833" in check.why and "0.552-0.953" in check.why
    assert "12 rows cannot tell 0.833 from 0.85" in check.why
    needed = rows_needed(10 / 12, 0.85, 0.05)
    assert f"~{needed} rows would" in check.why
    assert wilson(10 / 12 * needed, needed, 0.05)[1] < 0.85
    assert wilson(10 / 12 * (needed - 1), needed - 1, 0.05)[1] >= 0.85


def test_the_straddle_setting_decides_the_same_evidence_the_other_way() -> None:
    y = np.zeros(114)
    pred = np.r_[np.zeros(100), np.ones(14)]
    lenient = accuracy_check(y, pred, 0.9)
    strict = accuracy_check(y, pred, 0.9, straddle="refuse")
    assert (lenient.decision, strict.decision) == ("pass", "refuse")
    assert "straddle = 'refuse'" in strict.why and "straddle = 'pass'" in lenient.why


def test_refuses_when_the_whole_interval_is_below_the_threshold() -> None:
    y = np.zeros(114)
    check = accuracy_check(y, np.r_[np.zeros(80), np.ones(34)], 0.9)
    assert check.refused and check.high < 0.9 and "data show it below" in check.why


def test_passes_when_the_whole_interval_clears_the_threshold() -> None:
    y, proba, pred = _scored(5000, 2)
    check = roc_auc_check(y, proba, np.arange(2), 0.7)
    assert check.decision == "pass" and check.low >= 0.7 and "at or above" in check.why


def test_an_auc_that_is_clearly_low_is_refused() -> None:
    y, proba, _ = _scored(2000, 2)
    check = roc_auc_check(y, proba, np.arange(2), 0.95)
    assert check.refused and check.high < 0.95


def test_a_share_on_the_threshold_can_never_be_told_apart() -> None:
    assert rows_needed(0.85, 0.85, 0.05) is None


def test_an_unknown_straddle_rule_gets_one_clear_message() -> None:
    with pytest.raises(ThresholdError, match="straddle rule 'maybe'"):
        accuracy_check([0, 1], [0, 1], 0.9, straddle="maybe")


def test_a_straddling_bootstrap_check_says_how_many_rows_would_tell() -> None:
    y, proba, _ = _scored(114, 2)
    auc = roc_auc_check(y, proba, np.arange(2), 0.0)
    check = roc_auc_check(y, proba, np.arange(2), round(auc.estimate - 0.02, 3))
    assert check.low < check.threshold <= check.high
    assert "114 rows cannot tell" in check.why and "rows would" in check.why
