"""Threshold gates with their evidence: estimate, interval, rows, threshold and verdict.

Accuracy and per-class recall get Wilson intervals (statsmodels proportion_confint,
method="wilson"); ROC AUC (one-vs-rest macro for several classes, as scikit-learn computes it)
and macro F1 get percentile bootstrap intervals (scipy.stats.bootstrap, a fixed seed,
BOOTSTRAP_RESAMPLES resamples of the holdout rows).

An interval wholly at or above its threshold passes, one wholly below refuses (the data show the
metric below it), and one that straddles the threshold is decided by the `straddle` setting:
"pass" (default: refuse only on evidence) or "refuse" (demand evidence of passing). A check
that straddles says how many rows would let an interval at the observed value clear it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from mlgate.evaluation import resampled

STRADDLE_RULES = ("pass", "refuse")
# 400 resamples keep a 95 % percentile bound within ~0.01 of its limit for AUC and F1 and cost
# ~0.1 s at 10,000 rows (measured in tests/unit/evaluation/test_intervals.py).
BOOTSTRAP_RESAMPLES = 400
BOOTSTRAP_SEED = 20211
# Resamples are scored in batches of at most this many (row, resample) cells: ~32 MB of weights.
BOOTSTRAP_CELLS = 4_000_000
# The largest holdout `rows_needed` will name; beyond it the answer is "more than this".
MAX_ROWS_NEEDED = 1_000_000


class ThresholdError(ValueError):
    """A threshold check that cannot be made; the message names the problem and the fix."""


@dataclass(frozen=True)
class ThresholdCheck:
    """One threshold gate's evidence and verdict ("pass" or "refuse")."""

    name: str
    estimate: float
    low: float
    high: float
    rows: int
    threshold: float
    method: str
    decision: str
    why: str

    @property
    def refused(self) -> bool:
        return self.decision == "refuse"


def wilson(successes: int, rows: int, alpha: float) -> tuple[float, float]:
    low, high = proportion_confint(successes, rows, alpha=alpha, method="wilson")
    return float(low), float(high)


def _clears(share: float, rows: int, threshold: float, alpha: float) -> bool:
    low, high = wilson(share * rows, rows, alpha)
    return low >= threshold if share > threshold else high < threshold


def rows_needed(share: float, threshold: float, alpha: float) -> int | None:
    """Fewest rows whose Wilson interval at the observed `share` lies clear of `threshold`.

    None when no holdout would do (share equals the threshold, or more than MAX_ROWS_NEEDED).
    """
    if share == threshold or not _clears(share, MAX_ROWS_NEEDED, threshold, alpha):
        return None
    low, high = 1, MAX_ROWS_NEEDED  # the interval narrows as rows grow: bisect on clearing
    while low < high:
        middle = (low + high) // 2
        if _clears(share, middle, threshold, alpha):
            high = middle
        else:
            low = middle + 1
    return low


def _rows_by_scaling(estimate, low, high, rows, threshold) -> int | None:
    """Rows for a bootstrap interval to clear `threshold`, its width shrinking as 1/sqrt(rows)."""
    if estimate == threshold:
        return None
    half = estimate - low if estimate > threshold else high - estimate
    return math.ceil(rows * (half / abs(estimate - threshold)) ** 2)


def _verdict(estimate, low, high, threshold, straddle, alpha) -> tuple[str, str]:
    level = f"{100 * (1 - alpha):g} %"
    if low >= threshold:
        return "pass", f"the whole {level} interval is at or above {threshold:g}"
    if high < threshold:
        return "refuse", (
            f"the whole {level} interval is below {threshold:g}: the data show it below"
        )
    side = "below" if estimate < threshold else "at or above"
    rule = (
        "straddle = 'pass' refuses only when the data show the metric below its threshold"
        if straddle == "pass"
        else "straddle = 'refuse' demands an interval wholly at or above the threshold"
    )
    return straddle, (
        f"the {level} interval straddles {threshold:g} (estimate {side} it); {straddle}, "
        f"because {rule}"
    )


def threshold_check(name, estimate, low, high, rows, threshold, method, alpha, straddle,
                    count_based=False, shown=None) -> ThresholdCheck:
    """Decide one gate from its interval; `count_based` adds the rows a clear answer needs.

    `shown` is how the estimate is written in `why` (e.g. "10/12 = 0.833").
    """
    if straddle not in STRADDLE_RULES:
        raise ThresholdError(f"straddle rule {straddle!r} is not one of {STRADDLE_RULES}")
    decision, why = _verdict(estimate, low, high, threshold, straddle, alpha)
    shown = shown or f"{estimate:.3f}"
    why = f"{name}: {shown} ({method} {low:.3f}-{high:.3f}, {rows} rows); {why}"
    if low < threshold <= high:
        needed = (rows_needed(estimate, threshold, alpha) if count_based
                  else _rows_by_scaling(estimate, low, high, rows, threshold))
        tell = f"~{needed} rows would" if needed else "no holdout size would"
        why += (f"; {rows} rows cannot tell {estimate:.3g} from {threshold:g}; {tell}")
    return ThresholdCheck(name, float(estimate), float(low), float(high), int(rows),
                          float(threshold), method, decision, why)


def accuracy_check(y_true, y_pred, threshold: float, alpha: float = 0.05,
                   straddle: str = "pass") -> ThresholdCheck:
    correct = np.asarray(y_true) == np.asarray(y_pred)
    rows, hits = len(correct), int(correct.sum())
    if rows == 0:
        raise ThresholdError("the holdout has no rows; lower holdout_fraction or add data")
    low, high = wilson(hits, rows, alpha)
    return threshold_check("accuracy", hits / rows, low, high, rows, threshold,
                           f"Wilson {100 * (1 - alpha):g} %", alpha, straddle, count_based=True,
                           shown=f"{hits}/{rows} = {hits / rows:.3f}")


def class_recall_checks(y_true, y_pred, threshold: float, alpha: float = 0.05,
                        straddle: str = "pass") -> list[ThresholdCheck]:
    """One check per class present in `y_true`: its recall with a Wilson interval."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    checks = []
    for label in np.unique(y_true):
        members = y_true == label
        rows, hits = int(members.sum()), int((y_pred[members] == label).sum())
        low, high = wilson(hits, rows, alpha)
        checks.append(threshold_check(
            f"recall of class {label}", hits / rows, low, high, rows, threshold,
            f"Wilson {100 * (1 - alpha):g} %", alpha, straddle, count_based=True,
            shown=f"{hits}/{rows} = {hits / rows:.3f}",
        ))
    return checks


def _bootstrap(statistic, rows: int, alpha: float) -> tuple[float, float]:
    """Percentile interval of `statistic(counts)` over resampled row indices (scipy bootstrap)."""
    def on_indices(indices: np.ndarray, axis: int = -1) -> np.ndarray:
        values = statistic(resampled.counts(indices, rows))
        return values.reshape(np.shape(indices)[:-1])

    result = stats.bootstrap(
        (np.arange(rows),), on_indices, vectorized=True, n_resamples=BOOTSTRAP_RESAMPLES,
        method="percentile", confidence_level=1 - alpha,
        rng=np.random.default_rng(BOOTSTRAP_SEED), batch=max(1, BOOTSTRAP_CELLS // rows),
    )
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def roc_auc_check(y_true, proba, classes, threshold: float, alpha: float = 0.05,
                  straddle: str = "pass") -> ThresholdCheck:
    """ROC AUC (binary: positive class = classes[1]; else one-vs-rest macro) with a bootstrap."""
    statistic = resampled.auc_statistic(np.asarray(y_true), np.asarray(proba, float),
                                        np.asarray(classes))
    estimate = float(statistic(np.ones((len(y_true), 1)))[0])
    low, high = _bootstrap(statistic, len(y_true), alpha)
    return threshold_check("ROC AUC", estimate, low, high, len(y_true), threshold,
                           f"percentile bootstrap {100 * (1 - alpha):g} %", alpha, straddle)


def macro_f1_check(y_true, y_pred, threshold: float, alpha: float = 0.05,
                   straddle: str = "pass") -> ThresholdCheck:
    statistic = resampled.macro_f1_statistic(np.asarray(y_true), np.asarray(y_pred))
    estimate = float(statistic(np.ones((len(y_true), 1)))[0])
    low, high = _bootstrap(statistic, len(y_true), alpha)
    return threshold_check("macro F1", estimate, low, high, len(y_true), threshold,
                           f"percentile bootstrap {100 * (1 - alpha):g} %", alpha, straddle)
