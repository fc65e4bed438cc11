"""The slice gates: the candidate must not get worse for a segment of the holdout while its average holds.

Discovered slices: every single-column segment (numeric columns in `slice_bins` quantile bins)
is tested on the whole holdout, and the `slice_candidates` two-column conjunctions that look
worst on one half are tested on the other; each family is controlled by Benjamini-Hochberg at
`slice_significance_level` / 2. The test is one-sided and paired with `slice_tolerance` as its
margin: an exact sign test on discordant rows for 0/1 errors, a t-test on squared-error
differences. Measured (benchmarks/slices.py): 0 of 40 equally good candidates refused; the
phone-channel regression of issue #22 (90 holdout rows) named in 27 of 30 seeds.
Declared slices (`slices`): each judged against its own minimum and against the champion.
A first champion has no one to regress against: its weakest segments are reported, not gated.
"""

from __future__ import annotations

import pytest

from mlgate.evaluation.declared_slices import SliceSpecError, parse_declared_slices
from mlgate.evaluation.declared_verdicts import judge_declared_slices
from mlgate.evaluation.slice_records import SQUARED_ERROR, declared_record, discovery_record, weak_record
from mlgate.evaluation.slices import discover_regressions
from mlgate.evaluation.weak_segments import weakest_segments

pytestmark = pytest.mark.model_gate

WEAKEST_SHOWN = 5


def _record_settings(findings, settings, losses) -> dict:
    section = findings.slices
    section["settings"] = {
        "min_rows": settings.slice_min_rows,
        "tolerance": settings.slice_tolerance,
        "significance_level": settings.slice_significance_level,
        "bins": settings.slice_bins,
        "candidates": settings.slice_candidates,
    }
    section["loss"] = losses.loss_name
    section["tolerance"] = _tolerance_of(losses, settings)
    section["holdout_rows"] = len(losses.features)
    champion = losses.champion_model
    section["champion_version"] = champion.version if champion is not None else None
    return section


def _tolerance_of(slice_losses, settings) -> float:
    """slice_tolerance in loss units: as is for 0/1 errors, a share of the champion's MSE for squared errors."""
    if slice_losses.loss_name != SQUARED_ERROR or slice_losses.champion is None:
        return settings.slice_tolerance
    return settings.slice_tolerance * float(slice_losses.champion.mean())


def test_no_discovered_slice_regressed_against_the_champion(slice_losses, settings, findings, record_gate):
    section = _record_settings(findings, settings, slice_losses)
    common = {"min_rows": settings.slice_min_rows, "alpha": settings.slice_significance_level,
              "bins": settings.slice_bins, "loss_name": slice_losses.loss_name}
    if slice_losses.champion is None:
        weak = weakest_segments(slice_losses.features, slice_losses.candidate, top=WEAKEST_SHOWN, **common)
        section["weakest"] = [weak_record(segment) for segment in weak]
        record_gate("first champion")
        return
    discovery = discover_regressions(
        slice_losses.features, slice_losses.candidate, slice_losses.champion,
        tolerance=_tolerance_of(slice_losses, settings), candidates=settings.slice_candidates, **common,
    )
    section["discovered"] = discovery_record(discovery)
    record_gate(len(discovery.red), 0)
    if discovery.red:
        pytest.fail(
            f"{len(discovery.red)} slice(s) regressed against champion {slice_losses.champion_model.shown} "
            f"beyond slice_tolerance {settings.slice_tolerance:g} ({section['tolerance']:.4g} {slice_losses.loss_name}; "
            f"false discovery rate "
            f"{settings.slice_significance_level:g}):\n" + "\n".join(discovery.lines()),
            pytrace=False,
        )


def test_declared_slices_hold(slice_losses, settings, findings, record_gate):
    section = _record_settings(findings, settings, slice_losses)
    if not settings.slices:
        section["declared"] = []
        record_gate("none declared")
        return
    try:
        verdicts = judge_declared_slices(
            parse_declared_slices(list(settings.slices)), slice_losses.features, slice_losses.candidate,
            slice_losses.champion, min_rows=settings.slice_min_rows, tolerance=_tolerance_of(slice_losses, settings),
            alpha=settings.slice_significance_level, loss_name=slice_losses.loss_name,
        )
    except SliceSpecError as error:
        pytest.fail(f"declared slice cannot be judged on this holdout: {error}", pytrace=False)
    section["declared"] = [declared_record(verdict) for verdict in verdicts]
    red = [verdict for verdict in verdicts if verdict.status == "red"]
    # A slice that matched no row at all is a misspelt value or an empty bin, not a small segment.
    empty = [verdict for verdict in verdicts if verdict.rows == 0]
    record_gate(len(red) + len(empty), 0)
    problems = [verdict.describe() for verdict in red]
    problems += [f"{verdict.name}: matched no holdout row; check the value's spelling or the bins"
                 for verdict in empty]
    if problems:
        pytest.fail(f"{len(problems)} declared slice(s) do not hold:\n" + "\n".join(problems), pytrace=False)
