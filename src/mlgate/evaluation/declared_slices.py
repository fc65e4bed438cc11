"""Declared slices: segments the project names in `[tool.mlgate] slices`, judged on every run.

Entry shapes (TOML inline tables, one per list item):
  {column = "channel"}                            every value of a column, and `is missing`
  {column = "income", bins = [0, 20000, 50000, inf]}   [a, b) intervals between the edges
  {columns = ["region", "channel"], bins = {income = [...]}}   every pair of values / bins
  {where = {channel = "phone", income = {from = 0, to = 20000}}, name = "..."}   one slice;
      a where value is a value, {in = [...]}, {from = a, to = b} (either may go) or {missing = true}
Every entry may add min_accuracy (0/1 losses) or max_mean_loss: the slice is red when its whole
interval is on the wrong side. With a champion, every judged slice is also compared with it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import product
from typing import Any

import numpy as np
import pandas as pd

from mlgate.evaluation.segments import Condition, describe_segment, is_numeric

KEYS = {"column", "columns", "bins", "where", "name", "min_accuracy", "max_mean_loss"}
MAX_DECLARED_VALUES = 50  # a numeric column with more distinct values needs bins


class SliceSpecError(ValueError):
    """A declared slice that cannot be read; the message names the entry and the fix."""


@dataclass(frozen=True)
class DeclaredSlice:
    """One entry of the spec, validated: a family of slices (columns) or one slice (where)."""

    index: int
    entry: dict
    columns: tuple[str, ...] = ()
    bins: dict[str, tuple[float, ...]] = field(default_factory=dict)
    where: tuple[Condition, ...] = ()
    name: str | None = None
    min_accuracy: float | None = None
    max_mean_loss: float | None = None

    def fail(self, problem: str) -> SliceSpecError:
        return SliceSpecError(f"slices[{self.index}] = {self.entry!r}: {problem}")


def parse_edges(column: str, edges: Any, fail) -> tuple[float, ...]:
    if not isinstance(edges, list) or len(edges) < 2:
        raise fail(f"bins for {column!r} must be a list of at least two numbers, e.g. [0, 20000, inf]")
    if not all(isinstance(e, int | float) and not isinstance(e, bool) for e in edges):
        raise fail(f"bins for {column!r} must be numbers; got {edges!r}")
    if any(b <= a for a, b in zip(edges[:-1], edges[1:], strict=True)):
        raise fail(f"bins for {column!r} must increase strictly; got {edges!r}")
    return tuple(float(e) for e in edges)


def parse_condition(column: str, value: Any, fail) -> Condition:
    if not isinstance(value, dict):
        return Condition(column, "equals", value=value)
    if value == {"missing": True}:
        return Condition(column, "missing")
    if set(value) == {"in"} and isinstance(value["in"], list) and value["in"]:
        return Condition(column, "in", values=tuple(value["in"]))
    if value and set(value) <= {"from", "to"}:
        bounds = [value.get("from"), value.get("to")]
        if all(b is None or isinstance(b, int | float) for b in bounds):
            low, high = (None if b is None else float(b) for b in bounds)
            if low is None or high is None or low < high:
                return Condition(column, "range", low=low, high=high)
    raise fail(f"where.{column} = {value!r} is not a slice condition; give a value, "
               "{in = [...]}, {from = a, to = b} or {missing = true}")


def parse_entry(index: int, entry: Any) -> DeclaredSlice:
    spec = DeclaredSlice(index, entry if isinstance(entry, dict) else {"entry": entry})
    if not isinstance(entry, dict):
        raise spec.fail("each slice is a table, e.g. {column = \"channel\"}")
    unknown = set(entry) - KEYS
    if unknown:
        raise spec.fail(f"unknown key(s) {sorted(unknown)}; the keys are {sorted(KEYS)}")
    shapes = [key for key in ("column", "columns", "where") if key in entry]
    if len(shapes) != 1:
        raise spec.fail("give exactly one of column, columns or where")
    if "where" in entry:
        where = entry["where"]
        if not isinstance(where, dict) or not 1 <= len(where) <= 2:
            raise spec.fail("where must be a table of one or two columns, e.g. {channel = \"phone\"}")
        if "bins" in entry:
            raise spec.fail("bins go with column or columns, not with where")
        conditions = tuple(parse_condition(str(c), v, spec.fail) for c, v in where.items())
        return build(spec, entry, where=conditions)
    columns = [entry["column"]] if "column" in entry else entry["columns"]
    if not isinstance(columns, list) or not 1 <= len(columns) <= 2 or not all(
        isinstance(c, str) for c in columns
    ) or len(set(columns)) != len(columns):
        raise spec.fail("column is a name; columns is a list of two different names")
    bins = entry.get("bins", {})
    if "column" in entry and "bins" in entry:
        bins = {columns[0]: bins}
    if not isinstance(bins, dict) or not set(bins) <= set(columns):
        raise spec.fail("with columns, bins is a table by column, e.g. bins = {income = [0, 20000, inf]}")
    parsed = {c: parse_edges(c, edges, spec.fail) for c, edges in bins.items()}
    return build(spec, entry, columns=tuple(columns), bins=parsed)


def build(spec: DeclaredSlice, entry: dict, **shape: Any) -> DeclaredSlice:
    name = entry.get("name")
    if name is not None and not isinstance(name, str):
        raise spec.fail("name must be a string")
    limits = {key: entry.get(key) for key in ("min_accuracy", "max_mean_loss")}
    for key, limit in limits.items():
        if limit is not None and (not isinstance(limit, int | float) or isinstance(limit, bool)):
            raise spec.fail(f"{key} must be a number")
    if limits["min_accuracy"] is not None and not 0 <= limits["min_accuracy"] <= 1:
        raise spec.fail("min_accuracy is a share of rows between 0 and 1")
    return DeclaredSlice(spec.index, entry, name=name, **shape, **limits)


def parse_declared_slices(entries: Any) -> list[DeclaredSlice]:
    """The validated spec; SliceSpecError names the first bad entry and how to fix it."""
    if not isinstance(entries, list):
        raise SliceSpecError(f"slices = {entries!r}: give a list of tables, e.g. "
                             "slices = [{column = \"channel\"}]")
    return [parse_entry(index, entry) for index, entry in enumerate(entries)]


def column_conditions(spec: DeclaredSlice, frame: pd.DataFrame, column: str) -> list[Condition]:
    series = frame[column]
    if column in spec.bins:
        edges = spec.bins[column]
        conditions = [
            Condition(column, "range", low=None if np.isinf(low) else low,
                      high=None if np.isinf(high) else high)
            for low, high in zip(edges[:-1], edges[1:], strict=True)
        ]
    else:
        values = series.dropna().unique()
        if is_numeric(series) and len(values) > MAX_DECLARED_VALUES:
            raise spec.fail(f"{column!r} is numeric with {len(values)} distinct values; give bins, "
                            "e.g. bins = [0, 20000, 50000, inf]")
        conditions = [Condition(column, "equals", value=v) for v in sorted(values, key=str)]
    if series.isna().any():
        conditions.append(Condition(column, "missing"))
    return conditions


def expand(spec: DeclaredSlice, frame: pd.DataFrame) -> list[tuple[Condition, ...]]:
    """The concrete slices of one entry on this holdout."""
    named = spec.columns or tuple(condition.column for condition in spec.where)
    missing = [column for column in named if column not in frame.columns]
    if missing:
        raise spec.fail(f"no column {missing} in the holdout; its columns are {list(frame.columns)}")
    if spec.where:
        return [spec.where]
    per_column = [column_conditions(spec, frame, column) for column in spec.columns]
    return [tuple(combination) for combination in product(*per_column)]


def slice_name(spec: DeclaredSlice, conditions: tuple[Condition, ...]) -> str:
    return spec.name if spec.name and spec.where else describe_segment(conditions)
