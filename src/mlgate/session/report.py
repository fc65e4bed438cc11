"""The gate report: the verdict first, then what a reader needs, then every gate folded.

Markdown for people (it is the CI job summary: the first screen must hold the
verdict and every failed gate), the same content as JSON for tools. The
Markdown is a list of sections, each a function of the report (`SECTIONS`);
`summary()` is their content as data, written beside the raw fields in JSON.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

PASSED = "passed"
VERDICT_ICONS = {"passed": "✅ passed", "failed": "❌ failed", "error": "💥 error", "skipped": "⏭️ skipped", "not run": "⛔ not run"}
CANDIDATE, CHAMPION = "candidate", "champion"
# The holdout scores compared with the champion, in the order shown; per-class recall follows.
COMPARED_SCORES = ("accuracy", "macro_f1", "roc_auc")
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
    # rows of {feature, psi, moved_bins} sorted by PSI (mlgate.monitoring.drift.drift_table).
    drift: dict[str, Any] = field(default_factory=dict)
    # The data verdict's key and, when it was reused from the store, the run that computed it.
    data_verdict: dict[str, Any] = field(default_factory=dict)

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


# --- the sections, in reading order: each returns its Markdown lines, or none ------------------


def _families_section(report: GateReport) -> list[str]:
    lines = [
        f"Dataset `{report.dataset}`, run `{report.run_id}`.",
        "",
        "| family | passed | time |",
        "| --- | --- | --- |",
    ]
    for row in report.families():
        mark = "✅" if row["passed"] == row["total"] else "❌"
        lines.append(f"| {row['family']} | {mark} {row['passed']}/{row['total']} | {row['seconds']:.1f} s |")
    return lines


def _failures_section(report: GateReport) -> list[str]:
    if not report.failed:
        return []
    lines = ["## Failed gates", "", "| gate | value | threshold | reason |", "| --- | --- | --- | --- |"]
    for g in report.failed:
        reason = _reason(g.message) if g.message else VERDICT_ICONS.get(g.status, g.status)
        lines.append(
            f"| {g.family}: `{g.name}` | {_fmt(g.value)} | {_fmt(g.threshold)} | {_cell(reason)} |"
        )
    return lines


def _champion_section(report: GateReport) -> list[str]:
    rows = report.comparison_rows()
    if not rows and not report.comparison:
        return []
    if report.scores.get(CHAMPION):
        champion = f"champion (version {_cell(str(report.comparison.get('champion_version')))})"
        note = []
    else:  # the first champion, or one this data cannot score: the candidate's values stand alone
        champion = "champion"
        note = [f"No champion to compare with: {_cell(str(report.comparison.get('champion_version') or 'none'))}.", ""]
    lines = [
        "## Candidate and champion",
        "",
        *note,
        f"| metric | candidate | {champion} | delta |",
        "| --- | --- | --- | --- |",
    ]
    lines += [
        f"| {r['metric']} | {_fmt(r['candidate'])} | {_fmt(r['champion'])} | {_fmt(r['delta'], signed=True)} |"
        for r in rows
    ]
    if report.comparison.get("p_value") is not None:
        lines += ["", f"McNemar exact p-value (candidate worse): {_fmt(report.comparison['p_value'])}"]
    c = report.comparison
    if c.get("champion_imported_from"):
        lines += [
            "",
            f"The champion is the production bundle from {c['champion_imported_from']}: gate run "
            f"`{c.get('champion_source_run_id') or '?'}`, version {c.get('champion_source_version') or '?'} "
            "where it was gated.",
        ]
    return lines


def _serving_section(report: GateReport) -> list[str]:
    if not report.serving:
        return []
    engine = report.serving.get("engine", "")
    why = report.serving.get("compile_skipped_because", "")
    shown = f" ({report.serving.get('precision')} precision)." if not why else f": {why}"
    return ["## Serving", "", f"Served by **{engine}**" + shown]


def _abandoned_section(report: GateReport) -> list[str]:
    if not report.abandoned:
        return []
    return [
        "## Abandoned versions",
        "",
        *(
            f"- version {version}: tagged `abandoned`, {why}; the registry keeps it, `@champion` is not moved."
            for version, why in report.abandoned.items()
        ),
    ]


def _drift_section(report: GateReport) -> list[str]:
    from mlgate.monitoring.drift import MovedBin

    if not report.drift:
        return []
    lines = ["## Training drift", ""]
    version = report.drift.get("champion_version")
    if version is None:
        return [*lines, "No reference: there is no champion with a drift profile to compare with."]
    lines += [
        f"The candidate's training data against champion version {version}'s profile, largest PSI first "
        f"(gate: max_training_drift_psi {_fmt(report.drift.get('threshold'))}).",
        "",
        "| feature | PSI | bins that moved most (reference -> candidate) |",
        "| --- | --- | --- |",
    ]
    for row in report.drift.get("features", []):
        moved = "; ".join(MovedBin(**m).describe() for m in row["moved_bins"]) or "none"
        lines.append(f"| {_cell(str(row['feature']))} | {_fmt(row['psi'])} | {_cell(moved)} |")
    return lines


def _data_verdict_section(report: GateReport) -> list[str]:
    verdict = report.data_verdict
    if not verdict.get("cached_from"):
        return []
    return ["## Data verdict", "",
            f"Reused from run `{verdict['cached_from']}`: the same dataset bytes, suite and judges "
            f"(key `{verdict.get('key', '')[:16]}`); great_expectations did not run in this session."]


def _perf_section(report: GateReport) -> list[str]:
    if not report.perf:
        return []
    lines = ["## Performance", "", "| measure | value | budget | champion's value |", "| --- | --- | --- | --- |"]
    for name, row in report.perf.items():
        lines.append(f"| {name} | {_fmt(row.get('value'))} | {_fmt(row.get('budget'))} | {_fmt(row.get('champion'))} |")
    return lines


def _all_gates_section(report: GateReport) -> list[str]:
    """Every gate, folded (GitHub renders <details> closed), one table per family."""
    if not report.gates:
        return []
    lines = [
        "<details>",
        f"<summary>All {len(report.gates)} gates, by family</summary>",
    ]
    for row in report.families():
        family = row["family"]
        lines += ["", f"### {family} ({row['passed']}/{row['total']} passed)", ""]
        lines += ["| gate | value | threshold | verdict |", "| --- | --- | --- | --- |"]
        lines += [
            f"| `{g.name}` | {_fmt(g.value)} | {_fmt(g.threshold)} | {VERDICT_ICONS.get(g.status, g.status)} |"
            for g in report.gates
            if g.family == family
        ]
    return [*lines, "", "</details>"]


# A new concern (drift, a terminal summary's extra numbers...) is one more function here,
# placed where a reader should meet it: before `_all_gates_section`, which stays last.
SECTIONS: list[Callable[[GateReport], list[str]]] = [
    _families_section,
    _failures_section,
    _champion_section,
    _data_verdict_section,
    _serving_section,
    _drift_section,
    _abandoned_section,
    _perf_section,
    _all_gates_section,
]


def _compared(metric: str, candidate: float | None, champion: float | None) -> dict[str, Any]:
    delta = candidate - champion if candidate is not None and champion is not None else None
    return {"metric": metric, "candidate": candidate, "champion": champion, "delta": delta}


def _ms(seconds: Any) -> float | None:
    return float(seconds) * 1e3 if isinstance(seconds, int | float) else None


def _plain(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    return str(value)


def _reason(message: str) -> str:
    """A gate's own words: pytest's `assert ...` introspection and the exception's name left out."""
    kept = []
    for line in message.splitlines():
        if line.lstrip().startswith("assert ") and kept:
            break
        kept.append(line)
    return _one_line("\n".join(kept).removeprefix("AssertionError: ").removeprefix("Failed: "))


def _one_line(text: str, limit: int = 300) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return text.replace("|", "\\|")


# A measured value longer than this (a column list) is cut in a table cell; JSON keeps it whole.
MAX_VALUE_CHARS = 80


def _fmt(value: Any, signed: bool = False) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        if math.isnan(value):
            return "n/a"
        return f"{value:+.4g}" if signed else f"{value:.4g}"
    text = _cell(str(value))
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 1] + "…"
