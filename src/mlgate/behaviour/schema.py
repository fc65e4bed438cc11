"""The rows a behavioural gate may draw: what the data suite says a valid input is.

Numeric ranges come from `expect_column_values_to_be_between`, categories from
`expect_column_values_to_be_in_set`, nulls from `expect_column_values_to_not_be_null`
and the label set from the target's value set; what the suite leaves out comes
from the data. Columns come in the model's order. Also here: the hypothesis
profiles and strategies that draw such rows.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mlgate.training import feature_kinds

# Rows per drawn batch.
MAX_BATCH_ROWS = 5
# Rows in one whole frame the generic claims draw per example; one frame stands for
# EXAMPLES_PER_FRAME of the small batches a search of `behaviour_max_examples` once drew.
FRAME_ROWS = (32, 64)
EXAMPLES_PER_FRAME = 8
# Share of drawn values at each bound of a numeric column, and missing where allowed.
EDGE_SHARE = 0.1
# How many values of a row a failure message shows before "…".
SHOWN_VALUES = 6


@dataclass(frozen=True)
class ColumnSchema:
    name: str
    numeric: bool
    low: float | None = None
    high: float | None = None
    # Allowed values; drawn from when set, numeric or not.
    categories: tuple[Any, ...] = ()
    nullable: bool = False


@dataclass(frozen=True)
class Schema:
    columns: tuple[ColumnSchema, ...]
    labels: tuple[Any, ...]

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> ColumnSchema | None:
        return next((c for c in self.columns if c.name == name), None)


def plain(value: Any) -> Any:
    """A numpy scalar as the Python value it holds, so labels compare as plain values."""
    return value.item() if hasattr(value, "item") else value


def _by_column(suite: Mapping[str, Any] | None) -> dict[str, dict[str, dict[str, Any]]]:
    """{column: {expectation type: kwargs}} from a suite document."""
    found: dict[str, dict[str, dict[str, Any]]] = {}
    for expectation in (suite or {}).get("expectations", []):
        kwargs = expectation.get("kwargs", {})
        column = kwargs.get("column")
        if column is not None:
            found.setdefault(column, {})[expectation["type"]] = kwargs
    return found


def schema_for(
    suite: Mapping[str, Any] | None, reference: pd.DataFrame, labels: Sequence[Any], target: str
) -> Schema:
    """The row schema: bounds from the suite where it states them, else from `reference`.

    `reference` is the model's input frame (the holdout): it fixes the column
    order and tells numeric from categorical the way the model sees them.
    `labels` are the labels seen in the data, used when the suite names none.
    """
    declared = _by_column(suite)
    numeric_columns = set(feature_kinds(reference)[0])
    columns = []
    for name in reference.columns:
        rules = declared.get(name, {})
        values = reference[name]
        not_null = rules.get("expect_column_values_to_not_be_null")
        nullable = not_null is None or float(not_null.get("mostly") or 1.0) < 1.0
        in_set = rules.get("expect_column_values_to_be_in_set")
        categories = tuple(in_set["value_set"]) if in_set else ()
        if name in numeric_columns:
            between = rules.get("expect_column_values_to_be_between", {})
            low = between.get("min_value")
            high = between.get("max_value")
            observed = values.dropna()
            low = float(low) if low is not None else float(observed.min()) if len(observed) else 0.0
            high = float(high) if high is not None else float(observed.max()) if len(observed) else 0.0
            columns.append(ColumnSchema(name, True, low, max(low, high), categories, nullable))
        else:
            if not categories:
                categories = tuple(sorted({plain(v) for v in values.dropna()}, key=str))
            columns.append(ColumnSchema(name, False, categories=categories, nullable=nullable))
    target_set = declared.get(target, {}).get("expect_column_values_to_be_in_set")
    label_set = tuple(target_set["value_set"]) if target_set else tuple(plain(v) for v in labels)
    return Schema(columns=tuple(columns), labels=label_set)


def as_frame(schema: Schema, rows: Sequence[Sequence[Any]]) -> pd.DataFrame:
    """Rows as the model takes them: its column order, floats for numbers, objects else."""
    values = list(zip(*rows)) if rows else [()] * len(schema.columns)
    return pd.DataFrame(
        {
            column.name: pd.Series(
                column_values, dtype=float if column.numeric else object
            )
            for column, column_values in zip(schema.columns, values)
        },
        columns=schema.names,
    )


# --- hypothesis: profiles and strategies -----------------------------------------------


def hypothesis_profile(name: str, max_examples: int | None = None):
    """`gate`: bounded and reproducible, for a gate session; `deep`: for the test suite.

    Both derandomize (the same examples every run) and keep no example
    database, so a verdict depends only on the model and the spec. The gate
    profile does not shrink: a red session costs what a green one does, and the
    message already names the offending row; the deep profile shrinks it.
    """
    from hypothesis import HealthCheck, Phase, settings

    common = dict(
        deadline=None,
        derandomize=True,
        database=None,
        print_blob=False,
        report_multiple_bugs=False,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
    )
    if name == "gate":
        return settings(max_examples=max_examples or 60, phases=(Phase.explicit, Phase.generate), **common)
    if name == "deep":
        return settings(max_examples=max_examples or 500, phases=(Phase.explicit, Phase.generate, Phase.shrink), **common)
    raise ValueError(f"unknown hypothesis profile {name!r}; use 'gate' or 'deep'")


def _value_strategy(column: ColumnSchema):
    from hypothesis import strategies as st

    if column.categories:
        values = st.sampled_from(column.categories)
    else:
        values = st.floats(
            min_value=column.low, max_value=column.high, allow_nan=False, allow_infinity=False
        )
    if column.nullable:
        values = st.one_of(values, st.just(math.nan if column.numeric else None))
    return values


def schema_rows(schema: Schema, min_rows: int = 1, max_rows: int = MAX_BATCH_ROWS):
    """Batches of rows the suite accepts, as model-input frames."""
    from hypothesis import strategies as st

    row = st.tuples(*[_value_strategy(c) for c in schema.columns])
    return st.lists(row, min_size=min_rows, max_size=max_rows).map(lambda rows: as_frame(schema, rows))


def random_frame(schema: Schema, rows: int, rng, edges: bool = False) -> pd.DataFrame:
    """`rows` rows the suite accepts, drawn column by column with numpy: the bounds themselves,
    values inside them, categories, and missing values where the suite allows them.

    `edges`: also rows the suite would refuse but a server may be sent: missing (NaN) in
    any column and categories training never saw.
    """
    columns = {}
    for column in schema.columns:
        if edges:
            column = ColumnSchema(column.name, column.numeric, column.low, column.high, column.categories, True)
        pick = rng.random(rows)
        if column.categories:
            values = np.array(column.categories, dtype=object)[rng.integers(0, len(column.categories), rows)]
        else:
            values = rng.uniform(column.low, column.high, rows).astype(object)
        if column.numeric and not column.categories:  # the edges hypothesis favours: each bound, often
            values[pick < EDGE_SHARE] = column.low
            values[(pick >= EDGE_SHARE) & (pick < 2 * EDGE_SHARE)] = column.high
        if column.nullable:
            values[pick > 1 - EDGE_SHARE] = math.nan if column.numeric or edges else None
        if edges and not column.numeric:
            values[(pick > 1 - 2 * EDGE_SHARE) & (pick <= 1 - EDGE_SHARE)] = UNSEEN_CATEGORY
        columns[column.name] = pd.Series(values, dtype=float if column.numeric else object)
    return pd.DataFrame(columns, columns=schema.names)


def schema_batches(schema: Schema, min_rows: int = FRAME_ROWS[0], max_rows: int = FRAME_ROWS[1]):
    """One draw for every generic claim: a whole frame, a sub-batch of its rows (indices), a row order.

    The frame is drawn whole (random_frame, from a seed hypothesis draws): one
    example examines as many rows as many small batches did, at no generation
    cost per value, and every claim costs one model call per example.
    """
    from hypothesis import strategies as st

    def frame_of(rows: int):
        return st.tuples(
            st.integers(0, 2**32 - 1).map(lambda seed: random_frame(schema, rows, np.random.default_rng(seed))),
            st.lists(st.integers(0, rows - 1), min_size=1, max_size=min(rows, 8), unique=True).map(sorted),
            st.randoms(use_true_random=False).map(lambda r: r.sample(range(rows), rows)),
        )

    return st.integers(min_rows, max_rows).flatmap(frame_of)


def describe_row(frame: pd.DataFrame, index: int) -> str:
    """`{col=value, ...}` for one row, the first SHOWN_VALUES columns."""
    row = frame.iloc[index]
    shown = [f"{k}={_short(v)}" for k, v in list(row.items())[:SHOWN_VALUES]]
    more = " …" if len(row) > SHOWN_VALUES else ""
    return "{" + ", ".join(shown) + more + "}"


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return repr(value)


UNSEEN_CATEGORY = "__mlgate_unseen__"


def edge_frames(schema: Schema, min_rows: int = FRAME_ROWS[0], max_rows: int = FRAME_ROWS[1]):
    """Whole frames at the schema's edges (random_frame with `edges`), one per example, from a seed."""
    from hypothesis import strategies as st

    return st.tuples(st.integers(min_rows, max_rows), st.integers(0, 2**32 - 1)).map(
        lambda drawn: random_frame(schema, drawn[0], np.random.default_rng(drawn[1]), edges=True)
    )


def edge_rows(schema: Schema, min_rows: int = 1, max_rows: int = MAX_BATCH_ROWS):
    """Batches of rows at the schema's edges: any accepted value, missing in any column, unseen categories.

    Missing is NaN in every column, as the server's payload parser hands it to
    a model; a categorical column may also hold a category training never saw.
    """
    from hypothesis import strategies as st

    def value(column: ColumnSchema):
        values = [_value_strategy(column).map(lambda v: math.nan if v is None else v), st.just(math.nan)]
        if not column.numeric:
            values.append(st.just(UNSEEN_CATEGORY))
        return st.one_of(*values)

    row = st.tuples(*[value(c) for c in schema.columns])
    return st.lists(row, min_size=min_rows, max_size=max_rows).map(lambda rows: as_frame(schema, rows))
