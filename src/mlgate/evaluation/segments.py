"""Segments of a holdout: each column as integer codes, and their counts and sums per segment.

A segment is one condition on a column (`channel = phone`, `income in [1200, 3400)`,
`income is missing`) or a conjunction of two. Every column is encoded once as integer codes,
so all single segments and all two-column conjunctions are counted with one `np.bincount`
per column or column pair instead of a boolean mask per segment.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd


MAX_VALUES = 50


def format_number(value: float) -> str:
    """Readable edges: 1200, 0.35, 1.2e+06."""
    return f"{value:.6g}"


def plain(value: Any) -> Any:
    """numpy scalars as Python ones, so a pinned slice can be written as TOML."""
    return value.item() if isinstance(value, np.generic) else value


@dataclass(frozen=True)
class Condition:
    """One condition on one column: equals a value, in a set, in [low, high), or missing."""

    column: str
    kind: str  # "equals" | "in" | "range" | "missing"
    value: Any = None
    values: tuple[Any, ...] = ()
    low: float | None = None
    high: float | None = None

    def describe(self) -> str:
        if self.kind == "missing":
            return f"{self.column} is missing"
        if self.kind == "equals":
            return f"{self.column} = {self.value}"
        if self.kind == "in":
            shown = ", ".join(str(v) for v in self.values[:3])
            more = f", +{len(self.values) - 3} more" if len(self.values) > 3 else ""
            return f"{self.column} in {{{shown}{more}}}"
        if self.low is None:
            return f"{self.column} < {format_number(self.high)}"
        if self.high is None:
            return f"{self.column} >= {format_number(self.low)}"
        return f"{self.column} in [{format_number(self.low)}, {format_number(self.high)})"

    def mask(self, frame: pd.DataFrame) -> np.ndarray:
        column = frame[self.column]
        if self.kind == "missing":
            return column.isna().to_numpy()
        if self.kind == "equals":
            return (column == self.value).fillna(False).to_numpy(dtype=bool)
        if self.kind == "in":
            return column.isin(list(self.values)).to_numpy(dtype=bool)
        values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float)
        inside = ~np.isnan(values)
        if self.low is not None:
            inside &= values >= self.low
        if self.high is not None:
            inside &= values < self.high
        return inside

    def where(self) -> Any:
        """The value of this condition in a declared slice's `where` table."""
        if self.kind == "missing":
            return {"missing": True}
        if self.kind == "equals":
            return plain(self.value)
        if self.kind == "in":
            return {"in": [plain(v) for v in self.values]}
        bounds = {"from": self.low, "to": self.high}
        return {key: float(bound) for key, bound in bounds.items() if bound is not None}


def describe_segment(conditions: tuple[Condition, ...]) -> str:
    return " & ".join(condition.describe() for condition in conditions)


@dataclass(frozen=True)
class Segment:
    """Rows that meet every condition: what a slice finding or a weak segment is about."""

    conditions: tuple[Condition, ...]
    rows: int

    @property
    def name(self) -> str:
        return describe_segment(self.conditions)


def segment_mask(frame: pd.DataFrame, conditions: tuple[Condition, ...]) -> np.ndarray:
    mask = np.ones(len(frame), dtype=bool)
    for condition in conditions:
        mask &= condition.mask(frame)
    return mask


@dataclass(frozen=True)
class EncodedColumn:
    """A column as codes 0..k-1, and the condition each code stands for."""

    column: str
    codes: np.ndarray
    conditions: tuple[Condition, ...]

    @property
    def size(self) -> int:
        return len(self.conditions)


def is_numeric(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def encode_numeric(name: str, values: np.ndarray, bins: int) -> tuple[np.ndarray, list[Condition]]:
    """Quantile bins, edges rounded to 3 significant digits so that descriptions stay short."""
    present = values[~np.isnan(values)]
    edges = np.nanquantile(present, np.linspace(0, 1, bins + 1))[1:-1]
    edges = np.unique([float(f"{edge:.3g}") for edge in edges])
    codes = np.searchsorted(edges, values, side="right")
    bounds = [None, *edges.tolist(), None]
    conditions = [
        Condition(name, "range", low=low, high=high)
        for low, high in zip(bounds[:-1], bounds[1:], strict=True)
    ]
    return codes, conditions


def encode_categorical(
    name: str, series: pd.Series, min_rows: int
) -> tuple[np.ndarray, list[Condition]]:
    """One code per value with at least min_rows rows; the rarer values share one code.

    At most MAX_VALUES values keep their own code, so that a pair of columns stays a small
    table (an id-like column would otherwise make a pair table of millions of cells).
    """
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    counts = np.bincount(codes[codes >= 0], minlength=len(uniques))
    by_count = np.argsort(-counts, kind="stable")
    kept = by_count[(counts[by_count] >= min_rows)][:MAX_VALUES]
    frequent = np.sort(kept)
    rare = np.setdiff1d(np.arange(len(uniques)), frequent)
    recode = np.zeros(len(uniques), dtype=np.int64)
    recode[frequent] = np.arange(len(frequent))
    recode[rare] = len(frequent)
    conditions = [Condition(name, "equals", value=uniques[i]) for i in frequent]
    if len(rare):
        rare_values = tuple(sorted((uniques[i] for i in rare), key=str))
        conditions.append(Condition(name, "in", values=rare_values))
    return np.where(codes >= 0, recode[np.maximum(codes, 0)], -1), conditions


def more_values_than(values: np.ndarray, count: int) -> bool:
    """Distinct values beyond `count`, looking at the first rows first: a full unique of a
    continuous column costs as much as all the rest of the encoding."""
    present = values[~np.isnan(values)]
    return len(np.unique(present[:10_000])) > count or len(np.unique(present)) > count


def encode_column(series: pd.Series, bins: int, min_rows: int) -> EncodedColumn:
    """Numeric columns with more than `bins` distinct values by quantile bins, others by value;
    missing values get a code of their own."""
    name = str(series.name)
    missing = series.isna().to_numpy()
    values = series.to_numpy(dtype=float, na_value=np.nan) if is_numeric(series) else None
    if values is not None and more_values_than(values, bins):
        codes, conditions = encode_numeric(name, values, bins)
    else:
        codes, conditions = encode_categorical(name, series, min_rows)
    if missing.any():
        codes = np.where(missing, len(conditions), codes)
        conditions.append(Condition(name, "missing"))
    return EncodedColumn(name, codes.astype(np.int64), tuple(conditions))


def encode_frame(frame: pd.DataFrame, bins: int, min_rows: int) -> list[EncodedColumn]:
    encoded = [encode_column(frame[column], bins, min_rows) for column in frame.columns]
    return [column for column in encoded if column.size > 1]


@dataclass(frozen=True)
class SegmentTable:
    """Every single segment and two-column conjunction with its row count and sums of a value.

    Row k of the table is columns (left[k], right[k]) at codes (left_code[k], right_code[k]);
    right[k] is -1 for a single-column segment. Conditions are built only for rows asked for.
    """

    encoded: list[EncodedColumn]
    keys: np.ndarray  # shape (segments, 4): left, left_code, right, right_code
    rows: np.ndarray
    sums: np.ndarray
    squares: np.ndarray

    def means(self) -> np.ndarray:
        return self.sums / np.maximum(self.rows, 1)

    def standard_errors(self) -> np.ndarray:
        rows = np.maximum(self.rows, 2)
        variance = (self.squares - self.sums**2 / rows) / (rows - 1)
        return np.sqrt(np.maximum(variance, 0.0) / rows)

    def conditions(self, k: int) -> tuple[Condition, ...]:
        left, left_code, right, right_code = self.keys[k]
        first = self.encoded[left].conditions[left_code]
        return (first,) if right < 0 else (first, self.encoded[right].conditions[right_code])

    def mask(self, k: int) -> np.ndarray:
        """The segment's rows among all rows, from the codes (no comparison of raw values)."""
        left, left_code, right, right_code = self.keys[k]
        mask = self.encoded[left].codes == left_code
        if right >= 0:
            mask &= self.encoded[right].codes == right_code
        return mask


def count_cells(codes: np.ndarray, size: int, values: np.ndarray) -> tuple[np.ndarray, ...]:
    rows = np.bincount(codes, minlength=size)
    sums = np.bincount(codes, weights=values, minlength=size)
    squares = np.bincount(codes, weights=values * values, minlength=size)
    return rows, sums, squares


def cell_keys(left: int, left_size: int, right: int = -1, right_size: int = 1) -> np.ndarray:
    """Rows (left, left_code, right, right_code) in the order of a bincount of left*size+right."""
    left_codes, right_codes = np.divmod(np.arange(left_size * right_size), right_size)
    if right < 0:
        right_codes = np.full(left_size, -1)
    cells = len(left_codes)
    return np.column_stack([np.full(cells, left), left_codes, np.full(cells, right), right_codes])


def segment_table(
    encoded: list[EncodedColumn],
    values: np.ndarray,
    rows_used: np.ndarray,
    pairs: bool = True,
    singles: bool = True,
) -> SegmentTable:
    """Counts, sums and sums of squares of `values` per segment, over the rows in `rows_used`."""
    every_row = rows_used.all()  # skip copying every column when the table is over all rows
    used = values if every_row else values[rows_used]
    codes = [column.codes if every_row else column.codes[rows_used] for column in encoded]
    keys: list[np.ndarray] = []
    parts: list[tuple[np.ndarray, ...]] = []
    for i, column in enumerate(encoded if singles else ()):
        parts.append(count_cells(codes[i], column.size, used))
        keys.append(cell_keys(i, column.size))
    index_pairs = combinations(range(len(encoded)), 2) if pairs else ()
    for i, j in index_pairs:
        left, right = encoded[i], encoded[j]
        combined = codes[i] * right.size + codes[j]
        parts.append(count_cells(combined, left.size * right.size, used))
        keys.append(cell_keys(i, left.size, j, right.size))
    if not parts:  # one column: no pairs
        empty = np.zeros(0)
        return SegmentTable(encoded, np.zeros((0, 4), dtype=np.int64), empty, empty, empty)
    rows, sums, squares = (np.concatenate(arrays) for arrays in zip(*parts, strict=True))
    return SegmentTable(encoded, np.concatenate(keys), rows, sums, squares)
