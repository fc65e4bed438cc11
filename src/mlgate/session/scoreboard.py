"""Candidate against champion, metric by metric: the lines every gate session ends with.

Pure: scores in, text out. The champion's scores are those its own green session
recorded on its registered version (mlgate.tracking.gate_scores); each metric row
names the gate that holds it and how that gate ended in this session, so
`pytest gates/model -x` after an edit answers "better or worse, and which gate".
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

# Metric -> the threshold gate that holds it (gates/model/test_thresholds.py).
GATE_OF_METRIC = {
    "accuracy": "test_holdout_accuracy_meets_minimum",
    "macro_f1": "test_macro_f1_meets_minimum",
    "roc_auc": "test_roc_auc_meets_minimum",
    "rmse": "test_regressor_not_worse_than_champion",  # the champion gate judges the MSE
    "mae": "test_mae_within_limit",
    "r2": "test_r2_meets_minimum",
}
# Errors in the target's unit: a smaller value is the better one.
LOWER_IS_BETTER = {"rmse", "mae"}
# Smaller differences than this are the same score (float noise across sessions).
SAME_WITHIN = 1e-9


@dataclass(frozen=True)
class Row:
    metric: str
    value: float
    champion: float  # NaN: no champion, or it recorded no such score
    gate: str  # how this metric's gate ended here: passed, failed, not run ...

    @property
    def delta(self) -> float:
        return self.value - self.champion

    @property
    def verdict(self) -> str:
        if math.isnan(self.champion) or math.isnan(self.value):
            return "no champion score" if math.isnan(self.champion) else "not measured"
        if abs(self.delta) <= SAME_WITHIN:
            return "same"
        better = self.delta < 0 if self.metric in LOWER_IS_BETTER else self.delta > 0
        return "better" if better else "worse"


def rows(candidate: Mapping[str, float], champion: Mapping[str, float] | None,
         gate_status: Mapping[str, str]) -> list[Row]:
    champion = champion or {}
    return [
        Row(metric, float(candidate.get(metric, math.nan)), float(champion.get(metric, math.nan)),
            gate_status.get(GATE_OF_METRIC[metric], "no gate" if metric in LOWER_IS_BETTER else "not run"))
        for metric in GATE_OF_METRIC
        if metric in candidate
    ]


def _number(value: float, signed: bool = False) -> str:
    if math.isnan(value):
        return "—"
    return f"{value:+.4f}" if signed else f"{value:.4f}"


def render(board: list[Row], champion_version: str | None, failed_gates: list[str]) -> list[str]:
    """The terminal lines: a heading, one row per metric, then the gates that did not pass."""
    if not board:
        return ["candidate vs champion: no candidate was scored in this session (no model gate ran)."]
    against = f"champion version {champion_version}" if champion_version else "no champion yet"
    lines = [f"candidate vs {against}:"]
    header = ("metric", "candidate", "champion", "delta", "verdict", "gate")
    table = [header] + [
        (r.metric, _number(r.value), _number(r.champion), _number(r.delta, signed=True), r.verdict, r.gate)
        for r in board
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    lines += ["  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in table]
    if failed_gates:
        shown = ", ".join(failed_gates[:8]) + (f" and {len(failed_gates) - 8} more" if len(failed_gates) > 8 else "")
        lines.append(f"  gates that did not pass: {shown}")
    else:
        lines.append("  every gate that ran passed")
    return lines
