"""Which gates this session collected and how each one ended.

`GateOutcomes` is registered as a pytest plugin by gates/conftest.py: it only
observes (`pytest_deselected`, `pytest_runtest_logreport`) and never changes a
report. The verdict reads it at session finish.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from mlgate.session.report import GateResult

NOT_RUN = "not run"
FAMILIES = ("model", "data", "perf")
# A gate a team wrote at the top of gates/, without a family marker: counted like any other.
TEAM_FAMILY = "team"


@dataclass(eq=False)  # a plugin: pluggy keeps it in sets, so it hashes by identity
class GateOutcomes:
    gates_dir: Path
    rootpath: Path  # pytest's rootdir: reports name their file relative to it
    # nodeid -> (family, name) of every collected gate, in collection order.
    collected: dict[str, tuple[str, str]] = field(default_factory=dict)
    collected_files: set[Path] = field(default_factory=set)
    outcomes: dict[str, dict[str, Any]] = field(default_factory=dict)
    deselected: int = 0
    # Gate files pytest could not import: in the session, but none of their gates ran.
    uncollectable: set[Path] = field(default_factory=set)

    def family(self, item: pytest.Item) -> str | None:
        """A gate's family: its marker, else its folder under gates/; None for a test outside gates/."""
        path = Path(item.path)
        if self.gates_dir not in path.parents:
            return None
        for family in FAMILIES:
            if item.get_closest_marker(f"{family}_gate") is not None:
                return family
        parts = path.relative_to(self.gates_dir).parts
        return parts[0] if len(parts) > 1 else TEAM_FAMILY

    def collect(self, items: list[pytest.Item]) -> None:
        for item in items:
            family = self.family(item)
            if family is None:
                continue
            self.collected[item.nodeid] = (family, item.name)
            self.collected_files.add(Path(item.path))

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        path = self.rootpath / report.fspath
        if report.failed and path.suffix == ".py" and self.gates_dir in path.parents:
            self.uncollectable.add(path)

    def pytest_deselected(self, items: list[pytest.Item]) -> None:
        self.deselected += len(items)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.nodeid not in self.collected:
            return
        outcome = self.outcomes.setdefault(report.nodeid, {"status": NOT_RUN, "seconds": 0.0})
        outcome["seconds"] += report.duration
        for key, value in report.user_properties:
            outcome[key] = value
        if report.failed:
            outcome["status"] = "failed" if report.when == "call" else "error"
            crash = getattr(report.longrepr, "reprcrash", None)
            outcome["message"] = crash.message if crash is not None else str(report.longrepr)[:500]
        elif report.skipped:
            outcome["status"] = "skipped"
            outcome["message"] = str(report.longrepr[-1]) if isinstance(report.longrepr, tuple) else ""
        elif report.when == "call":
            outcome["status"] = "passed"

    def results(self) -> list[GateResult]:
        rows = []
        for nodeid, (family, name) in self.collected.items():
            outcome = self.outcomes.get(nodeid, {"status": NOT_RUN})
            rows.append(
                GateResult(
                    family=family,
                    name=name,
                    status=outcome["status"],
                    value=outcome.get("gate_value"),
                    threshold=outcome.get("gate_threshold"),
                    message=outcome.get("message", ""),
                    duration_seconds=outcome.get("seconds", 0.0),
                )
            )
        return rows
