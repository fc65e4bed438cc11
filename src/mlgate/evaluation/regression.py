"""A regressor's holdout scores and its paired comparisons, each test named and from scipy.

Every comparison works on per-row squared errors of two models on the same
holdout rows: a paired test on them is exact for the MSE difference, and on a
fixed holdout an R² difference is that MSE difference over Var(y).

- Against the mean-predicting baseline (the training mean): a one-sided paired
  t-test (scipy.stats.ttest_rel, alternative="less") that the candidate's squared
  errors are smaller; refused unless p < level.
- Against the champion: non-inferiority with a relative margin. Refused when a
  one-sided paired t-test (ttest_1samp of candidate minus champion squared errors
  against margin = tolerance x champion MSE, alternative="greater") shows the
  candidate's MSE above the champion's by more than the margin at the level.
- R²: the point estimate and a 95 % BCa interval (scipy.stats.bootstrap, paired
  resampling of rows).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from sklearn import metrics as skm

from mlgate.data import Dataset
from mlgate.training import as_model_input

# The R² interval's confidence and the resamples it is estimated from.
R2_CONFIDENCE, R2_RESAMPLES = 0.95, 2000


@dataclass(frozen=True)
class RegressionMetrics:
    rmse: float
    mae: float
    r2: float
    r2_low: float  # bounds of the R2_CONFIDENCE bootstrap interval (BCa)
    r2_high: float
    max_error: float
    rows: int

    def scalars(self) -> dict[str, float]:
        """The single-number metrics, as logged to MLflow."""
        values = {"rmse": self.rmse, "mae": self.mae, "r2": self.r2, "max_error": self.max_error}
        return {k: v for k, v in values.items() if not math.isnan(v)}

    @property
    def report_text(self) -> str:
        return (
            f"{self.rows} holdout rows\n"
            f"RMSE {self.rmse:.6g}\nMAE {self.mae:.6g}\nmax error {self.max_error:.6g}\n"
            f"R² {self.r2:.4f} ({R2_CONFIDENCE:.0%} bootstrap interval {self.r2_low:.4f} .. {self.r2_high:.4f})\n"
        )


def _r2(truth: np.ndarray, predicted: np.ndarray, axis: int = -1) -> np.ndarray:
    """R² along `axis`, vectorized for scipy.stats.bootstrap (sklearn's r2_score takes one sample at a time)."""
    residual = np.sum((truth - predicted) ** 2, axis=axis)
    total = np.sum((truth - np.mean(truth, axis=axis, keepdims=True)) ** 2, axis=axis)
    return 1.0 - residual / total


def _r2_interval(truth: np.ndarray, predicted: np.ndarray, seed: int) -> tuple[float, float]:
    from scipy.stats import bootstrap

    if len(truth) < 3:
        return math.nan, math.nan
    result = bootstrap(
        (truth, predicted), _r2, paired=True, vectorized=True,
        n_resamples=R2_RESAMPLES, confidence_level=R2_CONFIDENCE, method="BCa", rng=np.random.default_rng(seed),
    )
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def regression_metrics(truth, predicted, seed: int = 0) -> RegressionMetrics:
    truth = np.asarray(truth, dtype=np.float64)
    predicted = np.asarray(predicted, dtype=np.float64)
    low, high = _r2_interval(truth, predicted, seed)
    return RegressionMetrics(
        rmse=float(np.sqrt(skm.mean_squared_error(truth, predicted))),
        mae=float(skm.mean_absolute_error(truth, predicted)),
        r2=float(skm.r2_score(truth, predicted)),
        r2_low=low,
        r2_high=high,
        max_error=float(skm.max_error(truth, predicted)),
        rows=len(truth),
    )


def compute_regression_metrics(model, holdout: Dataset) -> RegressionMetrics:
    return regression_metrics(holdout.labels, model.predict(as_model_input(holdout.features)))


def squared_errors(model, holdout: Dataset) -> np.ndarray:
    predicted = np.asarray(model.predict(as_model_input(holdout.features)), dtype=np.float64)
    return (holdout.labels.to_numpy(dtype=np.float64) - predicted) ** 2


@dataclass(frozen=True)
class PairedResult:
    """Two models' MSE on the same rows and the one-sided p-value of the named test."""

    candidate_mse: float
    other_mse: float
    margin: float  # the MSE excess allowed (0 for the baseline test)
    p_value: float
    test: str

    @property
    def candidate_rmse(self) -> float:
        return math.sqrt(self.candidate_mse)

    @property
    def other_rmse(self) -> float:
        return math.sqrt(self.other_mse)


def beats_baseline(candidate_errors: np.ndarray, baseline_errors: np.ndarray) -> PairedResult:
    """p-value of "the candidate's squared errors are not smaller than the baseline's" (small: it beats it)."""
    from scipy.stats import ttest_rel

    p = float(ttest_rel(candidate_errors, baseline_errors, alternative="less").pvalue)
    return PairedResult(float(candidate_errors.mean()), float(baseline_errors.mean()), 0.0,
                        1.0 if math.isnan(p) else p, "paired t-test (scipy.stats.ttest_rel, one-sided)")


def worse_than_champion(candidate_errors: np.ndarray, champion_errors: np.ndarray, tolerance: float) -> PairedResult:
    """p-value of "the candidate's MSE is at most the champion's plus the margin" (small: it is worse by more)."""
    from scipy.stats import ttest_1samp

    margin = tolerance * float(champion_errors.mean())
    differences = candidate_errors - champion_errors
    p = float(ttest_1samp(differences, margin, alternative="greater").pvalue)
    if math.isnan(p):  # identical errors on every row: no evidence of anything
        p = 1.0
    return PairedResult(float(candidate_errors.mean()), float(champion_errors.mean()), margin, p,
                        "paired t-test on squared errors (scipy.stats.ttest_1samp against the margin, one-sided)")


def write_regression_texts(metrics: RegressionMetrics, folder: Path) -> list[Path]:
    """regression_report.txt and metrics.json."""
    folder.mkdir(parents=True, exist_ok=True)
    written = [folder / "regression_report.txt", folder / "metrics.json"]
    written[0].write_text(metrics.report_text, encoding="utf-8")
    written[1].write_text(json.dumps(asdict(metrics), indent=2) + "\n", encoding="utf-8")
    return written


@dataclass(frozen=True)
class ValueParity:
    """How far a compiled regressor's values are from scikit-learn's on some rows."""

    rows: int
    # max |compiled - sklearn| / max(|sklearn|, tiny): NaN where one is NaN counts as infinite.
    max_rel_diff: float
    worst_row: int  # -1 without rows

    def within(self, rtol: float) -> bool:
        return self.max_rel_diff <= rtol


def value_parity(model, compiled, frame) -> ValueParity:
    """The largest relative difference of `compiled`'s values against `model.predict` on `frame`."""
    if len(frame) == 0:
        return ValueParity(0, 0.0, -1)
    expected = np.asarray(model.predict(frame), dtype=np.float64).ravel()
    actual = np.asarray(compiled.predict(frame), dtype=np.float64).ravel()
    if actual.shape != expected.shape:
        return ValueParity(len(frame), math.inf, 0)
    relative = np.abs(actual - expected) / np.maximum(np.abs(expected), np.finfo(np.float64).tiny)
    relative[np.isnan(relative)] = math.inf
    worst = int(relative.argmax())
    return ValueParity(len(frame), float(relative[worst]), worst)
