"""A first champion's weakest segments: where it does worst against its own average.

There is no champion to regress against, so nothing here gates: the segments are reported
so that a reader sees where the first model is weak, and can pin one as a declared slice.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from mlgate.evaluation.segments import Segment, encode_frame, segment_table
from mlgate.evaluation.slice_stats import SliceValue, as_losses, format_value, is_zero_one
from mlgate.evaluation.slice_stats import slice_value
from mlgate.evaluation.slices import check_settings, rank_candidates


@dataclass(frozen=True)
class WeakSegment(Segment):
    """A segment where a model with no champion does worst against its own average."""

    value: SliceValue
    overall: SliceValue

    def describe(self) -> str:
        return (
            f"{self.name}: {self.rows} rows, {format_value(self.value)} "
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
