"""What a gate session leaves behind: the champion and the bundle, or the report alone."""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from model.session.report import GateReport, GateResult
from model.settings import Settings

# A version tag's value is capped by MLflow; gate names and messages are cut to fit.
MAX_TAG_CHARS = 5000


@dataclass(frozen=True)
class SessionOutputs:
    """Files the session made on the way, copied into the bundle on green."""

    reports_dir: Path  # classification_report.txt, metrics.json, plots
    validation_json: Path | None  # the data gate's result
    trusted_types: list[str] | None = None  # skops types, if already computed and checked


def gate_tag_key(gate: GateResult) -> str:
    safe = "".join(ch if ch.isalnum() or ch in "_-./ " else "_" for ch in gate.name)
    return f"mlgate.gate.{gate.family}.{safe}"


def gate_tag_value(gate: GateResult) -> str:
    parts = [gate.status]
    if gate.value is not None:
        parts.append(f"value={gate.value}")
    if gate.threshold is not None:
        parts.append(f"threshold={gate.threshold}")
    return " ".join(parts)[:MAX_TAG_CHARS]


def gate_tags(report: GateReport) -> dict[str, str]:
    return {gate_tag_key(g): gate_tag_value(g) for g in report.gates}


def _replace_folder(staged: Path, final: Path) -> None:
    """Swap `staged` in for `final`; a reader never sees a half-written bundle."""
    old = final.with_name(final.name + ".old")
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


class ChampionMovedError(RuntimeError):
    """Another session crowned a champion this session's gates never compared with."""


def champion_moved(settings, client, expected: str | None) -> str:
    """Why not to crown, if `@champion` is no longer the version the gates compared with."""
    from model import tracking

    current = tracking.champion_version(settings, client)
    now = str(current.version) if current is not None else None
    if now == expected:
        return ""
    return (
        f"@champion moved from version {expected or 'none'} to {now} while this session ran; "
        "rerun the gates to compare with the new champion."
    )


def promote(
    settings,
    client,
    run_id,
    model,
    input_example,
    report: GateReport,
    outputs: SessionOutputs,
    quality: dict[str, float],
    expected_champion: str | None,
) -> str:
    """Register, bundle, then move `@champion`: the alias moves only once all else is done.

    Right before the alias moves, it is checked to still be on `expected_champion`,
    the version the champion gate compared with: of two sessions racing, the one
    that finishes second refuses instead of replacing a champion it never saw.
    """
    from model import tracking

    staged = _staging(settings)
    try:
        version_tags = gate_tags(report)
        version_tags.update({f"mlgate.metric.{k}": repr(v) for k, v in quality.items()})
        version_tags["mlgate.gated_at"] = str(time.time())
        version_tags["mlgate.dataset"] = settings.dataset
        version, model_uri = tracking.log_and_register(
            settings, client, run_id, model, input_example, version_tags, outputs.trusted_types
        )
        tracking.download_model(model_uri, staged / "model")
        for item in outputs.reports_dir.iterdir():
            shutil.copy2(item, staged / item.name)
        if outputs.validation_json is not None:
            shutil.copy2(outputs.validation_json, staged / "data_validation.json")
        report.promoted = True
        report.champion_version = version
        report.write(staged)
        # The bundle swap can fail (the disk, a stale artifacts.old): before the alias, not after it.
        _replace_folder(staged, Path(settings.artifacts_dir))
        moved = champion_moved(settings, client, expected_champion)
        if moved:
            client.set_model_version_tag(settings.model_name, version, "mlgate.refused_because", moved)
            raise ChampionMovedError(moved)
        tracking.crown(settings, client, version)
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    return version
