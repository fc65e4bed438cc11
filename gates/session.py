"""The gate ledger and the end-of-session decision: promote, or say why not.

A session may promote only if it ran the *whole* gate set and every gate
passed. Anything that narrows the set (-k, -m, --lf, --sw, --deselect, a node
id, a gate file left out) or stops it early makes the session partial, and a
partial session never registers, promotes or bundles.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from gates.keys import SETTINGS_KEY
from model.session.report import GateReport, GateResult

NOT_RUN = "not run"


@dataclass
class GateLedger:
    gates_dir: Path
    # nodeid -> (family, name) of every collected gate, in collection order.
    collected: dict[str, tuple[str, str]] = field(default_factory=dict)
    collected_files: set[Path] = field(default_factory=set)
    outcomes: dict[str, dict[str, Any]] = field(default_factory=dict)
    deselected: int = 0
    # Filled by fixtures and gates as the session goes.
    client: Any = None
    run_id: str | None = None
    model: Any = None
    input_example: Any = None
    reports_dir: Path | None = None
    validation_json: Path | None = None
    quality: dict[str, float] = field(default_factory=dict)
    comparison: dict[str, Any] = field(default_factory=dict)
    perf: dict[str, Any] = field(default_factory=dict)
    # What the terminal summary prints.
    verdict: list[str] | None = None
    background: Any = None  # gates.background.Background, once gates are collected
    # The champion version the gates compared with (None: there was none).
    champion_seen: str | None = None

    def collect(self, items: list[pytest.Item]) -> None:
        for item in items:
            path = Path(item.path)
            if self.gates_dir not in path.parents:
                continue
            family = path.relative_to(self.gates_dir).parts[0]
            self.collected[item.nodeid] = (family, item.name)
            self.collected_files.add(path)

    def record(self, report: pytest.TestReport) -> None:
        if report.nodeid not in self.collected:
            return
        outcome = self.outcomes.setdefault(report.nodeid, {"status": NOT_RUN})
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
                )
            )
        return rows


LEDGER_KEY = pytest.StashKey[GateLedger]()


def incompleteness(config: pytest.Config, ledger: GateLedger) -> list[str]:
    """Why this session did not run the whole gate set; empty when it did."""
    reasons = []
    if config.option.keyword:
        reasons.append(f"-k {config.option.keyword!r} selected a subset of the gates.")
    if config.option.markexpr:
        reasons.append(f"-m {config.option.markexpr!r} selected a subset of the gates.")
    if config.getoption("lf", False):
        reasons.append("--lf reran only the last failures.")
    if config.getoption("stepwise", False) or config.getoption("stepwise_skip", False):
        reasons.append("--sw ran the gates stepwise.")
    if config.option.collectonly:
        reasons.append("--collect-only ran no gates.")
    if ledger.deselected:
        reasons.append(f"{ledger.deselected} gate(s) were deselected.")
    if any("::" in arg for arg in config.args):
        reasons.append("a node id selected part of a gate file.")
    every_file = {p for p in ledger.gates_dir.rglob("test_*.py")}
    left_out = sorted(str(p.relative_to(ledger.gates_dir)) for p in every_file - ledger.collected_files)
    if left_out:
        reasons.append(f"gate file(s) left out of the session: {', '.join(left_out)}.")
    return reasons


def _verdict_reasons(config: pytest.Config, ledger: GateLedger, results: list[GateResult], exitstatus: int) -> list[str]:
    reasons = incompleteness(config, ledger)
    not_green = [g for g in results if not g.passed]
    if not_green:
        shown = ", ".join(f"{g.name} ({g.status})" for g in not_green[:10])
        more = f" and {len(not_green) - 10} more" if len(not_green) > 10 else ""
        reasons.append(f"{len(not_green)} gate(s) did not pass: {shown}{more}.")
    if exitstatus != 0 and not reasons:
        reasons.append(f"pytest ended with exit status {int(exitstatus)}.")
    if not results and not reasons:
        reasons.append("no gates were collected.")
    return reasons


def finish_session(session: pytest.Session, exitstatus: int) -> None:
    """Promote on a full green run; otherwise write only the report and fail the session."""
    from model import tracking
    from model.session import promotion

    config = session.config
    settings = config.stash[SETTINGS_KEY]
    ledger = config.stash.get(LEDGER_KEY, None)
    if ledger is None:
        return
    trusted = ledger.background.finish() if ledger.background is not None else None
    results = ledger.results()
    reasons = _verdict_reasons(config, ledger, results, exitstatus)
    report = GateReport(
        dataset=settings.dataset,
        model_name=settings.model_name,
        run_id=ledger.run_id or "",
        gates=results,
        reasons=reasons,
        comparison=ledger.comparison,
        perf=ledger.perf,
    )
    artifacts = Path(settings.artifacts_dir)
    if not reasons:
        try:  # checked early to register nothing needlessly, and again just before crowning
            moved = promotion.champion_moved(settings, ledger.client, ledger.champion_seen)
        except Exception as error:  # the store is unreachable: promotion would fail anyway
            moved = f"cannot read the current champion: {error}."
        if moved:
            report.reasons.append(moved)
    if not report.reasons:
        try:
            version = promotion.promote(
                settings,
                ledger.client,
                ledger.run_id,
                ledger.model,
                ledger.input_example,
                report,
                promotion.SessionOutputs(ledger.reports_dir, ledger.validation_json, trusted),
                ledger.quality,
                ledger.champion_seen,
            )
        except promotion.ChampionMovedError as error:
            report.promoted = False
            report.reasons.append(str(error))
        except Exception as error:  # the store, the disk: the session fails, nothing moves
            report.promoted = False
            report.reasons.append(f"promotion failed: {type(error).__name__}: {error}")
        else:
            ledger.verdict = [
                f"All {len(results)} gates passed: registered {settings.model_name} version {version} "
                f"and moved @champion to it.",
                f"Bundle written to {artifacts}.",
            ]
    if not report.promoted:
        ledger.verdict = ["Promoted nothing: " + " ".join(report.reasons)]
        try:
            promotion.write_report_only(settings, report)
        except OSError as error:  # the verdict must still reach the run and the exit status
            ledger.verdict.append(f"Could not write the gate report to {artifacts}: {error}")
        else:
            ledger.verdict.append(f"The gate report is in {artifacts / 'gate_report.md'}.")
        if session.exitstatus == 0:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
    _record_on_run(settings, ledger, report, artifacts)


def _record_on_run(settings, ledger: GateLedger, report: GateReport, artifacts: Path) -> None:
    """Gate tags, the report and the final status on the session's run, if it opened one."""
    from model import tracking
    from model.session import promotion

    if ledger.run_id is None:
        return
    tags = promotion.gate_tags(report)
    tags["mlgate.gate_status"] = "passed" if report.promoted else "failed"
    if report.promoted:
        tags["mlgate.champion_version"] = str(report.champion_version)
    else:
        tags["mlgate.refused_because"] = " ".join(report.reasons)[: promotion.MAX_TAG_CHARS]
        failed = [g.name for g in report.failed]
        if failed:
            tags["mlgate.failed_gates"] = ", ".join(failed)[: promotion.MAX_TAG_CHARS]
    try:
        tracking.set_tags(ledger.client, ledger.run_id, tags)
        for name in ("gate_report.md", "gate_report.json"):
            if (artifacts / name).is_file():
                ledger.client.log_artifact(ledger.run_id, str(artifacts / name), artifact_path="gates")
        tracking.finish_run(ledger.client, ledger.run_id, passed=report.promoted)
    except Exception as error:  # the verdict stands; say that the run could not hold it
        ledger.verdict.append(f"Could not record the verdict on run {ledger.run_id}: {error}")
