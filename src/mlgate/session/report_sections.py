"""The gate report's Markdown sections, in reading order: each a function of the report.

Each returns its Markdown lines, or none when it has nothing to say; `GateReport.to_markdown`
writes them in the order of `SECTIONS`, after the verdict.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from mlgate.session.report_slices import slices_section

# A mlgate.session.report.GateReport, which imports this module: named here, not imported back.
Report = Any
VERDICT_ICONS = {"passed": "✅ passed", "failed": "❌ failed", "error": "💥 error", "skipped": "⏭️ skipped", "not run": "⛔ not run"}
CHAMPION = "champion"


# --- the sections, in reading order: each returns its Markdown lines, or none ------------------


def _families_section(report: Report) -> list[str]:
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


def _failures_section(report: Report) -> list[str]:
    if not report.failed:
        return []
    lines = ["## Failed gates", "", "| gate | value | threshold | reason |", "| --- | --- | --- | --- |"]
    for g in report.failed:
        reason = gate_reason(g.message) if g.message else VERDICT_ICONS.get(g.status, g.status)
        lines.append(
            f"| {g.family}: `{g.name}` | {fmt(g.value)} | {fmt(g.threshold)} | {cell(reason)} |"
        )
    return lines


def _task_section(report: Report) -> list[str]:
    if not report.task:
        return []
    dropped = report.task.get("rows_without_target") or 0
    note = f" {dropped} row(s) without a target were dropped before the split." if dropped else ""
    return [f"Task: **{report.task['task']}**. {cell(str(report.task.get('why', '')))}.{note}"]


def _champion_section(report: Report) -> list[str]:
    rows = report.comparison_rows()
    if not rows and not report.comparison:
        return []
    if report.scores.get(CHAMPION):
        champion = f"champion (version {cell(str(report.comparison.get('champion_version')))})"
        note = []
    else:  # the first champion, or one this data cannot score: the candidate's values stand alone
        champion = "champion"
        note = [f"No champion to compare with: {cell(str(report.comparison.get('champion_version') or 'none'))}.", ""]
    lines = [
        "## Candidate and champion",
        "",
        *note,
        f"| metric | candidate | {champion} | delta |",
        "| --- | --- | --- | --- |",
    ]
    lines += [
        f"| {r['metric']} | {fmt(r['candidate'])} | {fmt(r['champion'])} | {fmt(r['delta'], signed=True)} |"
        for r in rows
    ]
    c = report.comparison
    if c.get("holdout_note"):
        lines += ["", f"Compared on {c.get('compared_rows')} paired holdout rows: {cell(c['holdout_note'])}."]
    if c.get("champion_imported_from"):
        lines += [
            "",
            f"The champion is the production bundle from {c['champion_imported_from']}: gate run "
            f"`{c.get('champion_source_run_id') or '?'}`, version {c.get('champion_source_version') or '?'} "
            "where it was gated.",
        ]
    return lines


def _interval(row: dict[str, Any], signed: bool) -> str:
    low, high = row.get("low"), row.get("high")
    return "—" if low is None or high is None else f"{fmt(low, signed)} to {fmt(high, signed)}"


def _model_gates_section(report: Report) -> list[str]:
    """Each model gate's checks: the estimate, its interval and rows, what it was held to, the verdict."""
    if not report.evidence:
        return []
    lines = [
        "## Model gates",
        "",
        "Threshold gates show the estimate; paired gates show candidate minus the reference. "
        "Below the table: why each refusal, and each check whose interval straddles its threshold.",
        "",
        "| gate | check | estimate | interval | rows | threshold or margin | verdict |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in report.evidence:
        signed = not row["bound"].startswith(">")
        icon = VERDICT_ICONS["passed"] if row["verdict"] == "passed" else "❌ refused"
        lines.append(
            f"| {row['gate']} | {cell(row['check'])} | {fmt(row['estimate'], signed=signed)} | {_interval(row, signed)} "
            f"| {row['rows']} | {cell(row['bound'])} | {icon} |"
        )
    explained = [row["why"] for row in report.evidence if row["verdict"] != "passed" or "straddles" in row["why"]]
    return lines + ["", *(f"- {cell(one_line(why, 500))}" for why in explained)] if explained else lines


def _calibration_section(report: Report) -> list[str]:
    ece = report.calibration.get("ece")
    if not ece:
        return []
    shown = ", ".join(f"{name} {fmt(value)}" for name, value in ece.items())
    return [
        "## Calibration",
        "",
        f"Expected calibration error (top label, 10 equal-width bins): {shown}. "
        f"The reliability diagram is `{report.calibration.get('diagram')}` in the bundle.",
    ]


def _serving_section(report: Report) -> list[str]:
    if not report.serving:
        return []
    engine = report.serving.get("engine", "")
    why = report.serving.get("compile_skipped_because", "")
    shown = f" ({report.serving.get('precision')} precision)." if not why else f": {why}"
    return ["## Serving", "", f"Served by **{engine}**" + shown]


def _abandoned_section(report: Report) -> list[str]:
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


def _drift_section(report: Report) -> list[str]:
    from mlgate.monitoring.drift_compare import MovedBin

    if not report.drift:
        return []
    lines = ["## Training drift", ""]
    version = report.drift.get("champion_version")
    if version is None:
        return [*lines, "No reference: there is no champion with a drift profile to compare with."]
    lines += [
        f"The candidate's training data against champion version {version}'s profile, largest PSI first "
        f"(gate: max_training_drift_psi {fmt(report.drift.get('threshold'))}).",
        "",
        "| feature | PSI | bins that moved most (reference -> candidate) |",
        "| --- | --- | --- |",
    ]
    for row in report.drift.get("features", []):
        moved = "; ".join(MovedBin(**m).describe() for m in row["moved_bins"]) or "none"
        lines.append(f"| {cell(str(row['feature']))} | {fmt(row['psi'])} | {cell(moved)} |")
    return lines


def _data_verdict_section(report: Report) -> list[str]:
    verdict = report.data_verdict
    if not verdict.get("cached_from"):
        return []
    return ["## Data verdict", "",
            f"Reused from run `{verdict['cached_from']}`: the same dataset bytes, suite and judges "
            f"(key `{verdict.get('key', '')[:16]}`); great_expectations did not run in this session."]


def _samples_section(report: Report) -> list[str]:
    if not report.samples:
        return []
    lines = ["## Samples", "", "These gates needed examples, not every row, and drew a seeded sample "
             "(`gate_sample_rows`):", "", "| gate | rows drawn | of | seed |", "| --- | --- | --- | --- |"]
    for s in report.samples.values():
        lines.append(f"| {cell(str(s['gate']))} | {s['rows']:,} | {s['of']:,} | {s['seed']} |")
    return lines


def _perf_section(report: Report) -> list[str]:
    if not report.perf:
        return []
    lines = ["## Performance", "", "| measure | value | budget | champion's value |", "| --- | --- | --- | --- |"]
    for name, row in report.perf.items():
        lines.append(f"| {name} | {fmt(row.get('value'))} | {fmt(row.get('budget'))} | {fmt(row.get('champion'))} |")
    return lines


def _all_gates_section(report: Report) -> list[str]:
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
            f"| `{g.name}` | {fmt(g.value)} | {fmt(g.threshold)} | {VERDICT_ICONS.get(g.status, g.status)} |"
            for g in report.gates
            if g.family == family
        ]
    return [*lines, "", "</details>"]


# A new concern (drift, a terminal summary's extra numbers...) is one more function here,
# placed where a reader should meet it: before `_all_gates_section`, which stays last.
SECTIONS: list[Callable[[Report], list[str]]] = [
    _task_section,
    _families_section,
    _failures_section,
    _champion_section,
    _model_gates_section,
    _calibration_section,
    slices_section,
    _data_verdict_section,
    _serving_section,
    _drift_section,
    _abandoned_section,
    _samples_section,
    _perf_section,
    _all_gates_section,
]


# --- how values read in a table cell ----------------------------------------------------------


def gate_reason(message: str) -> str:
    """A gate's own words: pytest's `assert ...` introspection and the exception's name left out."""
    kept = []
    for line in message.splitlines():
        if line.lstrip().startswith("assert ") and kept:
            break
        kept.append(line)
    return one_line("\n".join(kept).removeprefix("AssertionError: ").removeprefix("Failed: "))


def one_line(text: str, limit: int = 300) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return text.replace("|", "\\|")


# A measured value longer than this (a column list) is cut in a table cell; JSON keeps it whole.
MAX_VALUE_CHARS = 80


def fmt(value: Any, signed: bool = False) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        if math.isnan(value):
            return "n/a"
        return f"{value:+.4g}" if signed else f"{value:.4g}"
    text = cell(str(value))
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 1] + "…"
