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
    # The data verdict's key and, when it was reused from the store, the run that computed it.
    data_verdict: dict[str, Any] = field(default_factory=dict)

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
        lines += _data_verdict_lines(self.data_verdict)
        if self.serving:
            engine = self.serving.get("engine", "")
            why = self.serving.get("compile_skipped_because", "")
            lines += ["", "## Serving", ""]
            lines.append(
                f"Served by **{engine}**" + (f" ({self.serving.get('precision')} precision)." if not why else f": {why}")
            )
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


def _data_verdict_lines(verdict: dict[str, Any]) -> list[str]:
    if not verdict.get("cached_from"):
        return []
    return ["", "## Data verdict", "",
            f"Reused from run `{verdict['cached_from']}`: the same dataset bytes, suite and judges "
            f"(key `{verdict.get('key', '')[:16]}`); great_expectations did not run in this session."]


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
