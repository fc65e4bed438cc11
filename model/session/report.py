"""The gate report: one row per gate, as Markdown for people and JSON for tools."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

PASSED = "passed"
VERDICT_ICONS = {"passed": "✅ passed", "failed": "❌ failed", "error": "💥 error", "skipped": "⏭️ skipped", "not run": "⛔ not run"}


@dataclass(frozen=True)
class GateResult:
    family: str  # data, model, behaviour or perf: the gate folder
    name: str  # the test's name, parameters included
    status: str  # passed, failed, error, skipped or not run
    value: Any = None  # what was measured, when the gate measures one number
    threshold: Any = None  # the bound it was held to
    message: str = ""  # why it failed, first line

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
    # The training-drift gate: `champion_version` it compared with (None: no reference) and `features`,
    # rows of {feature, psi, moved_bins} sorted by PSI (monitoring.drift.drift_table).
    drift: dict[str, Any] = field(default_factory=dict)

    @property
    def failed(self) -> list[GateResult]:
        return [g for g in self.gates if not g.passed]

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, default=_plain) + "\n"

    def to_markdown(self) -> str:
        verdict = (
            f"**Promoted** `{self.model_name}` version {self.champion_version} to `@champion`."
            if self.promoted
            else "**Promoted nothing.** " + " ".join(self.reasons)
        )
        passed = sum(g.passed for g in self.gates)
        lines = [
            "# mlgate gate report",
            "",
            f"Dataset `{self.dataset}`, run `{self.run_id}`: {passed}/{len(self.gates)} gates passed.",
            "",
            verdict,
            "",
            "| family | gate | value | threshold | verdict |",
            "| --- | --- | --- | --- | --- |",
        ]
        for g in self.gates:
            lines.append(
                f"| {g.family} | `{g.name}` | {_fmt(g.value)} | {_fmt(g.threshold)} | "
                f"{VERDICT_ICONS.get(g.status, g.status)} |"
            )
        failures = [g for g in self.failed if g.message]
        if failures:
            lines += ["", "## Failures", ""]
            lines += [f"- `{g.name}`: {_one_line(g.message)}" for g in failures]
        if self.comparison:
            c = self.comparison
            lines += [
                "",
                "## Champion comparison",
                "",
                "| model | accuracy |",
                "| --- | --- |",
                f"| candidate | {_fmt(c.get('candidate_accuracy'))} |",
                f"| champion (version {c.get('champion_version', 'none')}) | {_fmt(c.get('champion_accuracy'))} |",
                f"| delta | {_fmt(c.get('accuracy_delta'), signed=True)} |",
                "",
                f"McNemar exact p-value (candidate worse): {_fmt(c.get('p_value'))}",
            ]
        if self.serving:
            engine = self.serving.get("engine", "")
            why = self.serving.get("compile_skipped_because", "")
            lines += ["", "## Serving", ""]
            lines.append(
                f"Served by **{engine}**" + (f" ({self.serving.get('precision')} precision)." if not why else f": {why}")
            )
        if self.drift:
            lines += ["", "## Training drift", ""]
            version = self.drift.get("champion_version")
            if version is None:
                lines.append("No reference: there is no champion with a drift profile to compare with.")
            else:
                lines += [
                    f"The candidate's training data against champion version {version}'s profile, largest PSI first "
                    f"(gate: max_training_drift_psi {_fmt(self.drift.get('threshold'))}).",
                    "",
                    "| feature | PSI | bins that moved most (reference -> candidate) |",
                    "| --- | --- | --- |",
                ]
                for row in self.drift.get("features", []):
                    moved = "; ".join(
                        f"{m['bin']} {m['expected']:.1%} -> {m['actual']:.1%}" for m in row["moved_bins"]
                    ) or "none"
                    cells = (row["feature"], _fmt(row["psi"]), moved)
                    lines.append("| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |")
        if self.perf:
            lines += ["", "## Performance", "", "| measure | value | budget | champion's value |", "| --- | --- | --- | --- |"]
            for name, row in self.perf.items():
                lines.append(
                    f"| {name} | {_fmt(row.get('value'))} | {_fmt(row.get('budget'))} | {_fmt(row.get('champion'))} |"
                )
        return "\n".join(lines) + "\n"

    def write(self, folder: Path) -> list[Path]:
        folder.mkdir(parents=True, exist_ok=True)
        md, js = folder / "gate_report.md", folder / "gate_report.json"
        md.write_text(self.to_markdown(), encoding="utf-8")
        js.write_text(self.to_json(), encoding="utf-8")
        return [md, js]


def _plain(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    return str(value)


def _one_line(text: str, limit: int = 300) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _fmt(value: Any, signed: bool = False) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        if math.isnan(value):
            return "n/a"
        return f"{value:+.4g}" if signed else f"{value:.4g}"
    return str(value)
