"""The statistics of a slice: its value with an interval, and the paired test against the champion.

Losses are per row, lower is better: 0/1 error (a row the model got wrong), log loss, or squared
error. For 0/1 losses the value shown is accuracy with a Wilson interval; otherwise the mean loss
with a t interval.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportion_confint

SIGN_TEST = "sign test"
T_TEST = "paired t-test"


def is_zero_one(*losses: np.ndarray) -> bool:
    """0/1 losses are tested by exact sign tests and shown as accuracy."""
    return all(np.isin(loss, (0.0, 1.0)).all() for loss in losses)


def as_losses(name: str, values: object, rows: int) -> np.ndarray:
    losses = np.asarray(values, dtype=float)
    if losses.shape != (rows,):
        raise ValueError(f"{name} has shape {losses.shape}; give one loss per holdout row ({rows}).")
    if not np.isfinite(losses).all():
        raise ValueError(f"{name} has NaN or infinite losses; give one finite loss per row.")
    return losses


@dataclass(frozen=True)
class SliceValue:
    """A model's value on a slice: accuracy (0/1 losses) or mean loss, with an interval."""

    value: float
    low: float
    high: float
    metric: str  # "accuracy" or the loss name

    @property
    def higher_is_better(self) -> bool:
        return self.metric == "accuracy"


def slice_value(losses: np.ndarray, zero_one: bool, loss_name: str, alpha: float) -> SliceValue:
    """Wilson interval for accuracy; t interval for a mean loss; both two-sided at 1 - alpha."""
    rows = len(losses)
    if zero_one:
        correct = int(rows - losses.sum())
        low, high = proportion_confint(correct, rows, alpha=alpha, method="wilson")
        return SliceValue(correct / rows, float(low), float(high), "accuracy")
    mean = float(losses.mean())
    if rows < 2 or np.ptp(losses) == 0:
        return SliceValue(mean, mean, mean, loss_name)
    low, high = stats.t.interval(1 - alpha, rows - 1, loc=mean, scale=stats.sem(losses))
    return SliceValue(mean, float(low), float(high), loss_name)


def paired_regression_p(
    candidate: np.ndarray, champion: np.ndarray, tolerance: float, zero_one: bool
) -> tuple[float, str]:
    """One-sided p of H0: mean(candidate - champion) <= tolerance, on paired rows.

    0/1 losses: exact binomial test on the discordant rows (the sign test behind exact McNemar).
    With d discordant rows out of n, a mean increase of `tolerance` moves the share of
    discordant rows the candidate lost from 1/2 to 1/2 + tolerance * n / (2 d), which is the
    null proportion; tolerance 0 is exact McNemar. Other losses: one-sample t-test of the
    per-row differences against `tolerance`.
    """
    if zero_one:
        lost = int(np.sum(candidate > champion))
        discordant = lost + int(np.sum(candidate < champion))
        if discordant == 0:
            return 1.0, SIGN_TEST
        null_share = 0.5 + tolerance * len(candidate) / (2 * discordant)
        if null_share >= 1:
            return 1.0, SIGN_TEST
        test = stats.binomtest(lost, discordant, null_share, alternative="greater")
        return float(test.pvalue), SIGN_TEST
    differences = candidate - champion
    if len(differences) < 2 or np.ptp(differences) == 0:
        # No spread: the difference is known exactly, so the answer is certain either way.
        return (0.0 if differences.mean() > tolerance else 1.0), T_TEST
    test = stats.ttest_1samp(differences, tolerance, alternative="greater")
    return float(test.pvalue), T_TEST


def benjamini_hochberg(p_values: list[float], alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """Rejections and adjusted p-values, false discovery rate controlled at alpha."""
    if not p_values:
        return np.zeros(0, dtype=bool), np.zeros(0)
    reject, adjusted, _, _ = multipletests(p_values, alpha=alpha, method="fdr_bh")
    return reject, adjusted


def format_p(p: float) -> str:
    return f"{p:.2g}" if p >= 1e-4 else f"{p:.0e}"


def format_value(value: SliceValue) -> str:
    return f"{value.value:.3g}"
