"""Holdout plots as PNG files: one titled 6x5 figure per file, drawn off-screen."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable


def save_figures(folder: Path, title: str, plots: dict[str, tuple[str, Callable[[Any], None]]]) -> list[Path]:
    """Each `name: (what, draw)` drawn by `draw(ax)` into folder/name, titled `title` over `what`.

    matplotlib costs seconds to import, so only a promoting session calls this.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, (what, draw) in plots.items():
        figure, ax = plt.subplots(figsize=(6, 5))
        draw(ax)
        ax.set_title(f"{title}\n{what}" if title else what, fontsize=10)
        figure.tight_layout()
        figure.savefig(folder / name, dpi=90)
        plt.close(figure)
        written.append(folder / name)
    return written
