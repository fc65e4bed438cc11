"""The model's input schema and a checked request's columns (`InputSchema`, `Columns`, `typed_columns`)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from mlgate.serving.client_errors import schema_error
from mlgate.serving.column_types import INT_LIMITS, KINDS, MAX_ABS_NUMBER, NUMBER_TYPES, column_array


@dataclass(frozen=True)
class InputSchema:
    """The columns a model takes, in order, each with its MLflow type."""

    columns: tuple[tuple[str, str], ...]
    required: frozenset[str]
    # Derived once rather than per request; `index` is shared by every frame
    # because pandas 3 takes ~90 us to build a string Index from a list.
    names: tuple[str, ...] = field(init=False, repr=False, compare=False)
    # Every column double, long or integer: a request may become one float64 block.
    all_numeric: bool = field(init=False, repr=False, compare=False)
    # The block's integer columns (positions) and the magnitude each may hold.
    integer_positions: np.ndarray = field(init=False, repr=False, compare=False)
    integer_limits: np.ndarray = field(init=False, repr=False, compare=False)
    index: pd.Index = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "names", tuple(n for n, _ in self.columns))
        object.__setattr__(self, "all_numeric", all(t == "double" or t in INT_LIMITS for _, t in self.columns))
        integers = [(i, INT_LIMITS[t]) for i, (_, t) in enumerate(self.columns) if t in INT_LIMITS]
        object.__setattr__(self, "integer_positions", np.array([i for i, _ in integers], dtype=np.intp))
        object.__setattr__(self, "integer_limits", np.array([m for _, m in integers], dtype=np.float64))
        object.__setattr__(self, "index", pd.Index(self.names))

    @classmethod
    def of(cls, input_schema: Sequence[tuple[str, str]], required: Iterable[str]) -> InputSchema:
        unknown = [(n, t) for n, t in input_schema if t not in KINDS]
        if unknown:
            raise ValueError(
                f"the model's signature has column types mlgate cannot serve: {unknown}; "
                f"supported types are {', '.join(KINDS)}"
            )
        return cls(tuple((str(n), str(t)) for n, t in input_schema), frozenset(required))

    def describe(self) -> str:
        return ", ".join(f"{n} ({t})" for n, t in self.columns)

    def check_names(self, given: Iterable[str], where: str) -> None:
        given = list(given)
        if len(given) == len(self.names) and tuple(given) == self.names:
            return
        known = set(self.names)
        duplicated = sorted({n for n in given if given.count(n) > 1})
        if duplicated:
            raise schema_error(f"{where} names columns more than once: {duplicated}")
        extra = [n for n in given if n not in known]
        missing = sorted(self.required - set(given))
        if extra or missing:
            parts = []
            if missing:
                parts.append(f"missing column(s) {missing}")
            if extra:
                parts.append(f"unknown column(s) {extra}")
            raise schema_error(f"{where} has {' and '.join(parts)}; the model takes: {self.describe()}")


# --- checked columns: what a request becomes ----------------------------------------------


@dataclass(frozen=True, slots=True)
class Columns:
    """A checked request: one typed array per model column, in the schema's order.

    `block` is the same values as one float64 matrix (rows x columns) when every
    column is double or integer: the cheapest form for a DataFrame and a compiled model.
    """

    schema: InputSchema
    arrays: tuple[np.ndarray, ...]
    block: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.arrays[0])

    def to_frame(self) -> pd.DataFrame:
        if self.block is not None:
            return pd.DataFrame(self.block, columns=self.schema.index, copy=False)
        typed = {
            # An explicit dtype: pandas 3 would otherwise turn object strings into its `str` dtype.
            n: pd.Series(a, dtype=a.dtype, copy=False) for n, a in zip(self.schema.names, self.arrays, strict=True)
        }
        return pd.DataFrame(typed, columns=self.schema.index)

    def as_mapping(self) -> dict[str, np.ndarray]:
        return dict(zip(self.schema.names, self.arrays, strict=True))

    @staticmethod
    def concat(parts: Sequence[Columns]) -> Columns:
        """Several requests' rows as one batch, in order."""
        if len(parts) == 1:
            return parts[0]
        first = parts[0]
        if all(p.block is not None for p in parts):
            block = np.concatenate([p.block for p in parts])
            return Columns(first.schema, tuple(block.T), block)
        arrays = tuple(np.concatenate(column) for column in zip(*(p.arrays for p in parts), strict=True))
        return Columns(first.schema, arrays)


def typed_columns(
    rows: list[list] | None, columns: list[list] | None, schema: InputSchema, from_text: bool
) -> Columns:
    """Rows or columns in schema order to typed columns; one float block when every column is a number."""
    if schema.all_numeric and not from_text:
        values = rows if rows is not None else columns
        if {type(v) for line in values for v in line} <= NUMBER_TYPES:
            try:
                block = np.array(values, dtype=np.float64)
            except OverflowError:
                block = None  # an integer past float64's range: the column check names it
            if block is not None and not (np.abs(block) > MAX_ABS_NUMBER).any():
                block = block if rows is not None else np.ascontiguousarray(block.T)
                if _whole_where_integer(block, schema):
                    return Columns(schema, tuple(block.T), block)
    if columns is None:
        columns = [list(c) for c in zip(*rows, strict=True)]
    arrays = tuple(
        column_array(n, t, values, from_text) for (n, t), values in zip(schema.columns, columns, strict=True)
    )
    return Columns(schema, arrays)


def _whole_where_integer(block: np.ndarray, schema: InputSchema) -> bool:
    """Whether the block's integer columns hold whole numbers in range or NaN; else the column check names the cell."""
    if not schema.integer_positions.size:
        return True
    values = block[:, schema.integer_positions]
    whole = np.isnan(values) | ((values == np.floor(values)) & (np.abs(values) <= schema.integer_limits))
    return bool(whole.all())
