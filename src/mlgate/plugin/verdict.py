"""The end-of-session decision: promote, or say why not.

A session may promote only if it ran the *whole* gate set and every gate
passed. Anything that narrows the set (-k, -m, --lf, --sw, --deselect, a node
id, a gate file left out) or stops it early makes the session partial, and a
partial session never registers, promotes or bundles.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

import mlgate.plugin.stash as stash
from mlgate.plugin.candidate import Candidate, Findings, MissingPiece
from mlgate.plugin.outcomes import GateOutcomes
from mlgate.session.report import GateReport, GateResult

# The findings the report carries as they are, under the same names (latency_seconds feeds only the plot).
REPORTED_FINDINGS = (
    "comparison", "perf", "serving", "abandoned", "scores", "class_names", "drift",
    "data_verdict", "split", "evidence", "calibration", "task", "slices", "samples",
)


def incompleteness(config: pytest.Config, outcomes: GateOutcomes) -> list[str]:
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
    if outcomes.deselected:
        reasons.append(f"{outcomes.deselected} gate(s) were deselected.")
    if any("::" in arg for arg in config.args):
        reasons.append("a node id selected part of a gate file.")
    def shown(paths) -> list[str]:
        return sorted(str(p.relative_to(outcomes.gates_dir)) for p in paths)

    broken = shown(outcomes.uncollectable)
    if broken:
        reasons.append(f"gate file(s) that could not be collected (see the errors above): {', '.join(broken)}.")
    every_file = set(outcomes.gates_dir.rglob("test_*.py"))
    # Only files the session never got to: one that failed to import is named above, not here.
    left_out = shown(every_file - outcomes.collected_files - outcomes.uncollectable)
    if left_out:
        reasons.append(f"gate file(s) left out of the session: {', '.join(left_out)}.")
    return reasons


def refusals(config: pytest.Config, outcomes: GateOutcomes, results: list[GateResult], exitstatus: int) -> list[str]:
    """Every reason this session may not promote; empty for a whole, green gate set."""
    reasons = incompleteness(config, outcomes)
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
    config = session.config
    outcomes = config.stash.get(stash.OUTCOMES_KEY, None)
    if outcomes is None:
        return
    settings = config.stash[stash.SETTINGS_KEY]
    candidate = config.stash[stash.CANDIDATE_KEY]
    findings = config.stash[stash.FINDINGS_KEY]
    background = config.stash.get(stash.BACKGROUND_KEY, None)
    trusted = background.finish() if background is not None else None
    results = outcomes.results()
    report = _gate_report(settings, candidate, findings, results, refusals(config, outcomes, results, exitstatus))
    artifacts = Path(settings.artifacts_dir)
    # Before promotion: once it promotes, the champion is the candidate itself.
    config.stash[stash.SCOREBOARD_KEY] = _scoreboard(settings, candidate, results)
    verdict: list[str] = []
    if not report.reasons:
        report, verdict = _promote(settings, candidate, findings, report, trusted, artifacts)
    if not report.promoted:
        verdict = _refuse(session, settings, report, artifacts)
    if findings.task:
        verdict.insert(0, f"Task: {findings.task['task']} ({findings.task['why']}).")
    verdict += [f"Tagged {settings.model_name} version {v} abandoned: {why}." for v, why in report.abandoned.items()]
    verdict += _record_on_run(settings, candidate, report, artifacts)
    if findings.data_verdict.get("cached_from"):
        verdict.append(
            f"Data verdict reused from run {findings.data_verdict['cached_from']} (same dataset bytes, suite and "
            "judges): great_expectations was not imported."
        )
    config.stash[stash.VERDICT_KEY] = verdict


def _gate_report(settings, candidate: Candidate, findings: Findings, results: list[GateResult], reasons: list[str]) -> GateReport:
    """The session's report as the gates and their findings left it, not yet promoted."""
    return GateReport(
        dataset=settings.dataset_shown,
        model_name=settings.model_name,
        run_id=candidate.run_id if candidate.has("run_id") else "",
        gates=results,
        reasons=reasons,
        **{name: getattr(findings, name) for name in REPORTED_FINDINGS},
    )


def _refuse(session: pytest.Session, settings, report: GateReport, artifacts: Path) -> list[str]:
    """Nothing promoted: the report alone in the artifacts, a failed session; returns the verdict's lines."""
    from mlgate.session import promotion

    verdict = ["Promoted nothing: " + " ".join(report.reasons)]
    try:
        promotion.write_report_only(settings, report)
    except OSError as error:  # the verdict must still reach the run and the exit status
        verdict.append(f"Could not write the gate report to {artifacts}: {error}")
    else:
        verdict.append(f"The gate report is in {artifacts / 'gate_report.md'}.")
    if session.exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    return verdict


def _scoreboard(settings, candidate: Candidate, results: list[GateResult]) -> list[str]:
    """The candidate's holdout scores against those the current champion recorded, as terminal lines."""
    from mlgate import tracking
    from mlgate.session import scoreboard

    failed = [g.name for g in results if g.status not in ("passed", "not run")]
    if not candidate.has("quality"):
        return scoreboard.render([], None, failed)
    champion, version = None, None
    try:
        registered = tracking.champion_version(settings, candidate.client)
    except Exception as error:  # the scoreboard informs; it must not cost the verdict
        return [f"candidate vs champion: cannot read the champion ({type(error).__name__}: {error})."]
    if registered is not None:
        champion, version = tracking.gate_scores(dict(registered.tags)), str(registered.version)
    status = {g.name: g.status for g in results}
    return scoreboard.render(scoreboard.rows(candidate.quality, champion, status), version, failed)


def _promote(
    settings, candidate: Candidate, findings: Findings, report: GateReport, trusted, artifacts: Path
) -> tuple[GateReport, list[str]]:
    """The report as it ends (promoted, or with why not among its reasons) and the verdict lines."""
    from mlgate.session import promotion

    def refused(reason: str) -> tuple[GateReport, list[str]]:
        return dataclasses.replace(report, reasons=[*report.reasons, reason]), []

    try:
        (client, run_id, model, input_example, reports_dir, quality, champion_seen, compilation, profile) = (
            candidate.require(
                "client", "run_id", "model", "input_example", "reports_dir", "quality", "champion_seen", "compilation",
                "drift_profile",
            )
        )
    except MissingPiece as error:
        return refused(f"{error}.")
    try:  # checked early to register nothing needlessly, and again just before crowning
        moved = promotion.champion_moved(settings, client, champion_seen)
    except Exception as error:  # the store is unreachable: promotion would fail anyway
        moved = f"cannot read the current champion: {_why(settings, error)}."
    if moved:
        return refused(moved)
    outputs = promotion.SessionOutputs(
        reports_dir,
        candidate.validation_json,
        trusted,
        compilation.compiled,
        draw_plots=candidate.draw_plots if candidate.has("draw_plots") else None,
        latency_seconds=findings.latency_seconds,
        drift_profile=profile,
    )
    try:
        done = promotion.promote(
            settings, client, run_id, model, input_example, report, outputs, quality, champion_seen
        )
    except Exception as error:  # the store, the disk: the session fails, nothing moves
        return refused(f"promotion failed: {_why(settings, error, with_type=True)}")
    if not done.crowned:
        return done.report, []
    return done.report, [
        f"All {len(report.gates)} gates passed: registered {settings.model_name} version {done.version} "
        f"and moved @champion to it.",
        f"Bundle written to {artifacts}.",
    ]


def _why(settings, error: BaseException, with_type: bool = False) -> str:
    """An error as the verdict shows it: a lost tracking server in one sentence, else the error."""
    from mlgate import tracking

    lost = tracking.unreachable(error, settings.tracking_uri)
    if lost:
        return lost
    return f"{type(error).__name__}: {error}" if with_type else str(error)


def _record_on_run(settings, candidate: Candidate, report: GateReport, artifacts: Path) -> list[str]:
    """Gate tags, the report and the final status on the session's run, if it opened one."""
    from mlgate import tracking
    from mlgate.session import promotion

    if not candidate.has("run_id"):
        return []
    tags = promotion.gate_tags(report)
    if report.promoted:
        tags[tracking.TAG_GATE_STATUS] = tracking.STATUS_PASSED
        tags[tracking.TAG_CHAMPION_VERSION] = str(report.champion_version)
    else:
        tags[tracking.TAG_GATE_STATUS] = tracking.STATUS_FAILED
        tags[tracking.TAG_REFUSED_BECAUSE] = " ".join(report.reasons)
        failed = [g.name for g in report.failed]
        if failed:
            tags[tracking.TAG_FAILED_GATES] = ", ".join(failed)
    try:
        tracking.set_tags(candidate.client, candidate.run_id, tags)
        for name in ("gate_report.md", "gate_report.json"):
            if (artifacts / name).is_file():
                tracking.log_files(candidate.client, candidate.run_id, artifacts / name, "gates")
        tracking.finish_run(candidate.client, candidate.run_id, passed=report.promoted)
    except Exception as error:  # the verdict stands; say that the run could not hold it
        return [f"Could not record the verdict on run {candidate.run_id}: {_why(settings, error)}"]
    return []
