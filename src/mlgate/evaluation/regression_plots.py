"""A regressor's holdout plots: predicted against actual, and residuals against predicted."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mlgate.data import Dataset
from mlgate.evaluation.plot_files import save_figures
from mlgate.training import as_model_input


def write_regression_plots(model, holdout: Dataset, folder: Path, title: str) -> list[Path]:
    """predicted_vs_actual.png and residuals.png, titled `title`; matplotlib costs seconds, so promotion draws them."""
    truth = holdout.labels.to_numpy(dtype=np.float64)
    predicted = np.asarray(model.predict(as_model_input(holdout.features)), dtype=np.float64)
    target = holdout.target
    rows = f"{len(truth)} holdout rows"

    def against_actual(ax) -> None:
        _scatter(ax, truth, predicted, f"actual {target}", f"predicted {target}")
        low, high = float(min(truth.min(), predicted.min())), float(max(truth.max(), predicted.max()))
        ax.plot([low, high], [low, high], color="grey", linewidth=1, label="perfect prediction")
        ax.legend(loc="upper left")

    def residuals(ax) -> None:
        _scatter(ax, predicted, truth - predicted, f"predicted {target}", f"residual (actual - predicted {target})")
        ax.axhline(0.0, color="grey", linewidth=1)

    return save_figures(folder, title, {
        "predicted_vs_actual.png": (f"predicted against actual, {rows}", against_actual),
        "residuals.png": (f"residuals against predicted, {rows}", residuals),
    })


def _scatter(ax, x: np.ndarray, y: np.ndarray, xlabel: str, ylabel: str) -> None:
    ax.scatter(x, y, s=10, alpha=0.6)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
