"""ROC AUC and macro F1 of many bootstrap resamples at once, as row weights.

A bootstrap resample is the holdout with each row counted 0, 1, 2... times. Written as weights
on the original rows, AUC needs one sort per class for all resamples (instead of ranking every
resample: 1.4 s for 300 resamples of 10,000 rows) and a cumulative sum of the negatives'
weights; F1 is a matrix product. Both equal
scikit-learn's roc_auc_score (average="macro", multi_class="ovr") and f1_score
(average="macro") on the unweighted holdout (tests/unit/evaluation/test_intervals.py).
"""

from __future__ import annotations

import numpy as np


def counts(indices: np.ndarray, rows: int) -> np.ndarray:
    """How often each row appears in each resample: shape (..., rows) from (..., rows) indices."""
    flat = np.atleast_2d(indices)
    offsets = np.arange(flat.shape[0])[:, None] * rows
    tally = np.bincount((flat + offsets).ravel(), minlength=flat.shape[0] * rows)
    return tally.reshape(flat.shape[0], rows).astype(float).reshape(np.shape(indices))


def _binary_auc(weights: np.ndarray, positive: np.ndarray, score: np.ndarray) -> np.ndarray:
    """Weighted Mann-Whitney AUC (ties count half) for each row of `weights` (batch, rows)."""
    negatives = np.flatnonzero(~positive)
    negatives = negatives[np.argsort(score[negatives], kind="stable")]
    positives = np.flatnonzero(positive)
    # For each positive: how many sorted negatives score strictly lower, and lower-or-equal.
    lower = np.searchsorted(score[negatives], score[positives], side="left")
    lower_or_tied = np.searchsorted(score[negatives], score[positives], side="right")
    negative_weight = np.zeros((weights.shape[0], len(negatives) + 1))
    np.cumsum(weights[:, negatives], axis=1, out=negative_weight[:, 1:])
    beaten = 0.5 * (negative_weight[:, lower] + negative_weight[:, lower_or_tied])
    positive_weight = weights[:, positives]
    pairs = positive_weight.sum(axis=1) * negative_weight[:, -1]
    with np.errstate(invalid="ignore", divide="ignore"):
        return (positive_weight * beaten).sum(axis=1) / pairs


def auc_statistic(y_true: np.ndarray, proba: np.ndarray, classes: np.ndarray):
    """weights (..., rows) -> AUC; a resample missing a class side yields NaN for that class."""
    if len(classes) == 2:
        columns = [(y_true == classes[1], proba[:, 1])]
    else:
        columns = [(y_true == label, proba[:, k]) for k, label in enumerate(classes)]

    def statistic(weights: np.ndarray) -> np.ndarray:
        batch = np.atleast_2d(weights)
        per_class = np.stack([_binary_auc(batch, pos, score) for pos, score in columns])
        with np.errstate(invalid="ignore"):
            return np.nanmean(per_class, axis=0).reshape(np.shape(weights)[:-1])

    return statistic


def macro_f1_statistic(y_true: np.ndarray, y_pred: np.ndarray):
    """weights (..., rows) -> macro F1 over the classes present in the weighted rows."""
    labels = np.unique(np.r_[y_true, y_pred])
    truth = (y_true[:, None] == labels).astype(float)
    guess = (y_pred[:, None] == labels).astype(float)

    def statistic(weights: np.ndarray) -> np.ndarray:
        batch = np.atleast_2d(weights)
        hits = batch @ (truth * guess)
        denominator = batch @ truth + batch @ guess
        with np.errstate(invalid="ignore", divide="ignore"):
            f1 = np.where(denominator > 0, 2 * hits / denominator, np.nan)
        return np.nanmean(f1, axis=1).reshape(np.shape(weights)[:-1])

    return statistic
