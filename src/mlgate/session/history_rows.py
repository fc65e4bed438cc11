"""A registered model's versions as the history shows them: one row each, from its tags and its run.

Pure over what mlgate.tracking read (`model_history`), so it is tested on plain data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from mlgate import tracking
from mlgate.tracking import RunFacts, VersionFacts

REPORT_FILE = "history.md"
SCORES_PLOT, LATENCY_PLOT = "history_scores.png", "history_latency.png"
# Holdout scores, as the gate run logged them (the version's mlgate.metric.* tags otherwise).
SCORES = {"accuracy": "accuracy", "macro_f1": "macro F1", "roc_auc": "ROC AUC", "rmse": "RMSE", "mae": "MAE", "r2": "R²"}
# A classifier's history shows these columns even when empty; a regressor's scores appear when recorded.
CLASSIFICATION_SCORES = ("accuracy", "macro_f1", "roc_auc")
# In the target's unit: not drawn on the fractions' axis.
UNIT_SCORES = ("rmse", "mae")
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
    declared_slices: str = ""  # the declared slices it was held to, each with its status


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
                declared_slices=facts.tags.get(tracking.TAG_DECLARED_SLICES, ""),
            )
        )
    return rows


def recall_keys(rows: list[VersionRow]) -> list[str]:
    return sorted({k for r in rows for k in r.scores if k.startswith(RECALL_PREFIX)})


def class_label(key: str, names: dict[str, str]) -> str:
    label = key.removeprefix(RECALL_PREFIX)
    name = names.get(label)
    return f"{name} ({label})" if name and name != label else label


def _number(text: str | None) -> float | None:
    try:
        value = float(text)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if math.isnan(value) else value


def milliseconds(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1e3


def score_keys(rows: list[VersionRow]) -> list[str]:
    """The classification scores always, a regressor's where any version recorded them."""
    return [k for k in SCORES if k in CLASSIFICATION_SCORES or any(k in r.scores for r in rows)]
