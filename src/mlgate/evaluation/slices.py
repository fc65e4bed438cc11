"""Discovered slices: segments where the candidate's per-row losses are worse than the champion's.

The holdout is split once, by a fixed-seed permutation of row positions, into a discovery half
and a confirmation half. On the discovery half every single-column segment and two-column
conjunction with at least min_rows / 2 rows is ranked by a one-sided paired statistic of the
mean loss difference beyond the tolerance; the top `candidates` are tested once on the
confirmation half (sign test or t-test, margin = tolerance) and Benjamini-Hochberg over those
tests controls false discoveries at alpha. The search never sees the rows that judge it, so a
search over thousands of segments costs only `candidates` tests.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from mlgate.evaluation.segments import Condition, SegmentTable, describe_segment, encode_frame
from mlgate.evaluation.segments import segment_table
from mlgate.evaluation.slice_stats import SliceValue, as_losses, benjamini_hochberg, format_p
from mlgate.evaluation.slice_stats import format_value, is_zero_one, paired_regression_p
from mlgate.evaluation.slice_stats import slice_value

SPLIT_SEED = 20261202  # fixed: the same holdout always splits the same way


@dataclass(frozen=True)
class SliceFinding:
    """One candidate segment tested on the confirmation half; red when BH confirms it."""

    conditions: tuple[Condition, ...]
    rows: int
    champion: SliceValue
    candidate: SliceValue
    p_value: float
    p_adjusted: float
    test: str
    confirmation_rows: int
    tested: int
    red: bool
    telling: bool = True

    @property
    def name(self) -> str:
        return describe_segment(self.conditions)

    def describe(self) -> str:
        return (
            f"{self.name}: {self.rows} rows, champion {format_value(self.champion)} -> candidate "
            f"{format_value(self.candidate)} {self.candidate.metric}, "
            f"p={format_p(self.p_adjusted)} ({self.test} on the {self.confirmation_rows} "
            f"confirmation rows, BH-adjusted over {self.tested} segments)"
        )


@dataclass(frozen=True)
class Discovery:
    """What the search tried and what it confirmed."""

    findings: list[SliceFinding]
    segments_searched: int
    discovery_rows: int
    confirmation_rows: int

    @property
    def confirmed(self) -> list[SliceFinding]:
        return [finding for finding in self.findings if finding.red]

    @property
    def red(self) -> list[SliceFinding]:
        """Confirmed segments, each regression named once (see `telling`)."""
        return [finding for finding in self.confirmed if finding.telling]

    def lines(self) -> list[str]:
        return [finding.describe() for finding in self.red]


def check_settings(min_rows: int, tolerance: float, alpha: float, bins: int) -> None:
    problems = []
    if min_rows < 4:
        problems.append(f"min_rows is {min_rows}; give at least 4 (each half needs 2 rows)")
    if tolerance < 0:
        problems.append(f"tolerance is {tolerance}; give a loss increase >= 0")
    if not 0 < alpha < 1:
        problems.append(f"alpha is {alpha}; give a level between 0 and 1, e.g. 0.05")
    if bins < 2:
        problems.append(f"bins is {bins}; give at least 2 quantile bins")
    if problems:
        raise ValueError("; ".join(problems) + ".")


def discovery_half(rows: int, share: float = 0.5) -> np.ndarray:
    """True for the discovery rows: a fixed-seed permutation of positions, shares exact."""
    order = np.random.default_rng(SPLIT_SEED).permutation(rows)
    half = np.zeros(rows, dtype=bool)
    half[order[: int(rows * share)]] = True
    return half


def rank_candidates(table: SegmentTable, min_half_rows: int, tolerance: float, count: int) -> list[int]:
    """The `count` segments most clearly worse than the tolerance, skipping any segment inside
    one already picked (it would spend a test on the same rows)."""
    means = table.means()
    statistic = (means - tolerance) / np.maximum(table.standard_errors(), 1e-9)
    eligible = np.flatnonzero((table.rows >= min_half_rows) & (means > tolerance))
    picked: list[int] = []
    for k in eligible[np.argsort(-statistic[eligible], kind="stable")]:
        conditions = set(table.conditions(k))
        if any(set(table.conditions(j)) <= conditions for j in picked):
            continue
        picked.append(int(k))
        if len(picked) == count:
            break
    return picked


def telling(conditions: list[tuple], masks: list[np.ndarray], differences: np.ndarray,
            tolerance: float) -> list[bool]:
    """Which confirmed segments to name when one lies inside another (`channel = phone` and
    `channel = phone & region = north`): the general one, unless its rows outside the specific
    one show no loss increase beyond the tolerance; then the specific one explains it."""
    keep = [True] * len(conditions)
    for g, general in enumerate(conditions):
        for s, specific in enumerate(conditions):
            if g == s or not set(general) < set(specific):
                continue
            outside = masks[g] & ~masks[s]
            explained = not outside.any() or differences[outside].mean() <= tolerance
            keep[g if explained else s] = False
    return keep


def discover_regressions(
    features: pd.DataFrame,
    candidate_losses: object,
    champion_losses: object,
    *,
    min_rows: int,
    tolerance: float,
    alpha: float,
    bins: int = 5,
    candidates: int = 10,
    discovery_share: float = 0.5,
    loss_name: str = "mean loss",
) -> Discovery:
    """Segments where the candidate's mean loss exceeds the champion's by more than tolerance."""
    check_settings(min_rows, tolerance, alpha, bins)
    candidate = as_losses("candidate_losses", candidate_losses, len(features))
    champion = as_losses("champion_losses", champion_losses, len(features))
    zero_one = is_zero_one(candidate, champion)
    encoded = encode_frame(features, bins, min_rows)
    half = discovery_half(len(features), discovery_share)
    if not encoded:
        return Discovery([], 0, int(half.sum()), int((~half).sum()))
    table = segment_table(encoded, candidate - champion, half)
    picked = rank_candidates(table, max(min_rows // 2, 2), tolerance, candidates)
    tests = []
    for k in picked:
        rows = table.mask(k)
        judged = rows & ~half
        tests.append((k, rows, judged, *paired_regression_p(
            candidate[judged], champion[judged], tolerance, zero_one)))
    reject, adjusted = benjamini_hochberg([test[3] for test in tests], alpha)
    confirmed = [i for i in range(len(tests)) if reject[i]]
    keep = telling([table.conditions(tests[i][0]) for i in confirmed],
                   [tests[i][1] for i in confirmed], candidate - champion, tolerance)
    shown = {i for i, kept in zip(confirmed, keep, strict=True) if kept}
    findings = [
        SliceFinding(
            conditions=table.conditions(k),
            rows=int(rows.sum()),
            champion=slice_value(champion[rows], zero_one, loss_name, alpha),
            candidate=slice_value(candidate[rows], zero_one, loss_name, alpha),
            p_value=p,
            p_adjusted=float(adjusted[i]),
            test=test,
            confirmation_rows=int(judged.sum()),
            tested=len(tests),
            red=bool(reject[i]),
            telling=i in shown,
        )
        for i, (k, rows, judged, p, test) in enumerate(tests)
    ]
    return Discovery(findings, len(table.rows), int(half.sum()), int((~half).sum()))


@dataclass(frozen=True)
class WeakSegment:
    """A segment where a model with no champion does worst against its own average."""

    conditions: tuple[Condition, ...]
    rows: int
    value: SliceValue
    overall: SliceValue

    def describe(self) -> str:
        return (
            f"{describe_segment(self.conditions)}: {self.rows} rows, {format_value(self.value)} "
            f"[{self.value.low:.3g}, {self.value.high:.3g}] {self.value.metric} against "
            f"{format_value(self.overall)} overall (reported, not gated)"
        )


def weakest_segments(
    features: pd.DataFrame,
    losses: object,
    *,
    min_rows: int,
    alpha: float,
    bins: int = 5,
    top: int = 5,
    loss_name: str = "mean loss",
) -> list[WeakSegment]:
    """A first champion's weakest segments: mean loss above its average, most clearly first."""
    check_settings(min_rows, 0.0, alpha, bins)
    loss = as_losses("losses", losses, len(features))
    zero_one = is_zero_one(loss)
    encoded = encode_frame(features, bins, min_rows)
    if not encoded:
        return []
    table = segment_table(encoded, loss - loss.mean(), np.ones(len(loss), dtype=bool))
    overall = slice_value(loss, zero_one, loss_name, alpha)
    weak = []
    for k in rank_candidates(table, min_rows, 0.0, top):
        rows = table.mask(k)
        value = slice_value(loss[rows], zero_one, loss_name, alpha)
        weak.append(WeakSegment(table.conditions(k), int(rows.sum()), value, overall))
    return weak


def pin(finding: SliceFinding | WeakSegment) -> dict:
    """The declared-slice entry that holds the next candidate to this segment."""
    return {
        "name": describe_segment(finding.conditions),
        "where": {condition.column: condition.where() for condition in finding.conditions},
    }
