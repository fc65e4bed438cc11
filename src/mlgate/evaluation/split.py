"""A stable holdout: a row's side is decided by a hash of the row, not by a seeded shuffle.

A seeded shuffle reorders every row when rows are appended, so a champion trained on last
month's split has seen a third of this month's holdout (issue #21 measured 32-37 %). Here each
row gets a number u in [0, 1) from `pandas.util.hash_pandas_object` of its content (every
column, the target included) or of a declared key column, and goes to the holdout when
u < fraction. The threshold is fixed, so appending rows never moves an existing row, and equal
rows (or rows sharing a key) always land on the same side.

Before hashing, numeric and boolean columns become float64 and every other column text, and
columns are taken in name order: a CSV that gains a gap (ints become floats) or a reordered
header keeps every row's side.

Stratification: the fixed threshold applies within each class, so every class sends `fraction`
of its rows to the holdout in expectation, not exactly. That is the price of stability: on wine
(178 rows) the holdout's class shares are 0.34 / 0.26 / 0.39 against 0.33 / 0.40 / 0.27 in the
data, where a seeded stratified split would match them and move rows on every append.
For tiny data, every class with at least two rows is guaranteed a row on each side: if the
threshold gave a class no holdout row, its smallest-u row (and any duplicates of it) is moved
to the holdout; if it gave no training row, its largest-u row goes to training. Those "forced"
rows are the only ones that can change side later (once the class grows a natural holdout
row), and `SplitIndex.forced` counts them.
For a numeric target (regression) no per-class guarantee is given: hashing stratifies in
expectation only, over the whole range of the target; only both sides being non-empty is kept.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from pandas.util import hash_pandas_object

SPLIT_VERSION = 1
_MISSING_TOKEN = "\x00missing"


class SplitError(ValueError):
    """A split that cannot be made; the message names the problem and the fix."""


@dataclass(frozen=True)
class SplitDefinition:
    """What decides a row's side; a run records `describe()`, a champion gate compares them."""

    fraction: float
    key: str | None = None
    stratify: bool = True
    version: int = SPLIT_VERSION

    def describe(self) -> str:
        source = f"key:{self.key}" if self.key else "content"
        strata = "class" if self.stratify else "none"
        return f"hash:{source};fraction={self.fraction:g};stratify={strata};v{self.version}"

    @classmethod
    def parse(cls, text: str) -> SplitDefinition:
        """Read back a recorded `describe()` string (e.g. from the champion's run)."""
        try:
            head, fraction, strata, version = text.split(";")
            method, source = head.split(":", 1)
            if method != "hash" or not version.startswith("v"):
                raise ValueError(text)
            key = source.removeprefix("key:") if source.startswith("key:") else None
            return cls(
                fraction=float(fraction.removeprefix("fraction=")),
                key=key,
                stratify=strata == "stratify=class",
                version=int(version[1:]),
            )
        except ValueError:
            raise SplitError(
                f"{text!r} is not a split definition; expected e.g. "
                "'hash:content;fraction=0.2;stratify=class;v1'"
            ) from None


@dataclass(frozen=True)
class SplitIndex:
    """Which rows are held out (positional), and how the split was decided."""

    holdout: np.ndarray
    definition: SplitDefinition
    forced: int = 0

    @property
    def holdout_index(self) -> np.ndarray:
        return np.flatnonzero(self.holdout)

    @property
    def train_index(self) -> np.ndarray:
        return np.flatnonzero(~self.holdout)

    def apply(self, frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        """(train, holdout) rows of `frame`, the frame the index was computed on."""
        return frame.iloc[self.train_index], frame.iloc[self.holdout_index]


def _canonical(frame: pd.DataFrame) -> pd.DataFrame:
    """Numbers as float64, everything else as text, columns by name: dtype drift keeps hashes."""
    columns = {}
    for name in sorted(frame.columns, key=str):
        column = frame[name]
        if pd.api.types.is_bool_dtype(column) or pd.api.types.is_numeric_dtype(column):
            columns[str(name)] = column.astype("float64")
        else:
            columns[str(name)] = column.astype("string").fillna(_MISSING_TOKEN)
    return pd.DataFrame(columns, index=frame.index)


def row_positions(frame: pd.DataFrame, key: str | None = None) -> np.ndarray:
    """Each row's hash as a number in [0, 1): the row's fixed place on the split's scale."""
    if key is not None and key not in frame.columns:
        raise SplitError(
            f"split key column {key!r} is not in the data (columns: {list(frame.columns)}); "
            "set split_key to one of them, or leave it empty to hash whole rows"
        )
    source = frame[[key]] if key is not None else frame
    hashes = hash_pandas_object(_canonical(source), index=False).to_numpy(dtype=np.uint64)
    # The top 53 bits fit a float64 exactly; 2**53 buckets are plenty for any table.
    return (hashes >> np.uint64(11)).astype(np.float64) / float(2**53)


def _guarantee_both_sides(u: np.ndarray, holdout: np.ndarray, members: np.ndarray) -> int:
    """Give a group with >= 2 distinct rows a row on each side; returns how many rows moved."""
    if len(np.unique(u[members])) < 2:
        return 0
    moved = 0
    if not holdout[members].any():
        chosen = members[u[members] == u[members].min()]
        holdout[chosen] = True
        moved += len(chosen)
    if holdout[members].all():
        chosen = members[u[members] == u[members].max()]
        holdout[chosen] = False
        moved += len(chosen)
    return moved


def _is_classification(labels: pd.Series) -> bool:
    if not pd.api.types.is_numeric_dtype(labels) or pd.api.types.is_bool_dtype(labels):
        return True
    values = labels.dropna()
    integral = bool(np.all(np.mod(values.to_numpy(dtype=float), 1) == 0))
    return integral and values.nunique() <= max(20, int(np.sqrt(len(values))))


def stable_split(
    frame: pd.DataFrame,
    target: str,
    fraction: float,
    key: str | None = None,
    stratify: bool | None = None,
) -> SplitIndex:
    """Split `frame` into training and holdout by row hash; see the module docstring.

    `stratify=None` stratifies when the target looks like class labels (text, or at most
    max(20, sqrt(n)) distinct integers); pass False for a numeric target with few values.
    """
    if not 0 < fraction < 1:
        raise SplitError(f"holdout fraction {fraction} must lie strictly between 0 and 1")
    if target not in frame.columns:
        raise SplitError(
            f"target column {target!r} is not in the data (columns: {list(frame.columns)}); "
            "set target to the label column"
        )
    if len(frame) < 2:
        raise SplitError(f"{len(frame)} row(s) cannot be split; the holdout needs at least 2 rows")
    if stratify is None:
        stratify = _is_classification(frame[target])
    u = row_positions(frame, key)
    holdout = u < fraction
    labels = frame[target].to_numpy()
    groups = (
        [np.flatnonzero(labels == c) for c in pd.unique(labels)]
        if stratify
        else [np.arange(len(frame))]
    )
    forced = sum(_guarantee_both_sides(u, holdout, members) for members in groups)
    definition = SplitDefinition(fraction=fraction, key=key, stratify=stratify)
    return SplitIndex(holdout=holdout, definition=definition, forced=forced)


@dataclass(frozen=True)
class ChampionHoldout:
    """The holdout rows a champion may be compared on, and what was done to get them."""

    rows: np.ndarray  # positional, within the frame the candidate's split was computed on
    excluded: int
    note: str


def holdout_for_champion(
    frame: pd.DataFrame, target: str, split: SplitIndex, champion_split: str | None
) -> ChampionHoldout:
    """Drop from `split`'s holdout the rows the champion's own split put in its training.

    Same definition: nothing to drop, since rows keep their side. Another hash definition: it is
    recomputed on `frame` and its training rows are left out (rows the champion never had are
    dropped too: conservative). No readable definition (a champion from a seeded split): all
    rows are kept and the note says the comparison may include rows the champion trained on.
    """
    holdout = split.holdout_index
    if champion_split == split.definition.describe():
        return ChampionHoldout(holdout, 0, f"champion split {champion_split}, the same as ours")
    try:
        theirs = SplitDefinition.parse(champion_split or "")
    except SplitError:
        return ChampionHoldout(holdout, 0, (
            f"the champion's split is {champion_split or 'not recorded'}, not a hash split: all "
            f"{len(holdout)} holdout rows kept, some may have been in its training"
        ))
    theirs_index = stable_split(frame, target, theirs.fraction, theirs.key, theirs.stratify)
    clean = holdout[theirs_index.holdout[holdout]]
    return ChampionHoldout(clean, len(holdout) - len(clean), (
        f"champion split {theirs.describe()} differs from {split.definition.describe()}: "
        f"{len(holdout) - len(clean)} of {len(holdout)} holdout rows were in its training "
        f"and are left out; compared on {len(clean)}"
    ))
