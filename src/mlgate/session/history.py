"""A registered model's history: every version, whether it was crowned, what its gates measured.

`mlgate history` writes `history.md` and PNG trend plots from the
registry and the runs behind each version. The core is pure over what
mlgate.tracking read, so it is tested on plain data: `version_rows`
(history_rows), `to_markdown` (history_markdown), `draw_trends`
(history_plots). `write_history` is the one function that reads a store.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from mlgate import tracking
from mlgate.session.history_markdown import to_markdown
from mlgate.session.history_plots import draw_trends
from mlgate.session.history_rows import (
    CHAMPION,
    CROWNED,
    LATENCY_PLOT,
    RECALL_PREFIX,
    REFUSED,
    REPORT_FILE,
    SCORES,
    SCORES_PLOT,
    SERVING,
    UNGATED,
    History,
    VersionRow,
    version_rows,
)

__all__ = [
    "CHAMPION", "CROWNED", "LATENCY_PLOT", "RECALL_PREFIX", "REFUSED", "REPORT_FILE", "SCORES", "SCORES_PLOT",
    "SERVING", "UNGATED", "History", "VersionRow", "Written", "draw_trends", "to_markdown", "version_rows",
    "write_history",
]


@dataclass(frozen=True)
class Written:
    files: list[Path]
    versions: int
    read_seconds: float
    total_seconds: float


def write_history(tracking_uri: str, model_name: str, out: Path) -> Written:
    """Read `model_name`'s history from the store and write the report and plots into `out`."""
    started = time.perf_counter()
    client = tracking.open_store(tracking_uri)
    versions, runs, aliases = tracking.model_history(client, model_name)
    read_seconds = time.perf_counter() - started
    rows = version_rows(versions, runs, aliases)
    names: dict[str, str] = {}
    for dataset in {r.dataset for r in rows if r.dataset}:
        names.update(_class_names(dataset))
    history = History(model_name, tracking_uri, rows, names)
    out.mkdir(parents=True, exist_ok=True)
    plots = draw_trends(history, out)
    report = out / REPORT_FILE
    report.write_text(to_markdown(history, [p.name for p in plots]), encoding="utf-8")
    return Written([report, *plots], len(rows), read_seconds, time.perf_counter() - started)


@cache
def _class_names(dataset: str) -> dict[str, str]:
    from mlgate.data import class_names

    try:
        return class_names(dataset)
    except (AttributeError, ImportError, OSError):  # a dataset this sklearn no longer bundles
        return {}
