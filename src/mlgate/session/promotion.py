"""What a gate session leaves behind: the champion and the bundle, or the report alone."""

from __future__ import annotations

import dataclasses
import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlgate.session.report import GateReport, GateResult
from mlgate.settings import Settings

# A swap is two renames and a delete; a session waits this long for another's.
BUNDLE_LOCK_WAIT_SECONDS = 120.0
SLICES_FILE = "slices.json"


@dataclass(frozen=True)
class SessionOutputs:
    """Files the session made on the way, copied into the bundle on green."""

    reports_dir: Path  # classification_report.txt, metrics.json, plots
    validation_json: Path | None  # the data gate's result
    trusted_types: list[str] | None = None  # skops types, if already computed and checked
    compiled: Any = None  # the CompiledModel that passed the parity gate; saved with the model
    # Redraws the holdout plots into a folder, titled with the registered version.
    draw_plots: Callable[[Path, str], Any] | None = None
    # The perf gates' raw one-request timings by model ("candidate", "champion"): the latency plot.
    latency_seconds: dict[str, list[float]] = dataclasses.field(default_factory=dict)
    drift_profile: Path | None = None  # drift_profile.json; saved with the model and in the bundle


@dataclass(frozen=True)
class Promotion:
    """What `promote` did: crowned `version`, or registered it and refused to crown (`refused_because`)."""

    version: str
    report: GateReport  # the report as written: promoted, or with the refusal among its reasons
    refused_because: str = ""

    @property
    def crowned(self) -> bool:
        return not self.refused_because


def gate_tag_value(gate: GateResult) -> str:
    parts = [gate.status]
    if gate.value is not None:
        parts.append(f"value={gate.value}")
    if gate.threshold is not None:
        parts.append(f"threshold={gate.threshold}")
    return " ".join(parts)


def gate_tags(report: GateReport) -> dict[str, str]:
    from mlgate import tracking

    return {tracking.gate_tag_key(g.family, g.name): gate_tag_value(g) for g in report.gates}


def _replace_folder(staged: Path, final: Path) -> None:
    """Swap `staged` in for `final`; a reader never sees a half-written bundle.

    Under a lock beside it: sessions finishing together in one checkout would
    otherwise rename each other's folders away mid-swap. The last one wins.
    """
    from mlgate.locking import exclusive

    old = final.with_name(final.name + ".old")
    with exclusive(final.with_name(final.name + ".lock"), BUNDLE_LOCK_WAIT_SECONDS):
        shutil.rmtree(old, ignore_errors=True)
        if final.exists():
            final.rename(old)
        staged.rename(final)
        shutil.rmtree(old, ignore_errors=True)


def _staging(settings: Settings) -> Path:
    artifacts = Path(settings.artifacts_dir)
    staged = artifacts.with_name(f"{artifacts.name}.tmp-{time.time_ns()}")
    staged.mkdir(parents=True)
    return staged


def write_report_only(settings: Settings, report: GateReport) -> Path:
    """A red session: the gate report replaces any earlier bundle, nothing else."""
    staged = _staging(settings)
    report.write(staged)
    _replace_folder(staged, Path(settings.artifacts_dir))
    return Path(settings.artifacts_dir)


def _moved_message(expected: str | None, now: str | None, how: str = "") -> str:
    return (
        f"@champion moved from version {expected or 'none'} to {now}{how} while this session ran; "
        "rerun the gates to compare with the new champion."
    )


def _draw_plots(settings: Settings, outputs: SessionOutputs, folder: Path, version: str) -> list[Path]:
    """The bundle's plots, each titled with the model name, its registered version and the dataset."""
    from mlgate.session.plots import LATENCY_PLOT, latency_distribution, plot_title

    drawn = list(outputs.draw_plots(folder, version)) if outputs.draw_plots is not None else []
    latency = latency_distribution(
        outputs.latency_seconds, folder / LATENCY_PLOT, plot_title(settings.model_name, version, settings.dataset_shown)
    )
    return drawn + ([latency] if latency is not None else [])


def champion_moved(settings, client, expected: str | None) -> str:
    """Why not to crown, if `@champion` is no longer the version the gates compared with."""
    from mlgate import tracking

    current = tracking.champion_version(settings, client)
    now = str(current.version) if current is not None else None
    if now == expected:
        return ""
    return _moved_message(expected, now)


def claim_or_refuse(settings, client, expected: str | None, version: str) -> str:
    """Why not to crown `version`: the champion moved, or another session claimed its succession first."""
    from mlgate import tracking

    moved = champion_moved(settings, client, expected)
    if moved:
        return moved
    holder = tracking.claim_succession(settings, client, expected, version)
    return _moved_message(expected, holder, " (another session claimed the succession first)") if holder else ""


def crown_or_refuse(settings, client, expected: str | None, version: str) -> str:
    """Move `@champion` to `version` if it may succeed `expected` (claim_or_refuse); why not, or "".

    Either way the version ends tagged with its verdict: refused (and why), or promoted.
    """
    from mlgate import tracking

    refused = claim_or_refuse(settings, client, expected, version)
    if refused:
        tracking.tag_version(
            client,
            settings.model_name,
            version,
            {tracking.TAG_REFUSED_BECAUSE: refused, tracking.TAG_VERDICT: tracking.VERDICT_REFUSED},
        )
        return refused
    tracking.crown(settings, client, version)
    # Killed before this line, the version holds @champion: the next session tags it promoted.
    tracking.tag_version(client, settings.model_name, version, {tracking.TAG_VERDICT: tracking.VERDICT_PROMOTED})
    return ""


def promote(
    settings: Settings,
    client,
    run_id: str,
    model,
    input_example,
    report: GateReport,
    outputs: SessionOutputs,
    quality: dict[str, float],
    expected_champion: str | None,
) -> Promotion:
    """Register, bundle, then move `@champion`: the alias moves only once all else is done.

    Right before the alias moves, it is checked to still be on `expected_champion`,
    the version the champion gate compared with, and the succession of that
    champion is claimed (tracking.claim_succession: atomic, as the alias move is
    not): of sessions racing, only the one holding the claim crowns; the others
    refuse instead of replacing a champion they never saw, their versions stay
    registered, tagged with why. `report` is not changed; the
    Promotion carries the report as written. Any other failure raises, and then
    neither the bundle nor the alias has moved.
    """
    staged = _staging(settings)
    compiled_dir = staged.with_name(staged.name + "-compiled")
    version = None
    try:
        version, model_uri = _register(settings, client, run_id, model, input_example, report, outputs, quality, compiled_dir)
        promoted = _stage_bundle(settings, client, run_id, report, outputs, staged, model_uri, version)
        # The bundle swap can fail (the disk, a stale artifacts.old): before the alias, not after it.
        _replace_folder(staged, Path(settings.artifacts_dir))
        moved = crown_or_refuse(settings, client, expected_champion, version)
        if moved:  # the caller writes the report alone over the bundle just swapped in
            refused = dataclasses.replace(report, reasons=[*report.reasons, moved])
            return Promotion(version, refused, refused_because=moved)
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        if version is not None:  # registered, never crowned: say so now rather than leave it gating
            _tag_failed(settings, client, version)
        raise
    finally:
        shutil.rmtree(compiled_dir, ignore_errors=True)
    return Promotion(version, promoted)


def _register(
    settings: Settings, client, run_id: str, model, input_example, report: GateReport, outputs: SessionOutputs,
    quality: dict[str, float], compiled_dir: Path,
) -> tuple[str, str]:
    """Log the model with its compiled form and drift profile, and register it tagged gating: (version, model URI)."""
    from mlgate import tracking
    from mlgate.serving.predict import engine_of
    from mlgate.session.abandoned import this_session

    version_tags = gate_tags(report)
    version_tags.update({tracking.metric_tag_key(k): repr(v) for k, v in quality.items()})
    version_tags[tracking.TAG_GATED_AT] = str(time.time())
    version_tags[tracking.TAG_DATASET] = settings.dataset_shown
    if report.split.get("definition"):  # the next session's champion gate reads which rows it trained on
        version_tags[tracking.TAG_SPLIT] = report.split["definition"]
    version_tags[tracking.TAG_SERVING_ENGINE] = engine_of(outputs)
    declared = report.slices.get("declared")
    if declared:  # `mlgate history` lists what each version was held to
        version_tags[tracking.TAG_DECLARED_SLICES] = "; ".join(f"{d['name']} ({d['status']})" for d in declared)
    extra_files = sorted(outputs.compiled.save(compiled_dir).iterdir()) if outputs.compiled is not None else []
    if outputs.drift_profile is not None:  # beside the compiled form: tracking.load_drift_profile reads it there
        extra_files.append(outputs.drift_profile)
    return tracking.log_and_register(
        settings, client, run_id, model, input_example, version_tags, outputs.trusted_types, extra_files or None,
        gating_session=this_session(),
    )


def _stage_bundle(
    settings: Settings, client, run_id: str, report: GateReport, outputs: SessionOutputs, staged: Path,
    model_uri: str, version: str,
) -> GateReport:
    """The bundle in `staged`: the registered model, the reports, plots and profile; returns the report it holds."""
    from mlgate import tracking

    tracking.download_model(model_uri, staged / "model", settings.tracking_uri)
    for item in outputs.reports_dir.iterdir():
        shutil.copy2(item, staged / item.name)
    if outputs.validation_json is not None:
        shutil.copy2(outputs.validation_json, staged / "data_validation.json")
    for plot in _draw_plots(settings, outputs, staged, f"version {version}"):  # drawn once, here: a red session
        tracking.log_files(client, run_id, plot, "reports")  # never pays for matplotlib
    if outputs.drift_profile is not None:  # also in model/extra_files/; here where a reader looks first
        shutil.copy2(outputs.drift_profile, staged / outputs.drift_profile.name)
    if report.slices:  # the slice gates' records on their own, for tools that read only them
        (staged / SLICES_FILE).write_text(json.dumps(report.slices, indent=2, default=str) + "\n", encoding="utf-8")
    promoted = dataclasses.replace(report, promoted=True, champion_version=version)
    promoted.write(staged)
    return promoted


def _tag_failed(settings: Settings, client, version: str) -> None:
    from mlgate import tracking

    try:
        tracking.tag_version(client, settings.model_name, version, {tracking.TAG_VERDICT: tracking.VERDICT_FAILED})
    except Exception:  # the store that just failed: a later session tags it abandoned
        pass
