"""A registered model's history: every version, whether it was crowned, what its gates measured.

`mlgate history` writes `history.md` and PNG trend plots from the
registry and the runs behind each version. The core (`version_rows`,
`to_markdown`, `draw_trends`) is pure over what model/tracking.py read, so
it is tested on plain data; `write_history` is the one function that reads a store.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

from mlgate import tracking
from mlgate.session.plots import plain_log_axis
from mlgate.tracking import RunFacts, VersionFacts

REPORT_FILE = "history.md"
SCORES_PLOT, LATENCY_PLOT = "history_scores.png", "history_latency.png"
# Holdout scores, as the gate run logged them (the version's mlgate.metric.* tags otherwise).
SCORES = {"accuracy": "accuracy", "macro_f1": "macro F1", "roc_auc": "ROC AUC"}
RECALL_PREFIX = "recall_"
# Serving latencies the perf gates logged on the run: metric -> shown as (all in seconds).
SERVING = {
    "perf.serving_p50_seconds": "p50",
    "perf.serving_p99_seconds": "p99",
    "perf.serving_overhead_p50_seconds": "overhead p50",
}
CHAMPION, CROWNED, REFUSED, UNGATED = "champion", "crowned", "refused", "not gated"


@dataclass(frozen=True)
class VersionRow:
    """One version as the history shows it."""

    version: int
    registered_at: float  # unix seconds
    outcome: str  # champion (now), crowned (once), refused, or not gated (registered outside the gates)
    crowned_at: float | None  # when its green session moved @champion to it
    refused_because: str
    dataset: str
    scores: dict[str, float]  # SCORES keys and recall_<label>
    serving_seconds: dict[str, float]  # SERVING values
    engine: str
    data_fingerprint: str
    code_version: str
    run_status: str = ""  # FINISHED, FAILED... of the run behind it; "" without one


@dataclass(frozen=True)
class History:
    model_name: str
    store: str
    rows: list[VersionRow]  # oldest first
    class_names: dict[str, str] = field(default_factory=dict)


def version_rows(
    versions: list[VersionFacts], runs: dict[str, RunFacts], aliases: dict[str, str]
) -> list[VersionRow]:
    """What each version's tags and run say about it, oldest version first."""
    champion = aliases.get(tracking.CHAMPION_ALIAS)
    rows = []
    for facts in sorted(versions, key=lambda v: int(v.version)):
        run = runs.get(facts.run_id)
        run_tags, metrics = (run.tags, run.metrics) if run is not None else ({}, {})
        tags = {**run_tags, **facts.tags}  # the version's own word wins
        refused = facts.tags.get(tracking.TAG_REFUSED_BECAUSE, "")
        gated_at = _number(facts.tags.get(tracking.TAG_GATED_AT))
        if facts.version == champion:
            outcome = CHAMPION
        elif refused:
            outcome = REFUSED
        elif gated_at is not None:
            outcome = CROWNED
        else:
            outcome = UNGATED
        scores = {}
        for name in SCORES:
            value = metrics.get(name, _number(facts.tags.get(tracking.metric_tag_key(name))))
            if value is not None:
                scores[name] = value
        scores.update({k: v for k, v in metrics.items() if k.startswith(RECALL_PREFIX)})
        rows.append(
            VersionRow(
                version=int(facts.version),
                registered_at=facts.created_ms / 1000,
                outcome=outcome,
                crowned_at=gated_at if outcome in (CHAMPION, CROWNED) else None,
                refused_because=refused,
                dataset=tags.get(tracking.TAG_DATASET, ""),
                scores=scores,
                serving_seconds={shown: metrics[k] for k, shown in SERVING.items() if k in metrics},
                engine=tags.get(tracking.TAG_SERVING_ENGINE, ""),
                data_fingerprint=tags.get(tracking.TAG_DATA_FINGERPRINT, ""),
                code_version=tags.get(tracking.TAG_GIT_COMMIT, ""),
                run_status=run.status if run is not None else "",
            )
        )
    return rows


def to_markdown(history: History, plots: list[str]) -> str:
    rows = history.rows
    counts = {o: sum(r.outcome == o for r in rows) for o in (CHAMPION, CROWNED, REFUSED, UNGATED)}
    champion = next((r.version for r in rows if r.outcome == CHAMPION), None)
    recalls = _recall_keys(rows)
    lines = [
        f"# History of `{history.model_name}`",
        "",
        (
            f"{len(rows)} version(s) in `{history.store}`: {counts[CHAMPION] + counts[CROWNED]} crowned, "
            f"{counts[REFUSED]} refused, {counts[UNGATED]} registered outside the gates; "
            + (f"`@champion` is version {champion}." if champion is not None else "no `@champion`.")
        ),
        "",
        (
            "Scores are on each version's own holdout; latencies are one-row requests served by mlgate's "
            "server during its gate session (milliseconds)."
        ),
    ]
    if plots:
        lines += ["", "## Trends", ""] + [f"![{name}]({name})" for name in plots]
    lines += [
        "",
        "## Versions, newest first",
        "",
        "| version | registered (UTC) | outcome | crowned (UTC) | "
        + " | ".join(SCORES.values())
        + "".join(f" | recall {_class(k, history.class_names)}" for k in recalls)
        + " | " + " | ".join(f"{s} ms" for s in SERVING.values())
        + " | served by | dataset | data sha256 | code |",
        "| " + " | ".join(["---"] * (4 + len(SCORES) + len(recalls) + len(SERVING) + 4)) + " |",
    ]
    for r in reversed(rows):
        outcome = {CHAMPION: "👑 champion", CROWNED: "✅ crowned", REFUSED: "❌ refused", UNGATED: "— not gated"}[
            r.outcome
        ]
        cells = [
            str(r.version),
            _when(r.registered_at),
            outcome,
            _when(r.crowned_at),
            *(_fmt(r.scores.get(k)) for k in SCORES),
            *(_fmt(r.scores.get(k)) for k in recalls),
            *(_fmt(_ms(r.serving_seconds.get(s))) for s in SERVING.values()),
            r.engine or "—",
            f"`{r.dataset}`" if r.dataset else "—",
            f"`{r.data_fingerprint[:12]}`" if r.data_fingerprint else "—",
            f"`{r.code_version[:10]}`" if r.code_version else "—",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    refused = [r for r in reversed(rows) if r.outcome == REFUSED]
    if refused:
        lines += ["", "## Why versions were refused", ""]
        lines += [f"- version {r.version}: {_one_line(r.refused_because)}" for r in refused]
    return "\n".join(lines) + "\n"


def draw_trends(history: History, folder: Path) -> list[Path]:
    """Scores and serving latency across versions: one PNG each, crowned and refused versions marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    rows = history.rows
    written = []
    recalls = _recall_keys(rows)
    series = {
        SCORES_PLOT: (
            {label: [r.scores.get(k, math.nan) for r in rows] for k, label in SCORES.items()}
            | {f"recall {_class(k, history.class_names)}": [r.scores.get(k, math.nan) for r in rows] for k in recalls},
            "holdout score (fraction, 0-1)",
            "gate metrics",
            False,
        ),
        LATENCY_PLOT: (
            {f"serving {s}": [_ms(r.serving_seconds.get(s)) or math.nan for r in rows] for s in SERVING.values()},
            "one-row request latency (ms, log scale)",
            "serving latency measured by the perf gates",
            True,
        ),
    }
    versions = [r.version for r in rows]
    datasets = ", ".join(sorted({r.dataset for r in rows if r.dataset})) or "unrecorded data"
    dense = len(rows) > 60  # a thousand markers are a smear; lines alone then, outcomes as a strip
    for name, (lines, ylabel, what, log) in series.items():
        if all(math.isnan(v) for values in lines.values() for v in values):
            continue
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
        figure.savefig(folder / name, dpi=90)
        plt.close(figure)
        written.append(folder / name)
    return written


def _mark_outcomes(ax, rows: list[VersionRow]) -> None:
    """Refused versions as red bands, the champion as a gold line: where the trend was judged."""
    for r in rows:
        if r.outcome == REFUSED:
            ax.axvspan(r.version - 0.4, r.version + 0.4, color="tab:red", alpha=0.15, linewidth=0)
    champion = [r.version for r in rows if r.outcome == CHAMPION]
    if champion:
        ax.axvline(champion[0], color="goldenrod", linewidth=2, alpha=0.7, label=f"@champion (version {champion[0]})")


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


def _recall_keys(rows: list[VersionRow]) -> list[str]:
    return sorted({k for r in rows for k in r.scores if k.startswith(RECALL_PREFIX)})


def _class(key: str, names: dict[str, str]) -> str:
    label = key.removeprefix(RECALL_PREFIX)
    name = names.get(label)
    return f"{name} ({label})" if name and name != label else label


def _number(text: str | None) -> float | None:
    try:
        value = float(text)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if math.isnan(value) else value


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1e3


def _when(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M")


def _fmt(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{value:.4g}"


def _one_line(text: str, limit: int = 400) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"
