"""Verdicts on declared slices: rows, the candidate's value with its interval, its minimum, and
the paired comparison with the champion, Benjamini-Hochberg over every judged slice.

A slice with fewer rows than min_rows is reported as "too few rows", never dropped: its
interval would be too wide to judge, and a silent skip would read as a pass.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from mlgate.evaluation.declared_slices import DeclaredSlice, expand, slice_name
from mlgate.evaluation.segments import Condition, segment_mask
from mlgate.evaluation.slice_stats import SliceValue, as_losses, benjamini_hochberg, format_p
from mlgate.evaluation.slice_stats import format_value, is_zero_one, paired_regression_p
from mlgate.evaluation.slice_stats import slice_value

TOO_FEW = "too few rows"


@dataclass(frozen=True)
class DeclaredVerdict:
    """One concrete declared slice on this holdout."""

    name: str
    spec_index: int
    conditions: tuple[Condition, ...]
    rows: int
    min_rows: int
    candidate: SliceValue | None = None
    champion: SliceValue | None = None
    p_value: float | None = None
    p_adjusted: float | None = None
    test: str | None = None
    compared: int = 0
    below_minimum: str | None = None
    regressed: bool = False

    @property
    def status(self) -> str:
        if self.candidate is None:
            return TOO_FEW
        return "red" if self.below_minimum or self.regressed else "ok"

    def describe(self) -> str:
        if self.candidate is None:
            return f"{self.name}: {TOO_FEW} (n = {self.rows} < {self.min_rows}), not judged"
        value = self.candidate
        text = (f"{self.name}: {self.rows} rows, candidate {format_value(value)} "
                f"[{value.low:.3g}, {value.high:.3g}] {value.metric}")
        if self.champion is not None:
            text = (f"{self.name}: {self.rows} rows, champion {format_value(self.champion)} -> "
                    f"candidate {format_value(value)} [{value.low:.3g}, {value.high:.3g}] "
                    f"{value.metric}, p={format_p(self.p_adjusted)} ({self.test}, BH-adjusted "
                    f"over {self.compared} declared slices)")
        return text + (f"; {self.below_minimum}" if self.below_minimum else "")


def check_minimum(spec: DeclaredSlice, value: SliceValue, zero_one: bool) -> str | None:
    """Red only when the whole interval is on the wrong side of the slice's minimum."""
    if spec.min_accuracy is not None:
        if not zero_one:
            raise spec.fail("min_accuracy needs 0/1 losses; for other losses give max_mean_loss")
        if value.high < spec.min_accuracy:
            return f"below its minimum accuracy {spec.min_accuracy:g} (interval entirely below)"
    if spec.max_mean_loss is not None:
        mean_loss = 1 - value.value if zero_one else value.value
        lowest = 1 - value.high if zero_one else value.low
        if lowest > spec.max_mean_loss:
            return (f"mean loss {mean_loss:.3g} above its maximum {spec.max_mean_loss:g} "
                    "(interval entirely above)")
    return None


def judge_slice(spec, conditions, features, candidate, champion, settings) -> DeclaredVerdict:
    min_rows, tolerance, alpha, loss_name, zero_one = settings
    rows = segment_mask(features, conditions)
    count = int(rows.sum())
    base = DeclaredVerdict(slice_name(spec, conditions), spec.index, conditions, count, min_rows)
    if count < min_rows:
        return base
    value = slice_value(candidate[rows], zero_one, loss_name, alpha)
    verdict = {"candidate": value, "below_minimum": check_minimum(spec, value, zero_one)}
    if champion is not None:
        p, test = paired_regression_p(candidate[rows], champion[rows], tolerance, zero_one)
        verdict |= {"champion": slice_value(champion[rows], zero_one, loss_name, alpha),
                    "p_value": p, "test": test}
    return DeclaredVerdict(**{**base.__dict__, **verdict})


def judge_declared_slices(
    specs: list[DeclaredSlice],
    features: pd.DataFrame,
    candidate_losses: object,
    champion_losses: object | None = None,
    *,
    min_rows: int,
    tolerance: float,
    alpha: float,
    loss_name: str = "mean loss",
) -> list[DeclaredVerdict]:
    """Every declared slice, in spec order; compared with the champion when one is given."""
    candidate = as_losses("candidate_losses", candidate_losses, len(features))
    champion = (None if champion_losses is None
                else as_losses("champion_losses", champion_losses, len(features)))
    zero_one = is_zero_one(candidate) if champion is None else is_zero_one(candidate, champion)
    settings = (min_rows, tolerance, alpha, loss_name, zero_one)
    verdicts = [
        judge_slice(spec, conditions, features, candidate, champion, settings)
        for spec in specs
        for conditions in expand(spec, features)
    ]
    compared = [i for i, verdict in enumerate(verdicts) if verdict.p_value is not None]
    reject, adjusted = benjamini_hochberg([verdicts[i].p_value for i in compared], alpha)
    for position, i in enumerate(compared):
        verdicts[i] = DeclaredVerdict(**{**verdicts[i].__dict__, "p_adjusted": float(adjusted[position]),
                                         "regressed": bool(reject[position]),
                                         "compared": len(compared)})
    return verdicts


def red_lines(verdicts: list[DeclaredVerdict]) -> list[str]:
    return [verdict.describe() for verdict in verdicts if verdict.status == "red"]

