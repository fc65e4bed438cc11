"""The latency plot of the bundle: candidate and champion, from the perf gates' raw timings."""

from __future__ import annotations

from pathlib import Path

from mlgate.serving.latency import percentile

LATENCY_PLOT = "latency_distribution.png"
# Order and colour of the models on every plot: the candidate in front.
MODEL_COLOURS = {"champion": "tab:gray", "candidate": "tab:blue"}


def latency_distribution(samples_seconds: dict[str, list[float]], path: Path, title: str) -> Path | None:
    """One figure: each model's one-request latencies as a cumulative distribution, p50/p99 marked.

    A cumulative distribution rather than a histogram: the tail a p99 budget is
    about stays visible, and two models share one axis without hiding each other.
    Nothing is drawn without samples.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    drawn = {name: sorted(samples_seconds[name]) for name in MODEL_COLOURS if samples_seconds.get(name)}
    if not drawn:
        return None
    figure, ax = plt.subplots(figsize=(7, 4.5))
    for name, seconds in drawn.items():
        ms = np.asarray(seconds) * 1e3
        fraction = np.arange(1, len(ms) + 1) / len(ms)
        p50, p99 = (percentile(seconds, q) * 1e3 for q in (50, 99))
        colour = MODEL_COLOURS[name]
        ax.step(ms, fraction, where="post", color=colour, label=f"{name}: p50 {p50:.3g} ms, p99 {p99:.3g} ms, n={len(ms)}")
        for value, style in ((p50, ":"), (p99, "--")):
            ax.axvline(value, color=colour, linestyle=style, linewidth=1)
    ax.set_xscale("log")
    plain_log_axis(ax.xaxis)
    ax.set_xlabel("one-row request latency (ms, log scale); dotted p50, dashed p99")
    ax.set_ylabel("fraction of requests at or below")
    ax.set_ylim(0, 1.02)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    what = "candidate and champion served side by side" if len(drawn) == 2 else f"{', '.join(drawn)} alone"
    ax.set_title(f"{title}\nserving latency, {what}", fontsize=10)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=90)
    plt.close(figure)
    return path


def plain_log_axis(axis) -> None:
    """Log-scale ticks as plain numbers (0.3, not 3×10⁻¹), minor ones labelled at 2, 3 and 5 only."""
    import math

    import matplotlib.ticker

    def minor(value: float, _) -> str:
        leading = round(value / 10 ** math.floor(math.log10(value))) if value > 0 else 0
        return f"{value:g}" if leading in (2, 3, 5) else ""

    axis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda value, _: f"{value:g}"))
    axis.set_minor_formatter(matplotlib.ticker.FuncFormatter(minor))
    axis.set_tick_params(which="minor", labelsize=7)


def plot_title(model_name: str, version: str, dataset: str) -> str:
    """What every plot is about, on its first line: model name, version and dataset."""
    return f"{model_name} {version} on {dataset}"
