"""The gate report's slices section: red segments first, one line each, then declared slices.

Reads `GateReport.slices` (the records of mlgate.evaluation.slice_records). A declared slice
with too few rows is listed as such: a slice left out would read as a slice that passed.
"""

from __future__ import annotations

from typing import Any

Report = Any  # a mlgate.session.report.GateReport


def _settings_line(section: dict[str, Any]) -> str:
    s = section.get("settings", {})
    return (
        f"Segments of the {section.get('holdout_rows', '?')} holdout rows with at least {s.get('min_rows')} rows; "
        f"a slice is red when its {section.get('loss', 'loss')} is worse than the champion's by more than "
        f"{s.get('tolerance')} (one-sided paired tests, Benjamini-Hochberg at {s.get('significance_level')})."
    )


def _discovered(section: dict[str, Any]) -> list[str]:
    discovered = section.get("discovered")
    if discovered is None:
        return []
    tested = ", ".join(f"{count} {family}" for family, count in discovered.get("tested", {}).items())
    lines = [f"Discovered against champion version {section.get('champion_version')}: "
             f"{discovered.get('segments_searched')} segments searched, tested {tested or 'none'}.", ""]
    red = discovered.get("red", [])
    if not red:
        return [*lines, "No segment regressed."]
    lines += [f"{index}. ❌ {finding['line']}" for index, finding in enumerate(red)]
    return [*lines, "", "Pin one as a declared slice: `mlgate slices pin \"SEGMENT\"` "
            "(or `--from-report artifacts/gate_report.json --index N`)."]


def _weakest(section: dict[str, Any]) -> list[str]:
    weakest = section.get("weakest")
    if weakest is None:
        return []
    lines = ["No champion to compare with: the candidate's weakest segments against its own average "
             "(reported, not gated).", ""]
    if not weakest:
        return [*lines, "No segment is worse than the average."]
    return lines + [f"{index}. {segment['line']}" for index, segment in enumerate(weakest)]


def _declared(section: dict[str, Any]) -> list[str]:
    declared = section.get("declared")
    if not declared:
        return []
    icons = {"ok": "✅", "red": "❌", "too few rows": "⚠️"}
    lines = ["Declared slices:", ""]
    lines += [f"- {icons.get(row['status'], '')} {row['status']}: {row['line']}" for row in declared]
    return lines


def slices_section(report: Report) -> list[str]:
    section = report.slices
    if not section:
        return []
    lines = ["## Slices", "", _settings_line(section), ""]
    for part in (_discovered(section), _weakest(section), _declared(section)):
        if part:
            lines += [*part, ""]
    return lines[:-1]
