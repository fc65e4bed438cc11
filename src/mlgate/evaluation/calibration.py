"""Calibration: the evidence (ECE, reliability diagram) and the gate (paired per-row log loss).

Expected calibration error here is TOP-LABEL ECE over 10 EQUAL-WIDTH confidence bins on [0, 1]:
each row's confidence is its largest probability, and ECE = sum over bins of
(rows in bin / rows) * |accuracy in bin - mean confidence in bin|. It is reported, not gated:
with 114 rows, most of 10 bins hold a handful of rows and ECE is mostly noise.

The gate refuses when either of two decisions does (Holm-adjusted, verdict.py):
- a proper score, paired per row: the candidate's log loss must not be shown worse than the
  champion's by more than `margin` nats per row (paired.non_inferiority, one-sided paired
  t-test). A first champion has none, so it is held to beating a model that predicts the
  training labels' class shares on every row (paired.superiority): a classifier whose
  probabilities cannot be shown better than the base rates carries no information, and a real
  model beats them by a wide margin (a depth-1 stump on breast cancer: 0.66 -> ~0.3 nats);
- overconfidence: the candidate's top-label errors must not be shown more than its own
  probabilities promise (scipy.stats.binomtest of the errors against the mean claimed error
  rate, one-sided; exact for equal confidences and conservative otherwise, Hoeffding 1956).
Why the second: an overconfident model is wrong on few rows, so its extra log loss sits on those
few rows and the paired t statistic cannot exceed about sqrt(errors), however confident the
misses. On breast cancer (4 errors in 105 rows) the forest champion's probabilities sharpened
as p^10 (same labels, +0.09 nats) pass the log-loss test (p = 0.17) and fail this one
(0.36 errors promised, 4 made: p = 0.0005).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from scipy import stats

from mlgate.evaluation.paired import (
    ClassifierRows,
    Decision,
    classifier_rows,
    non_inferiority,
    superiority,
)
from mlgate.evaluation.verdict import Verdict, holm

ECE_BINS = 10


@dataclass(frozen=True)
class ReliabilityBins:
    """Top-label reliability data: per non-empty bin, mean confidence, accuracy and rows."""

    confidence: np.ndarray
    accuracy: np.ndarray
    rows: np.ndarray
    bins: int = ECE_BINS

    @property
    def ece(self) -> float:
        total = self.rows.sum()
        return float((self.rows / total * np.abs(self.accuracy - self.confidence)).sum())


def reliability(y_true, proba, classes, bins: int = ECE_BINS) -> ReliabilityBins:
    """Bin rows by top-label confidence into `bins` equal-width bins on [0, 1]."""
    proba, classes = np.asarray(proba, float), np.asarray(classes)
    confidence = proba.max(axis=1)
    correct = classes[proba.argmax(axis=1)] == np.asarray(y_true)
    # Right-closed bins with 0 in the first: a confidence of exactly 1.0 lands in the last.
    which = np.clip(np.ceil(confidence * bins).astype(int) - 1, 0, bins - 1)
    rows = np.bincount(which, minlength=bins)
    filled = rows > 0
    mean_confidence = np.bincount(which, confidence, bins)[filled] / rows[filled]
    accuracy = np.bincount(which, correct.astype(float), bins)[filled] / rows[filled]
    return ReliabilityBins(mean_confidence, accuracy, rows[filled], bins)


def expected_calibration_error(y_true, proba, classes, bins: int = ECE_BINS) -> float:
    """Top-label ECE over `bins` equal-width bins (see the module docstring)."""
    return reliability(y_true, proba, classes, bins).ece


def write_reliability_diagram(path: Path | str, curves: dict[str, ReliabilityBins]) -> Path:
    """Save a reliability diagram (one line per model, e.g. candidate and champion) as PNG."""
    import matplotlib

    matplotlib.use("Agg")  # no display on a gate runner
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(figsize=(5, 5))
    axes.plot([0, 1], [0, 1], linestyle=":", color="grey", label="perfectly calibrated")
    for name, curve in curves.items():
        axes.plot(curve.confidence, curve.accuracy, marker="o",
                  label=f"{name} (ECE {curve.ece:.3f}, {int(curve.rows.sum())} rows)")
    axes.set(xlim=(0, 1), ylim=(0, 1), xlabel="top-label confidence",
             ylabel="accuracy", title=f"Reliability, {next(iter(curves.values())).bins} bins")
    axes.legend(loc="lower right", fontsize="small")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    pyplot.close(figure)
    return path


def prior_rows(y_train, y_holdout, classes) -> ClassifierRows:
    """Per-row outcomes of a model that predicts the training labels' class shares everywhere."""
    classes = np.asarray(classes)
    y_train = np.asarray(y_train)
    shares = np.array([(y_train == label).mean() for label in classes])
    rows = len(y_holdout)
    labels = np.full(rows, classes[shares.argmax()])
    return classifier_rows(y_holdout, labels, np.tile(shares, (rows, 1)), classes)


def overconfidence(y_true, proba, classes, alpha: float) -> Decision:
    """Refuse when the top-label errors are shown above the error rate the probabilities claim."""
    proba, classes = np.asarray(proba, float), np.asarray(classes)
    rows = len(proba)
    claimed = float(1 - proba.max(axis=1).mean()) if rows else 0.0
    errors = int((classes[proba.argmax(axis=1)] != np.asarray(y_true)).sum())
    if rows == 0:
        return Decision("top-label error rate", 0.0, 0.0, 1.0, 1.0, "none", alpha, 0.0, 0,
                        None, False, "no rows", reference="its own confidence")
    result = stats.binomtest(errors, rows, min(max(claimed, 0.0), 1.0), alternative="greater")
    interval = result.proportion_ci(confidence_level=1 - 2 * alpha, method="wilson")
    return Decision(
        metric="top-label error rate", difference=errors / rows - claimed,
        low=interval.low - claimed, high=interval.high - claimed, p_value=float(result.pvalue),
        test="one-sided exact binomial test of errors against the claimed rate", alpha=alpha,
        margin=0.0, rows=rows, detectable_drop=None, refused=bool(result.pvalue < alpha),
        note=f"{errors} errors where its probabilities promise {claimed * rows:.2f}",
        reference="its own confidence",
    )


def calibration_decision(
    y_true,
    candidate_proba,
    classes,
    candidate: ClassifierRows,
    champion: ClassifierRows | None,
    baseline: ClassifierRows,
    margin: float,
    alpha: float,
) -> Verdict:
    """The calibration gate (module docstring); `baseline` is `prior_rows(...)`."""
    if champion is None:
        score = superiority(candidate.log_loss, baseline.log_loss, alpha, "log_loss",
                            reference_name="class-share baseline")
    else:
        score = non_inferiority(candidate.log_loss, champion.log_loss, margin, alpha, "log_loss")
    confidence = overconfidence(y_true, candidate_proba, classes, alpha)
    return holm("calibration", (score, confidence), alpha)
