"""Holdout metrics, the champion comparison, and the report files."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn import metrics as skm
from sklearn.base import is_regressor

from mlgate.data import Dataset
from mlgate.training import as_model_input


@dataclass(frozen=True)
class HoldoutMetrics:
    accuracy: float
    balanced_accuracy: float
    macro_f1: float
    # NaN when the holdout lacks a label the model knows (AUC is then undefined).
    roc_auc: float
    class_precision: dict[str, float]
    class_recall: dict[str, float]
    labels: list[Any]
    confusion_matrix: list[list[int]]
    report_text: str = field(repr=False)

    def scalars(self) -> dict[str, float]:
        """The single-number metrics, as logged to MLflow."""
        values = {
            "accuracy": self.accuracy,
            "balanced_accuracy": self.balanced_accuracy,
            "macro_f1": self.macro_f1,
            "roc_auc": self.roc_auc,
        }
        values.update({f"recall_{k}": v for k, v in self.class_recall.items()})
        values.update({f"precision_{k}": v for k, v in self.class_precision.items()})
        return {k: v for k, v in values.items() if not math.isnan(v)}


def _roc_auc(labels: pd.Series, proba: np.ndarray, classes: np.ndarray) -> float:
    try:
        if len(classes) == 2:
            return float(skm.roc_auc_score(labels == classes[1], proba[:, 1]))
        return float(skm.roc_auc_score(labels, proba, multi_class="ovr", labels=classes))
    except ValueError:
        return math.nan


@dataclass(frozen=True)
class Answers:
    """A model's predictions and class probabilities on some rows: one pass, read by every gate that needs them."""

    labels: np.ndarray  # a regressor's predicted values
    proba: np.ndarray | None  # None for a regressor

    @classmethod
    def of(cls, model, features: pd.DataFrame) -> Answers:
        proba = None if is_regressor(model) else np.asarray(model.predict_proba(features))
        return cls(np.asarray(model.predict(features)), proba)


def compute_metrics(model, holdout: Dataset, answers: Answers | None = None):
    """HoldoutMetrics for a classifier, from `answers` when the model's were already computed on these rows;
    a regressor's are mlgate.evaluation.regression.RegressionMetrics."""
    if is_regressor(model):
        from mlgate.evaluation.regression import compute_regression_metrics

        return compute_regression_metrics(model, holdout)
    answers = answers or Answers.of(model, as_model_input(holdout.features))
    predicted, proba = answers.labels, answers.proba
    classes = model.classes_
    labels = holdout.labels
    precision, recall, _, _ = skm.precision_recall_fscore_support(
        labels, predicted, labels=classes, zero_division=0
    )
    return HoldoutMetrics(
        accuracy=float(skm.accuracy_score(labels, predicted)),
        balanced_accuracy=float(skm.balanced_accuracy_score(labels, predicted)),
        macro_f1=float(skm.f1_score(labels, predicted, average="macro", labels=classes, zero_division=0)),
        roc_auc=_roc_auc(labels, proba, classes),
        class_precision={str(c): float(p) for c, p in zip(classes, precision)},
        class_recall={str(c): float(r) for c, r in zip(classes, recall)},
        labels=[c.item() if hasattr(c, "item") else c for c in classes],
        confusion_matrix=skm.confusion_matrix(labels, predicted, labels=classes).tolist(),
        report_text=skm.classification_report(labels, predicted, labels=classes, zero_division=0),
    )


def write_reports(
    model, holdout: Dataset, metrics: HoldoutMetrics, folder: Path, title: str = "", names: dict[str, str] | None = None
) -> list[Path]:
    """classification_report.txt, metrics.json and the plots, into `folder`."""
    return write_texts(metrics, folder, names) + write_plots(model, holdout, metrics, folder, title, names)


def write_texts(metrics: HoldoutMetrics, folder: Path, names: dict[str, str] | None = None) -> list[Path]:
    """classification_report.txt and metrics.json (classes named): cheap, written by every session that scores."""
    if not isinstance(metrics, HoldoutMetrics):
        from mlgate.evaluation.regression import write_regression_texts

        return write_regression_texts(metrics, folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = [folder / "classification_report.txt", folder / "metrics.json"]
    written[0].write_text(metrics.report_text, encoding="utf-8")
    summary = {k: v for k, v in asdict(metrics).items() if k != "report_text"}
    summary["class_names"] = {str(c): (names or {}).get(str(c), str(c)) for c in metrics.labels}
    written[1].write_text(json.dumps(summary, indent=2, default=str) + "\n", encoding="utf-8")
    return written


def write_plots(
    model, holdout: Dataset, metrics: HoldoutMetrics, folder: Path, title: str, names: dict[str, str] | None = None,
    proba: np.ndarray | None = None,
) -> list[Path]:
    """The confusion matrix, ROC and precision-recall curves, titled `title`, classes by their names.

    matplotlib costs seconds, so only a promoting session draws them.
    """
    if not isinstance(metrics, HoldoutMetrics):
        from mlgate.evaluation.regression_plots import write_regression_plots

        return write_regression_plots(model, holdout, folder, title)
    from mlgate.evaluation.plot_files import save_figures

    labels = holdout.labels
    classes = model.classes_
    shown = [class_label(c, names) for c in classes]
    if proba is None:  # the session passes the probabilities it already computed on the holdout
        proba = model.predict_proba(as_model_input(holdout.features))
    plots = {
        "confusion_matrix.png": (
            f"confusion matrix, {len(labels)} holdout rows",
            lambda ax: skm.ConfusionMatrixDisplay(np.asarray(metrics.confusion_matrix), display_labels=shown).plot(
                ax=ax, colorbar=False
            ),
        ),
        "roc_curve.png": (
            "ROC curve, holdout rows",
            lambda ax: _per_class_curves(skm.RocCurveDisplay, labels, proba, classes, shown, ax),
        ),
        "pr_curve.png": (
            "precision-recall curve, holdout rows",
            lambda ax: _per_class_curves(skm.PrecisionRecallDisplay, labels, proba, classes, shown, ax),
        ),
    }
    return save_figures(folder, title, plots)


def class_label(label: Any, names: dict[str, str] | None) -> str:
    """A class as a reader knows it: its name, with the code the model predicts when they differ."""
    name = (names or {}).get(str(label))
    return f"{name} ({label})" if name and name != str(label) else str(label)


def _per_class_curves(display, labels, proba, classes, shown, ax) -> None:
    # Binary: one curve for the positive class; multiclass: one-vs-rest per class.
    picked = range(1, 2) if len(classes) == 2 else range(len(classes))
    for index in picked:
        truth = labels == classes[index]
        if truth.any() and not truth.all():
            display.from_predictions(truth, proba[:, index], name=f"{shown[index]} vs rest", ax=ax)
    # sklearn's own labels read "(Positive label: True)" for these one-vs-rest booleans.
    x, y = AXES[display.__name__]
    ax.set_xlabel(x)
    ax.set_ylabel(y)


AXES = {
    "RocCurveDisplay": ("false positive rate (fraction of the other classes)", "true positive rate (recall, fraction)"),
    "PrecisionRecallDisplay": ("recall (fraction of the class found)", "precision (fraction of predictions right)"),
}
