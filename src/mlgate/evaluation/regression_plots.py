"""A regressor's holdout plots: predicted against actual, and residuals against predicted."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mlgate.data import Dataset
from mlgate.training import as_model_input


def write_regression_plots(model, holdout: Dataset, folder: Path, title: str) -> list[Path]:
    """predicted_vs_actual.png and residuals.png, titled `title`; matplotlib costs seconds, so promotion draws them."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    truth = holdout.labels.to_numpy(dtype=np.float64)
    predicted = np.asarray(model.predict(as_model_input(holdout.features)), dtype=np.float64)
    target = holdout.target
    written = []
    for name, what, x, y, xlabel, ylabel in (
        ("predicted_vs_actual.png", "predicted against actual", truth, predicted, f"actual {target}", f"predicted {target}"),
        ("residuals.png", "residuals against predicted", predicted, truth - predicted, f"predicted {target}",
         f"residual (actual - predicted {target})"),
    ):
        figure, ax = plt.subplots(figsize=(6, 5))
        ax.scatter(x, y, s=10, alpha=0.6)
        if name == "predicted_vs_actual.png":
            low, high = float(min(x.min(), y.min())), float(max(x.max(), y.max()))
            ax.plot([low, high], [low, high], color="grey", linewidth=1, label="perfect prediction")
            ax.legend(loc="upper left")
        else:
            ax.axhline(0.0, color="grey", linewidth=1)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        shown = f"{what}, {len(truth)} holdout rows"
        ax.set_title(f"{title}\n{shown}" if title else shown, fontsize=10)
        figure.tight_layout()
        figure.savefig(folder / name, dpi=90)
        plt.close(figure)
        written.append(folder / name)
    return written
