"""Seeded samples for the gates that need examples of the data, not every row of it.

Training reads every row; a gate that only needs rows to try (the compile
check's parity rows, the perf gates' request bodies, the drift profile's
bins) would otherwise make a whole pass over a table of millions for
nothing it could not learn from `gate_sample_rows` of them. Above the cap a
gate draws that many rows with the session's seed, so the draw is the same
every session; below it, it keeps every row. Each draw is noted in the
findings, and the gate report names the gate, the rows drawn and of how many.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import pandas as pd


@dataclass(frozen=True)
class DrawnSample:
    """One gate's draw: `rows` of the `of` rows it was drawn from, with `seed`."""

    gate: str
    rows: int
    of: int
    seed: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def draw(frame: pd.DataFrame, cap: int, seed: int) -> pd.DataFrame:
    """`frame` itself at or below `cap` rows; else `cap` rows drawn with `seed`, kept in their order."""
    if len(frame) <= cap:
        return frame
    return frame.sample(n=cap, random_state=seed).sort_index().reset_index(drop=True)


def gate_sample(frame: pd.DataFrame, gate: str, cap: int, seed: int, noted: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """`draw`, and note in `noted` (the findings' samples) under `gate` when a sample was drawn."""
    drawn = draw(frame, cap, seed)
    if len(drawn) < len(frame):
        noted[gate] = DrawnSample(gate, len(drawn), len(frame), seed).to_dict()
    return drawn
