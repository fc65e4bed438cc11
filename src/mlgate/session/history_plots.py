"""The history's trend plots: scores and serving latency across versions, outcomes marked."""

from __future__ import annotations

import math
from pathlib import Path

from mlgate.session.history_rows import (
    CHAMPION,
    LATENCY_PLOT,
    REFUSED,
    SCORES,
    UNIT_SCORES,
    score_keys,
    SCORES_PLOT,
    SERVING,
    History,
    VersionRow,
    class_label,
    milliseconds,
    recall_keys,
)
from mlgate.session.plots import plain_log_axis


def draw_trends(history: History, folder: Path) -> list[Path]:
    """Scores and serving latency across versions: one PNG each, crowned and refused versions marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    for name, (lines, ylabel, what, log) in _series(history).items():
        if all(math.isnan(v) for values in lines.values() for v in values):
            continue
        figure = _draw(plt, history, lines, ylabel, what, log)
        figure.savefig(folder / name, dpi=90)
        plt.close(figure)
        written.append(folder / name)
    return written


def _series(history: History) -> dict[str, tuple[dict[str, list[float]], str, str, bool]]:
    """Plot file -> (label -> value per version, y label, what it shows, log scale)."""
    rows = history.rows
    recalls = recall_keys(rows)
    return {
        SCORES_PLOT: (
            {SCORES[k]: [r.scores.get(k, math.nan) for r in rows] for k in score_keys(rows) if k not in UNIT_SCORES}
            | {f"recall {class_label(k, history.class_names)}": [r.scores.get(k, math.nan) for r in rows] for k in recalls},
            "holdout score (fraction, 0-1)",
            "gate metrics",
            False,
        ),
        LATENCY_PLOT: (
            {f"serving {s}": [milliseconds(r.serving_seconds.get(s)) or math.nan for r in rows] for s in SERVING.values()},
            "one-row request latency (ms, log scale)",
            "serving latency measured by the perf gates",
            True,
        ),
    }


def _draw(plt, history: History, lines: dict[str, list[float]], ylabel: str, what: str, log: bool):
    """One trend figure: a line per series, outcomes marked, titled with the model, data and versions."""
    from matplotlib.patches import Patch

    rows = history.rows
    versions = [r.version for r in rows]
    datasets = ", ".join(sorted({r.dataset for r in rows if r.dataset})) or "unrecorded data"
    dense = len(rows) > 60  # a thousand markers are a smear; lines alone then, outcomes as a strip
    figure, ax = plt.subplots(figsize=(9, 5))
    for label, values in lines.items():
        style = "--" if label.startswith("recall") else "-"
        ax.plot(versions, values, style, marker=None if dense else "o", markersize=4, linewidth=1.2, label=label)
    _mark_outcomes(ax, rows)
    handles, _ = ax.get_legend_handles_labels()
    if any(r.outcome == REFUSED for r in rows):
        handles.append(Patch(color="tab:red", alpha=0.15, label="refused version"))
    if log:
        ax.set_yscale("log")
        plain_log_axis(ax.yaxis)
    ax.set_xlabel("registered version")
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    ax.legend(handles=handles, loc="best", fontsize=8)
    ax.set_title(f"{history.model_name} on {datasets}: {what}, versions {versions[0]}-{versions[-1]}", fontsize=10)
    figure.tight_layout()
    return figure


def _mark_outcomes(ax, rows: list[VersionRow]) -> None:
    """Refused versions as red bands, the champion as a gold line: where the trend was judged."""
    for r in rows:
        if r.outcome == REFUSED:
            ax.axvspan(r.version - 0.4, r.version + 0.4, color="tab:red", alpha=0.15, linewidth=0)
    champion = [r.version for r in rows if r.outcome == CHAMPION]
    if champion:
        ax.axvline(champion[0], color="goldenrod", linewidth=2, alpha=0.7, label=f"@champion (version {champion[0]})")
