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
    """How often each row appears in each resample, as (rows, resamples): a column per resample.

    Rows first, so that picking a class's rows copies contiguous memory.
    """
    flat = np.atleast_2d(indices)
    resamples = flat.shape[0]
    tally = np.bincount((flat * resamples + np.arange(resamples)[:, None]).ravel(),
                        minlength=rows * resamples)
    return tally.reshape(rows, resamples).astype(float)


def _binary_auc(weights: np.ndarray, positive: np.ndarray, score: np.ndarray) -> np.ndarray:
    """Weighted Mann-Whitney AUC (ties count half) for each column of `weights` (rows, batch)."""
    negatives = np.flatnonzero(~positive)
    negatives = negatives[np.argsort(score[negatives], kind="stable")]
    positives = np.flatnonzero(positive)
    # For each positive: how many sorted negatives score strictly lower, and lower-or-equal.
    lower = np.searchsorted(score[negatives], score[positives], side="left")
    lower_or_tied = np.searchsorted(score[negatives], score[positives], side="right")
    negative_weight = np.zeros((len(negatives) + 1, weights.shape[1]))
    np.cumsum(weights[negatives], axis=0, out=negative_weight[1:])
    beaten = 0.5 * (negative_weight[lower] + negative_weight[lower_or_tied])
    positive_weight = weights[positives]
    pairs = positive_weight.sum(axis=0) * negative_weight[-1]
    with np.errstate(invalid="ignore", divide="ignore"):
        return (positive_weight * beaten).sum(axis=0) / pairs


def auc_statistic(y_true: np.ndarray, proba: np.ndarray, classes: np.ndarray):
    """weights (rows, batch) -> AUC per resample; a class missing a side in one is left out."""
    if len(classes) == 2:
        columns = [(y_true == classes[1], proba[:, 1])]
    else:
        columns = [(y_true == label, proba[:, k]) for k, label in enumerate(classes)]

    def statistic(weights: np.ndarray) -> np.ndarray:
        per_class = np.stack([_binary_auc(weights, pos, score) for pos, score in columns])
        return np.nanmean(per_class, axis=0)

    return statistic


def macro_f1_statistic(y_true: np.ndarray, y_pred: np.ndarray):
    """weights (rows, batch) -> macro F1 over the classes present in each resample."""
    labels = np.unique(np.r_[y_true, y_pred])
    truth = (y_true[:, None] == labels).astype(float)
    guess = (y_pred[:, None] == labels).astype(float)

    def statistic(weights: np.ndarray) -> np.ndarray:
        hits = (truth * guess).T @ weights
        denominator = truth.T @ weights + guess.T @ weights
        with np.errstate(invalid="ignore", divide="ignore"):
            f1 = np.where(denominator > 0, 2 * hits / denominator, np.nan)
        return np.nanmean(f1, axis=0)

    return statistic
