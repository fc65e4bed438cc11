"""One comparison engine on paired per-row outcomes: both models scored on the same rows.

Per-row outcomes (correctness, log loss, Brier, squared and absolute error) are what every
model gate compares: their mean is the metric, and their per-row differences d_i carry the
pairing that makes a 114-row holdout informative.

`non_inferiority` puts the burden of proof on refusal: it refuses only when the data show the
candidate worse than the champion by more than `margin`, at level `alpha`, one-sided. The test
is a one-sided paired t-test of mean(d) against -margin (scipy.stats.ttest_1samp on d), and its
interval is the two-sided (1 - 2 alpha) t interval, so "refused" is exactly "the interval lies
wholly beyond -margin". For correctness (0/1 outcomes) the refusal must also be confirmed by
McNemar's exact test (scipy.stats.binomtest on the discordant pairs): on a 114-row holdout with
three discordant rows the t-test alone calls a drop significant that a sign test does not, and
requiring both keeps the level (an intersection of two level-alpha tests) at no measurable cost
in power (benchmarks/evidence_tests.py; the numbers are in issue #21's report).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
from scipy import stats
from statsmodels.stats.power import TTestPower

# Probabilities are clipped here before the log: a confident miss costs at most -log(1e-15) = 34.5.
PROBABILITY_CLIP = 1e-15
POWER = 0.8

# kind -> (readable name, higher is better)
KINDS = {
    "correctness": ("accuracy", True),
    "log_loss": ("log loss", False),
    "brier": ("Brier score", False),
    "squared_error": ("squared error", False),
    "absolute_error": ("absolute error", False),
}


class ComparisonError(ValueError):
    """Outcomes that cannot be compared; the message names the problem and the fix."""


@dataclass(frozen=True)
class ClassifierRows:
    """One classifier's per-row outcomes on the holdout (means are the usual metrics)."""

    correctness: np.ndarray
    log_loss: np.ndarray
    brier: np.ndarray


@dataclass(frozen=True)
class RegressorRows:
    """One regressor's per-row outcomes on the holdout."""

    squared_error: np.ndarray
    absolute_error: np.ndarray


def _true_class_columns(y_true: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """Column of each row's true class in `classes` order, -1 for a class the model never saw."""
    lookup = {label: i for i, label in enumerate(classes.tolist())}
    return np.array([lookup.get(label, -1) for label in y_true.tolist()], dtype=int)


def classifier_rows(y_true, labels, proba, classes) -> ClassifierRows:
    """Per-row correctness, log loss and Brier from labels and `proba` in `classes` order.

    A true class missing from `classes` has probability 0 (the model cannot predict it).
    Brier is the multiclass sum over classes of (p_k - [y = k])^2, in 0..2.
    """
    y_true, labels = np.asarray(y_true), np.asarray(labels)
    proba, classes = np.asarray(proba, dtype=float), np.asarray(classes)
    if proba.ndim != 2 or proba.shape != (len(y_true), len(classes)):
        raise ComparisonError(
            f"probabilities of shape {proba.shape} do not match {len(y_true)} rows x "
            f"{len(classes)} classes; pass predict_proba's output and the model's classes_"
        )
    if len(labels) != len(y_true):
        raise ComparisonError(f"{len(labels)} predicted labels for {len(y_true)} true labels")
    column = _true_class_columns(y_true, classes)
    rows = np.arange(len(y_true))
    p_true = np.where(column >= 0, proba[rows, np.maximum(column, 0)], 0.0)
    onehot = np.zeros_like(proba)
    onehot[rows[column >= 0], column[column >= 0]] = 1.0
    return ClassifierRows(
        correctness=(labels == y_true).astype(float),
        log_loss=-np.log(np.clip(p_true, PROBABILITY_CLIP, 1.0)),
        brier=((proba - onehot) ** 2).sum(axis=1),
    )


def regressor_rows(y_true, predictions) -> RegressorRows:
    """Per-row squared and absolute error."""
    error = np.asarray(predictions, dtype=float) - np.asarray(y_true, dtype=float)
    return RegressorRows(squared_error=error**2, absolute_error=np.abs(error))


@dataclass(frozen=True)
class Decision:
    """A non-inferiority verdict and its evidence, candidate minus champion in metric terms."""

    metric: str
    difference: float
    low: float
    high: float
    p_value: float
    test: str
    alpha: float
    margin: float
    rows: int
    detectable_drop: float | None
    refused: bool
    note: str = ""
    # "no worse" for non_inferiority, "better" for superiority; `reference` names the other model.
    claim: str = "no worse"
    reference: str = "champion"

    def _verdict(self) -> str:
        if self.claim == "better":
            return (
                f"refused: the data do not show it better than the {self.reference}"
                if self.refused
                else f"passes: the data show it better than the {self.reference}"
            )
        return (
            f"refused: the data show it worse than the {self.reference} "
            f"by more than {self.margin:g}"
            if self.refused
            else f"passes: the data do not show it worse by more than {self.margin:g}"
        )

    def explain(self) -> str:
        level = round(100 * (1 - 2 * self.alpha))
        detect = (
            f"; this holdout detects a change for the worse of {self.detectable_drop:.3g} "
            "with 80 % power"
            if self.detectable_drop is not None
            else ""
        )
        verdict = self._verdict()
        return (
            f"{self.metric}: candidate - {self.reference} = {self.difference:+.4f} "
            f"({level} % CI {self.low:+.4f} to {self.high:+.4f}, {self.rows} paired rows, "
            f"{self.test} p = {self.p_value:.3g}, alpha {self.alpha:g}){detect}; {verdict}"
            + (f" ({self.note})" if self.note else "")
        )


@functools.lru_cache(maxsize=256)
def _detectable_effect(rows: int, alpha: float) -> float:
    """Standardised effect a one-sided t-test on `rows` pairs finds with 80 % power."""
    return float(TTestPower().solve_power(nobs=rows, alpha=alpha, power=POWER,
                                          alternative="larger"))


def _detectable_drop(sd: float, rows: int, alpha: float, margin: float, kind: str):
    """Smallest drop refused with 80 % power, from the observed spread of d."""
    if rows < 2:
        return None
    effect = _detectable_effect(rows, alpha)
    if sd > 0:
        return margin + effect * sd
    if kind != "correctness":
        return None
    # No row differs: plan for a drop made only of new errors, where sd(d) = sqrt(x (1 - x)).
    drop = margin
    for _ in range(50):
        drop = min(1.0, margin + effect * math.sqrt(max(drop * (1 - drop), 1 / rows)))
    return drop


def _sign_test_p(gain: np.ndarray) -> float:
    """Exact McNemar (a sign test): of the rows that differ, does the champion win over half?"""
    losses, discordant = int((gain < 0).sum()), int((gain != 0).sum())
    if discordant == 0:
        return 1.0
    return float(stats.binomtest(losses, discordant, 0.5, alternative="greater").pvalue)


def _paired_t(gain: np.ndarray, margin: float, alpha: float) -> tuple[float, float, float]:
    """One-sided p for mean(gain) < -margin, and the (1 - 2 alpha) interval of mean(gain)."""
    mean = float(gain.mean())
    if np.all(gain == gain[0]):
        # No spread: the t statistic is undefined; the caller's sign test decides.
        return (0.0 if mean < -margin else 1.0), mean, mean
    result = stats.ttest_1samp(gain, -margin, alternative="less")
    interval = stats.ttest_1samp(gain, 0.0).confidence_interval(1 - 2 * alpha)
    return float(result.pvalue), float(interval.low), float(interval.high)


def _gain(candidate, other, kind: str, alpha: float, margin: float):
    """(metric name, sign, per-row gain): gain > 0 where the candidate did better."""
    if kind not in KINDS:
        raise ComparisonError(f"unknown outcome kind {kind!r}; use one of {sorted(KINDS)}")
    if not (0 < alpha < 0.5 and margin >= 0):
        raise ComparisonError(f"need 0 < alpha < 0.5 and margin >= 0, got {alpha}, {margin}")
    candidate, other = np.asarray(candidate, float), np.asarray(other, float)
    if candidate.shape != other.shape or candidate.ndim != 1:
        raise ComparisonError(
            f"paired outcomes need the same rows: {candidate.shape} vs {other.shape}"
        )
    name, higher_is_better = KINDS[kind]
    sign = 1.0 if higher_is_better else -1.0
    return name, sign, sign * (candidate - other)


def non_inferiority(candidate, champion, margin: float, alpha: float, kind: str) -> Decision:
    """Refuse only when the candidate is shown worse than the champion by more than `margin`.

    `candidate` and `champion` are per-row outcomes of `kind` (see KINDS) on the same rows, in
    the same order; `margin` is in the metric's units (accuracy 0.01 = one point).
    """
    name, sign, gain = _gain(candidate, champion, kind, alpha, margin)
    rows = len(gain)
    if rows < 2:
        diff = float(gain.mean()) * sign if rows else 0.0
        return Decision(name, diff, -math.inf, math.inf, 1.0, "none", alpha, margin, rows,
                        None, False, f"{rows} paired row(s) cannot show anything")
    p_value, low, high = _paired_t(gain, margin, alpha)
    test = "one-sided paired t-test"
    if kind == "correctness":
        p_value, test = max(p_value, _sign_test_p(gain)), test + " and exact McNemar"
    elif np.all(gain == gain[0]):
        # No spread, no t statistic: n rows all worse by the same amount is a sign test's n.
        p_value, test = max(p_value, _sign_test_p(gain)), "exact sign test"
    # A one-sided t-test at alpha rejects exactly when the (1 - 2 alpha) interval clears -margin.
    refused = p_value < alpha
    low, high = sorted((sign * low, sign * high))
    sd = float(gain.std(ddof=1))
    note = "every row differs by the same amount" if sd == 0 and gain[0] != 0 else ""
    note = "no row differs" if sd == 0 and gain[0] == 0 else note
    return Decision(
        metric=name, difference=sign * float(gain.mean()), low=low, high=high,
        p_value=p_value, test=test, alpha=alpha, margin=margin, rows=rows,
        detectable_drop=_detectable_drop(sd, rows, alpha, margin, kind), refused=bool(refused),
        note=note,
    )


def superiority(candidate, reference, alpha: float, kind: str,
                reference_name: str = "baseline") -> Decision:
    """Refuse unless the data show the candidate better than `reference` (one-sided paired t).

    The reverse burden of `non_inferiority`, for a comparator so weak that failing to beat it
    is the finding: a first champion against a model that predicts the training class shares.
    """
    name, sign, gain = _gain(candidate, reference, kind, alpha, 0.0)
    rows = len(gain)
    if rows < 2 or np.all(gain == gain[0]):
        return Decision(name, sign * float(gain.mean()) if rows else 0.0, -math.inf, math.inf,
                        1.0, "none", alpha, 0.0, rows, None, True,
                        "too few rows or no spread to show the candidate better",
                        claim="better", reference=reference_name)
    p_value = float(stats.ttest_1samp(gain, 0.0, alternative="greater").pvalue)
    interval = stats.ttest_1samp(gain, 0.0).confidence_interval(1 - 2 * alpha)
    low, high = sorted((sign * float(interval.low), sign * float(interval.high)))
    return Decision(
        metric=name, difference=sign * float(gain.mean()), low=low, high=high, p_value=p_value,
        test="one-sided paired t-test for superiority", alpha=alpha, margin=0.0, rows=rows,
        detectable_drop=None, refused=not p_value < alpha,
        note="held to beating it, not merely matching it", claim="better",
        reference=reference_name,
    )
