"""The gate report: the verdict first, then what a reader needs, then every gate folded.

Markdown for people (it is the CI job summary: the first screen must hold the
verdict and every failed gate), the same content as JSON for tools. The
Markdown is a list of sections, each a function of the report (`SECTIONS`, in
report_sections); `summary()` is their content as data, written beside the raw
fields in JSON.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mlgate.session.report_sections import CHAMPION, SECTIONS, VERDICT_ICONS

__all__ = ["CANDIDATE", "CHAMPION", "PASSED", "VERDICT_ICONS", "GateReport", "GateResult"]

PASSED = "passed"
CANDIDATE = "candidate"
# The holdout scores compared with the champion, in the order shown; per-class recall follows.
COMPARED_SCORES = ("accuracy", "macro_f1", "roc_auc", "rmse", "mae", "r2")
RECALL_PREFIX = "recall_"
# The serving latencies compared with the champion: perf measure -> shown as.
COMPARED_LATENCIES = {"serving_p50_seconds": "serving p50 (ms)", "serving_p99_seconds": "serving p99 (ms)"}


@dataclass(frozen=True)
class GateResult:
    family: str  # data, model, behaviour or perf: the gate folder
    name: str  # the test's name, parameters included
    status: str  # passed, failed, error, skipped or not run
    value: Any = None  # what was measured, when the gate measures one number
    threshold: Any = None  # the bound it was held to
    message: str = ""  # why it failed, first line
    duration_seconds: float = 0.0  # setup, call and teardown: a family's first gate pays for its fixtures

    @property
    def passed(self) -> bool:
        return self.status == PASSED


@dataclass
class GateReport:
    dataset: str
    model_name: str
    run_id: str
    gates: list[GateResult]
    promoted: bool = False
    # Why nothing was promoted; empty when promoted.
    reasons: list[str] = field(default_factory=list)
    champion_version: str | None = None
    comparison: dict[str, Any] = field(default_factory=dict)
    perf: dict[str, Any] = field(default_factory=dict)
    # What serves the candidate: engine (onnxruntime or scikit-learn), precision, why not compiled.
    serving: dict[str, Any] = field(default_factory=dict)
    # Versions earlier sessions left gating, tagged abandoned by this one: version -> why.
    abandoned: dict[str, str] = field(default_factory=dict)
    # Holdout scores by model ("candidate", "champion"): accuracy, macro_f1, roc_auc, recall_<label>...
    scores: dict[str, dict[str, float]] = field(default_factory=dict)
    # Label -> the class's name where the data names its labels (sklearn's target_names).
    class_names: dict[str, str] = field(default_factory=dict)
    # The training-drift gate: `champion_version` it compared with (None: no reference) and `features`,
    # rows of {feature, psi, moved_bins} sorted by PSI (mlgate.monitoring.drift_compare.drift_table).
    drift: dict[str, Any] = field(default_factory=dict)
    # The data verdict's key and, when it was reused from the store, the run that computed it.
    data_verdict: dict[str, Any] = field(default_factory=dict)
    # The holdout: `definition` (what decided each row's side, tracking.TAG_SPLIT), `train_rows`, `holdout_rows`.
    split: dict[str, Any] = field(default_factory=dict)
    # The model gates' evidence, one row per check: gate, check, estimate, low, high, rows, threshold
    # (or margin), verdict and why (mlgate.plugin.evidence).
    evidence: list[dict[str, Any]] = field(default_factory=list)
    # The calibration gate: ECE per model and the reliability diagram's file name.
    calibration: dict[str, Any] = field(default_factory=dict)
    # What the session judged: `task` (classification or regression), `why` (set, or inferred and how),
    # `rows_without_target` (dropped before the split).
    task: dict[str, Any] = field(default_factory=dict)
    # The slice gates (mlgate.evaluation.slice_records): settings, discovered red slices or a first
    # champion's weakest segments, declared slices' verdicts; also the bundle's slices.json.
    slices: dict[str, Any] = field(default_factory=dict)
    # Seeded samples gates drew instead of every row: gate -> {gate, rows, of, seed} (mlgate.sampling).
    samples: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def failed(self) -> list[GateResult]:
        return [g for g in self.gates if not g.passed]

    def verdict(self) -> str:
        """The whole outcome in one line."""
        if self.promoted:
            return (
                f"✅ **Promoted** `{self.model_name}` version {self.champion_version} to `@champion`: "
                f"all {len(self.gates)} gates passed on `{self.dataset}`."
            )
        return "❌ **Promoted nothing.** " + " ".join(self.reasons)

    def families(self) -> list[dict[str, Any]]:
        """One row per gate family, in the order the session ran them."""
        rows: dict[str, dict[str, Any]] = {}
        for g in self.gates:
            row = rows.setdefault(g.family, {"family": g.family, "passed": 0, "total": 0, "seconds": 0.0})
            row["passed"] += g.passed
            row["total"] += 1
            row["seconds"] += g.duration_seconds or 0.0
        return list(rows.values())

    def comparison_rows(self) -> list[dict[str, Any]]:
        """Every compared metric with both models' values and the delta; the candidate's even alone."""
        candidate, champion = self.scores.get(CANDIDATE, {}), self.scores.get(CHAMPION, {})
        recalls = sorted({k for k in (*candidate, *champion) if k.startswith(RECALL_PREFIX)})
        rows = [
            _compared(self._score_label(name), candidate.get(name), champion.get(name))
            for name in (*COMPARED_SCORES, *recalls)
            if name in candidate or name in champion
        ]
        for measure, label in COMPARED_LATENCIES.items():
            # Served side by side, both were timed at the same moments; alone, the candidate's SLO run.
            row = self.perf.get(measure.replace("_seconds", "_seconds_side_by_side")) or self.perf.get(measure)
            if row:
                rows.append(_compared(label, _ms(row.get("value")), _ms(row.get("champion"))))
        return rows

    def summary(self) -> dict[str, Any]:
        """The first screen as data: what `to_markdown` shows before the folded table."""
        return {
            "verdict": self.verdict(),
            "families": self.families(),
            "failed": [asdict(g) for g in self.failed],
            "champion_comparison": {
                "champion_version": self.comparison.get("champion_version") or "none",
                "p_value": self.comparison.get("p_value"),
                "rows": self.comparison_rows(),
            },
            "model_gates": self.evidence,
        }

    def to_json(self) -> str:
        document = {"summary": self.summary(), **asdict(self)}
        return json.dumps(document, indent=2, default=_plain) + "\n"

    def to_markdown(self) -> str:
        lines = ["# mlgate gate report", "", self.verdict()]
        for section in SECTIONS:
            body = section(self)
            if body:
                lines += ["", *body]
        return "\n".join(lines) + "\n"

    def write(self, folder: Path) -> list[Path]:
        folder.mkdir(parents=True, exist_ok=True)
        md, js = folder / "gate_report.md", folder / "gate_report.json"
        md.write_text(self.to_markdown(), encoding="utf-8")
        js.write_text(self.to_json(), encoding="utf-8")
        return [md, js]

    def _score_label(self, name: str) -> str:
        if not name.startswith(RECALL_PREFIX):
            return name
        label = name.removeprefix(RECALL_PREFIX)
        shown = self.class_names.get(label)
        return f"recall {shown} ({label})" if shown and shown != label else f"recall {label}"


def _compared(metric: str, candidate: float | None, champion: float | None) -> dict[str, Any]:
    delta = candidate - champion if candidate is not None and champion is not None else None
    return {"metric": metric, "candidate": candidate, "champion": champion, "delta": delta}


def _ms(seconds: Any) -> float | None:
    return float(seconds) * 1e3 if isinstance(seconds, int | float) else None


def _plain(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    return str(value)
