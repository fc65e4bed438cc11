"""The history as Markdown: a summary, the versions newest first, and why versions were refused."""

from __future__ import annotations

import math
from datetime import UTC, datetime

from mlgate.session.history_rows import (
    CHAMPION,
    CROWNED,
    REFUSED,
    SCORES,
    score_keys,
    SERVING,
    UNGATED,
    History,
    VersionRow,
    class_label,
    milliseconds,
    recall_keys,
)

OUTCOMES_SHOWN = {CHAMPION: "👑 champion", CROWNED: "✅ crowned", REFUSED: "❌ refused", UNGATED: "— not gated"}


def to_markdown(history: History, plots: list[str]) -> str:
    rows = history.rows
    recalls = recall_keys(rows)
    shown = score_keys(rows)  # a classifier's three always; a regressor's where recorded
    lines = _summary(history)
    if plots:
        lines += ["", "## Trends", ""] + [f"![{name}]({name})" for name in plots]
    lines += ["", "## Versions, newest first", "", *_table_head(history, recalls, shown)]
    lines += ["| " + " | ".join(_cells(r, recalls, shown)) + " |" for r in reversed(rows)]
    declared = [r for r in reversed(rows) if r.declared_slices]
    if declared:
        lines += ["", "## Declared slices per version", ""]
        lines += [f"- version {r.version}: {_one_line(r.declared_slices)}" for r in declared]
    refused = [r for r in reversed(rows) if r.outcome == REFUSED]
    if refused:
        lines += ["", "## Why versions were refused", ""]
        lines += [f"- version {r.version}: {_one_line(r.refused_because)}" for r in refused]
    return "\n".join(lines) + "\n"


def _summary(history: History) -> list[str]:
    """The title and the counts of outcomes, and what the scores and latencies are."""
    rows = history.rows
    counts = {o: sum(r.outcome == o for r in rows) for o in (CHAMPION, CROWNED, REFUSED, UNGATED)}
    champion = next((r.version for r in rows if r.outcome == CHAMPION), None)
    return [
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


def _table_head(history: History, recalls: list[str], shown: list[str]) -> list[str]:
    return [
        "| version | registered (UTC) | outcome | crowned (UTC) | "
        + " | ".join(SCORES[k] for k in shown)
        + "".join(f" | recall {class_label(k, history.class_names)}" for k in recalls)
        + " | " + " | ".join(f"{s} ms" for s in SERVING.values())
        + " | served by | dataset | data sha256 | code |",
        "| " + " | ".join(["---"] * (4 + len(shown) + len(recalls) + len(SERVING) + 4)) + " |",
    ]


def _cells(r: VersionRow, recalls: list[str], shown: list[str]) -> list[str]:
    return [
        str(r.version),
        _when(r.registered_at),
        OUTCOMES_SHOWN[r.outcome],
        _when(r.crowned_at),
        *(_fmt(r.scores.get(k)) for k in shown),
        *(_fmt(r.scores.get(k)) for k in recalls),
        *(_fmt(milliseconds(r.serving_seconds.get(s))) for s in SERVING.values()),
        r.engine or "—",
        f"`{r.dataset}`" if r.dataset else "—",
        f"`{r.data_fingerprint[:12]}`" if r.data_fingerprint else "—",
        f"`{r.code_version[:10]}`" if r.code_version else "—",
    ]


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
