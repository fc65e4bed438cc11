"""Behavioural gates: the input schema, the declared-expectation spec, and the checks.

Pure library, no pytest. `gates/model/test_behaviour.py` searches these checks
with hypothesis; `tests/test_behaviour.py` runs the same checks on broken
models to show each one can go red.

* The schema (`schema_for`) is what the data suite says a valid row is:
  numeric ranges from `expect_column_values_to_be_between`, categories from
  `expect_column_values_to_be_in_set`, nulls from `..._to_not_be_null`, and the
  label set from the target's value set. Columns come in the model's order.
* The spec (`read_spec`) is a TOML file next to the suite,
  `<dataset>.behaviour.toml`, where a user declares what must hold:
  `[[invariance]]` (bounded noise on some columns flips at most a share of
  holdout predictions) and `[[directional]]` (raising a column never moves one
  label's probability the wrong way by more than a tolerance).
* A check returns what it measured or raises `BehaviourViolation`, whose
  first line names the claim, the number and the offending row: that line is
  what the gate report shows.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from model.training import feature_kinds

SPEC_SUFFIX = ".behaviour.toml"
# Two answers for the same row are "the same" within this (probabilities are in [0, 1]).
ANSWER_ATOL = 1e-9
# A row's probabilities may sum to 1 within this.
PROBABILITY_SUM_ATOL = 1e-6
# Rows per drawn batch in the schema strategies.
MAX_BATCH_ROWS = 5
# How many values of a row a failure message shows before "…".
SHOWN_VALUES = 6
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
EFFECTS = ("not_lower", "not_higher")


class BehaviourSpecError(ValueError):
    """A behaviour spec mlgate cannot use; the message names the file, entry and key."""


class BehaviourViolation(AssertionError):
    """A model broke a behavioural claim; the first line says how, on which row."""

    def __init__(self, message: str, claim: str = "", value: float | None = None) -> None:
        super().__init__(message)
        self.claim = claim  # which claim, when several are searched together
        self.value = value  # what was measured, when the claim measures a share


# --- the schema: what the data suite says a valid row is -----------------------------


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


def _plain(value: Any) -> Any:
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
                categories = tuple(sorted({_plain(v) for v in values.dropna()}, key=str))
            columns.append(ColumnSchema(name, False, categories=categories, nullable=nullable))
    target_set = declared.get(target, {}).get("expect_column_values_to_be_in_set")
    label_set = tuple(target_set["value_set"]) if target_set else tuple(_plain(v) for v in labels)
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


# --- the generic claims: any model, any row of the schema ------------------------------

GENERIC_CLAIMS = ("valid_output", "batch_independent", "order_independent", "repeatable")


def schema_batches(schema: Schema, max_rows: int = MAX_BATCH_ROWS):
    """One draw for every generic claim: a batch of 2+ rows, one row's index, a row order."""
    from hypothesis import strategies as st

    return schema_rows(schema, min_rows=2, max_rows=max_rows).flatmap(
        lambda frame: st.tuples(
            st.just(frame), st.integers(0, len(frame) - 1), st.permutations(range(len(frame)))
        )
    )


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


def _proba(model, frame: pd.DataFrame) -> np.ndarray:
    return np.asarray(model.predict_proba(frame), dtype=float)


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=0, atol=ANSWER_ATOL))


def _where(frame: pd.DataFrame, i: int) -> str:
    return f"row {i} of a {len(frame)}-row batch {describe_row(frame, i)}"


def check_valid_output(model, frame: pd.DataFrame, labels: Sequence[Any], proba: np.ndarray | None = None) -> int:
    """Probabilities in [0, 1] summing to 1, one column per class; labels from the known set."""
    proba = _proba(model, frame) if proba is None else proba
    predicted = np.asarray(model.predict(frame))
    rows = len(frame)
    known = {_plain(v) for v in labels}
    shown_known = sorted(known, key=str)
    classes = [_plain(c) for c in getattr(model, "classes_", [])]
    if proba.ndim != 2 or proba.shape[0] != rows or (classes and proba.shape[1] != len(classes)):
        raise BehaviourViolation(
            f"predict_proba returned shape {proba.shape} for {rows} row(s) and {len(classes)} classes"
        )
    unknown = [c for c in classes if c not in known]
    if unknown:
        raise BehaviourViolation(f"the model's classes {unknown} are not in the label set {shown_known}")
    for i, p in enumerate(proba):
        if not np.all(np.isfinite(p)) or np.any(p < -ANSWER_ATOL) or np.any(p > 1 + ANSWER_ATOL):
            raise BehaviourViolation(f"probabilities {np.round(p, 6).tolist()} outside [0, 1] for {_where(frame, i)}")
        if abs(float(p.sum()) - 1.0) > PROBABILITY_SUM_ATOL:
            raise BehaviourViolation(
                f"probabilities {np.round(p, 6).tolist()} sum to {p.sum():.6g}, not 1, for {_where(frame, i)}"
            )
    if predicted.ndim != 1 or len(predicted) != rows:
        raise BehaviourViolation(f"predict returned shape {predicted.shape} for {rows} row(s)")
    for i, label in enumerate(predicted):
        if _plain(label) not in known:
            raise BehaviourViolation(
                f"predicted label {_plain(label)!r} is not in the label set {shown_known} for {_where(frame, i)}"
            )
    return rows


def check_batch_independent(model, frame: pd.DataFrame, index: int, proba: np.ndarray | None = None) -> int:
    """Row `index` gets the same probabilities alone as inside `frame`."""
    proba = _proba(model, frame) if proba is None else proba
    alone = _proba(model, frame.iloc[[index]])
    if not _same(proba[[index]], alone):
        raise BehaviourViolation(
            f"{_where(frame, index)} gets {np.round(proba[index], 6).tolist()} in the batch but "
            f"{np.round(alone[0], 6).tolist()} alone"
        )
    return len(frame)


def check_order_independent(model, frame: pd.DataFrame, order: Sequence[int], proba: np.ndarray | None = None) -> int:
    """Reordering a batch reorders its probabilities, nothing else."""
    proba = _proba(model, frame) if proba is None else proba
    order = list(order)
    shuffled = _proba(model, frame.iloc[order].reset_index(drop=True))
    for position, source in enumerate(order):
        if not _same(proba[[source]], shuffled[[position]]):
            raise BehaviourViolation(
                f"{_where(frame, source)} gets {np.round(proba[source], 6).tolist()} in row order "
                f"{list(range(len(frame)))} but {np.round(shuffled[position], 6).tolist()} in order {order}"
            )
    return len(frame)


def check_repeatable(model, frame: pd.DataFrame, proba: np.ndarray | None = None) -> int:
    """The same batch twice gets the same probabilities."""
    first = _proba(model, frame) if proba is None else proba
    second = _proba(model, frame)
    for i in range(len(frame)):
        if not _same(first[[i]], second[[i]]):
            raise BehaviourViolation(
                f"{_where(frame, i)} gets {np.round(first[i], 6).tolist()} the first time and "
                f"{np.round(second[i], 6).tolist()} the second"
            )
    return len(frame)


def check_generic(model, labels: Sequence[Any], drawn, claims: Sequence[str] = GENERIC_CLAIMS) -> dict[str, float]:
    """The generic claims on one draw of `schema_batches`, sharing the batch's first answer.

    A model that raises on a schema row breaks the claim being checked: the
    error becomes a BehaviourViolation like any other wrong answer.
    """
    frame, index, order = drawn
    measured: dict[str, float] = {}
    claim = claims[0] if "valid_output" not in claims else "valid_output"
    try:
        proba = _proba(model, frame)
        for claim in claims:
            if claim == "valid_output":
                measured[claim] = check_valid_output(model, frame, labels, proba)
            elif claim == "batch_independent":
                measured[claim] = check_batch_independent(model, frame, index, proba)
            elif claim == "order_independent":
                measured[claim] = check_order_independent(model, frame, order, proba)
            elif claim == "repeatable":
                measured[claim] = check_repeatable(model, frame, proba)
            else:
                raise ValueError(f"unknown generic claim {claim!r}; use one of {GENERIC_CLAIMS}")
    except BehaviourViolation as violation:
        violation.claim = claim
        raise
    except (ValueError, TypeError, ArithmeticError, IndexError, KeyError) as error:
        raise BehaviourViolation(
            f"the model raised {type(error).__name__}: {_first_line(error)} on {_crashing_row(model, frame)}",
            claim=claim,
        ) from error
    return measured


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else ""


def _crashing_row(model, frame: pd.DataFrame) -> str:
    """The first row the model cannot answer alone, or the batch when each row alone is fine."""
    for i in range(len(frame)):
        try:
            model.predict_proba(frame.iloc[[i]])
            model.predict(frame.iloc[[i]])
        except Exception:  # noqa: BLE001 - any error names the row
            return _where(frame, i)
    return f"a {len(frame)}-row batch (each row alone is answered) {describe_row(frame, 0)}"


# --- the spec: expectations a user declares ---------------------------------------------


@dataclass(frozen=True)
class Invariance:
    """Noise of at most `noise[column]` on those columns flips at most a share of answers."""

    name: str
    claim: str
    noise: Mapping[str, float]
    max_flipped_fraction: float

    kind = "invariance"


@dataclass(frozen=True)
class Directional:
    """Raising `column` by up to `max_increase` moves P(`label`) only the declared way."""

    name: str
    claim: str
    column: str
    max_increase: float
    label: Any
    effect: str  # not_lower or not_higher
    tolerance: float = 0.0  # a move the wrong way of at most this much is allowed
    max_violating_fraction: float = 0.0

    kind = "directional"


Expectation = Invariance | Directional


@dataclass(frozen=True)
class BehaviourSpec:
    path: Path
    invariance: tuple[Invariance, ...] = ()
    directional: tuple[Directional, ...] = ()

    @property
    def expectations(self) -> tuple[Expectation, ...]:
        return self.invariance + self.directional

    def named(self, name: str) -> Expectation:
        return next(e for e in self.expectations if e.name == name)


def spec_path(expectations_dir: str | Path, dataset_name: str) -> Path:
    """Where a dataset's behaviour spec lives: next to its data suite."""
    return Path(expectations_dir) / f"{dataset_name}{SPEC_SUFFIX}"


_KEYS = {
    "invariance": ({"name", "claim", "noise", "max_flipped_fraction"}, set()),
    "directional": (
        {"name", "claim", "column", "max_increase", "label", "effect"},
        {"tolerance", "max_violating_fraction"},
    ),
}


def read_spec(path: Path, schema: Schema | None = None) -> BehaviourSpec:
    """Parse a spec and check it against `schema`; a BehaviourSpecError names what to fix.

    Without a schema (at collection, before any data is read) only the file's
    own shape is checked: columns and labels are checked once the data is in.
    """
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise BehaviourSpecError(f"behaviour spec {path} is not valid TOML: {error}") from None
    unknown = sorted(set(document) - set(_KEYS))
    if unknown:
        raise BehaviourSpecError(
            f"behaviour spec {path} has unknown table(s) {unknown}; use [[invariance]] and [[directional]]"
        )
    seen: set[str] = set()
    parsed: dict[str, list] = {"invariance": [], "directional": []}
    for kind, entries in document.items():
        if not isinstance(entries, list):
            raise BehaviourSpecError(f"behaviour spec {path}: '{kind}' must be an array of tables ([[{kind}]])")
        for position, entry in enumerate(entries, start=1):
            where = f"behaviour spec {path}, [[{kind}]] #{position}"
            required, optional = _KEYS[kind]
            missing = sorted(required - set(entry))
            extra = sorted(set(entry) - required - optional)
            if missing or extra:
                problems = ([f"missing {missing}"] if missing else []) + ([f"unknown {extra}"] if extra else [])
                raise BehaviourSpecError(
                    f"{where}: {'; '.join(problems)}; it takes {sorted(required)} and optionally {sorted(optional)}"
                )
            name = entry["name"]
            if not isinstance(name, str) or not NAME_PATTERN.match(name):
                raise BehaviourSpecError(f"{where}: name {name!r} must be lower_snake_case (it names a test)")
            if name in seen:
                raise BehaviourSpecError(f"{where}: name '{name}' is used twice; names must be unique")
            seen.add(name)
            where = f"behaviour spec {path}, '{name}'"
            claim = _text(entry["claim"], where, "claim")
            if kind == "invariance":
                parsed[kind].append(_invariance(entry, name, claim, where, schema))
            else:
                parsed[kind].append(_directional(entry, name, claim, where, schema))
    return BehaviourSpec(path, tuple(parsed["invariance"]), tuple(parsed["directional"]))


def _text(value: Any, where: str, key: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise BehaviourSpecError(f"{where}: '{key}' must be a sentence saying what the expectation guards")
    return value


def _number(value: Any, where: str, key: str, *, low: float, high: float | None = None, open_low: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise BehaviourSpecError(f"{where}: '{key}' is {value!r}; it must be a number")
    if value < low or (open_low and value == low) or (high is not None and value > high):
        bound = f"above {low:g}" if open_low else f"at least {low:g}"
        bound += f" and at most {high:g}" if high is not None else ""
        raise BehaviourSpecError(f"{where}: '{key}' is {value!r}; it must be {bound}")
    return float(value)


def _numeric_column(name: Any, where: str, schema: Schema | None) -> str:
    if not isinstance(name, str):
        raise BehaviourSpecError(f"{where}: column {name!r} must be a column name")
    if schema is None:
        return name
    column = schema.column(name)
    if column is None:
        shown = ", ".join(schema.names[:12]) + (" …" if len(schema.names) > 12 else "")
        raise BehaviourSpecError(f"{where}: column {name!r} is not a model input; inputs are: {shown}")
    if not column.numeric or column.categories:
        raise BehaviourSpecError(f"{where}: column '{name}' is categorical; noise and raises need a numeric column")
    return name


def _invariance(entry, name, claim, where, schema: Schema | None) -> Invariance:
    noise = entry["noise"]
    if not isinstance(noise, dict) or not noise:
        raise BehaviourSpecError(f"{where}: 'noise' must be a table of column = largest noise, e.g. {{ \"age\" = 1.0 }}")
    bounds = {
        _numeric_column(column, where, schema): _number(size, where, f"noise.{column}", low=0.0, open_low=True)
        for column, size in noise.items()
    }
    fraction = _number(entry["max_flipped_fraction"], where, "max_flipped_fraction", low=0.0, high=1.0)
    return Invariance(name, claim, bounds, fraction)


def _directional(entry, name, claim, where, schema: Schema | None) -> Directional:
    column = _numeric_column(entry["column"], where, schema)
    label = entry["label"]
    if schema is not None and label not in schema.labels:
        raise BehaviourSpecError(f"{where}: label {label!r} is not in the label set {list(schema.labels)}")
    effect = entry["effect"]
    if effect not in EFFECTS:
        raise BehaviourSpecError(f"{where}: effect {effect!r} must be one of {list(EFFECTS)}")
    return Directional(
        name,
        claim,
        column,
        _number(entry["max_increase"], where, "max_increase", low=0.0, open_low=True),
        label,
        effect,
        _number(entry.get("tolerance", 0.0), where, "tolerance", low=0.0, high=1.0),
        _number(entry.get("max_violating_fraction", 0.0), where, "max_violating_fraction", low=0.0, high=1.0),
    )


# --- declared checks: perturbations of the holdout, many scored at once -----------------


def perturbations(expectation: Expectation, rows: int):
    """Hypothesis draws for one expectation: a noise matrix, or a raise per row."""
    from hypothesis import strategies as st
    from hypothesis.extra.numpy import arrays

    if isinstance(expectation, Invariance):
        unit = st.floats(-1.0, 1.0, allow_nan=False, allow_infinity=False)
        scale = np.array(list(expectation.noise.values()))
        return arrays(np.float64, (rows, len(scale)), elements=unit).map(lambda a: a * scale)
    step = st.floats(0.0, expectation.max_increase, allow_nan=False, allow_infinity=False)
    return arrays(np.float64, (rows,), elements=step)


def declared_draws(spec: BehaviourSpec, rows: int):
    """One draw for every declared expectation: {name: perturbation}."""
    from hypothesis import strategies as st

    return st.fixed_dictionaries({e.name: perturbations(e, rows) for e in spec.expectations})


@dataclass(frozen=True)
class Measurement:
    """One perturbation's result: the measured share of holdout rows against the limit."""

    value: float  # flipped (invariance) or violating (directional) fraction
    limit: float
    detail: str  # the worst row, for a message

    @property
    def met(self) -> bool:
        return self.value <= self.limit + 1e-12


def _perturbed(expectation: Expectation, base: pd.DataFrame, draw: np.ndarray) -> pd.DataFrame:
    frame = base.copy()
    if isinstance(expectation, Invariance):
        for j, column in enumerate(expectation.noise):
            frame[column] = frame[column].to_numpy(dtype=float) + draw[:, j]
    else:
        frame[expectation.column] = frame[expectation.column].to_numpy(dtype=float) + draw
    return frame


def measure(model, base: pd.DataFrame, pairs: Sequence[tuple[Expectation, np.ndarray]]) -> list[Measurement]:
    """Each (expectation, draw) applied to the holdout `base`; all scored in one call per answer kind."""
    if not pairs:
        return []
    rows = len(base)
    stacked = pd.concat([base] + [_perturbed(e, base, d) for e, d in pairs], ignore_index=True)
    labels = np.asarray(model.predict(stacked)) if any(isinstance(e, Invariance) for e, _ in pairs) else None
    proba = _proba(model, stacked) if any(isinstance(e, Directional) for e, _ in pairs) else None
    classes = [_plain(c) for c in getattr(model, "classes_", [])]
    found = []
    for k, (expectation, draw) in enumerate(pairs, start=1):
        here = slice(k * rows, (k + 1) * rows)
        if isinstance(expectation, Invariance):
            before, after = labels[:rows], labels[here]
            flipped = np.flatnonzero(after != before)
            detail = ""
            if flipped.size:
                i = int(flipped[0])
                moved = ", ".join(f"{c} {draw[i, j]:+.4g}" for j, c in enumerate(expectation.noise))
                detail = (
                    f"holdout row {i} {describe_row(base, i)} flips {_plain(before[i])!r} -> "
                    f"{_plain(after[i])!r} with {moved}"
                )
            found.append(Measurement(flipped.size / rows, expectation.max_flipped_fraction, detail))
            continue
        # A label the model never learned has probability 0 everywhere: nothing can move it.
        if expectation.label not in classes:
            found.append(Measurement(0.0, expectation.max_violating_fraction, ""))
            continue
        column = classes.index(expectation.label)
        before, after = proba[:rows, column], proba[here, column]
        sign = 1.0 if expectation.effect == "not_lower" else -1.0
        wrong_way = sign * (before - after)  # > 0: moved against the declared effect
        bad = np.flatnonzero(wrong_way > expectation.tolerance + 1e-12)
        detail = ""
        if bad.size:
            i = int(bad[np.argmax(wrong_way[bad])])
            detail = (
                f"holdout row {i} {describe_row(base, i)}: '{expectation.column}' {draw[i]:+.4g} moves "
                f"P({expectation.label!r}) {before[i]:.4g} -> {after[i]:.4g}"
            )
        found.append(Measurement(bad.size / rows, expectation.max_violating_fraction, detail))
    return found


def violation_message(expectation: Expectation, measurement: Measurement, rows: int) -> str:
    """The first line a failing declared gate shows."""
    share = f"{measurement.value:.1%} of {rows} holdout rows"
    if isinstance(expectation, Invariance):
        noise = ", ".join(f"'{c}' ±{v:g}" for c, v in expectation.noise.items())
        head = (
            f"invariance '{expectation.name}' broken: noise within {noise} flips the label of {share} "
            f"(allowed {expectation.max_flipped_fraction:.1%})"
        )
    else:
        way = "lowers" if expectation.effect == "not_lower" else "raises"
        head = (
            f"directional '{expectation.name}' broken: raising '{expectation.column}' by up to "
            f"{expectation.max_increase:g} {way} P({expectation.label!r}) by more than "
            f"{expectation.tolerance:g} on {share} (allowed {expectation.max_violating_fraction:.1%})"
        )
    return f"{head}; e.g. {measurement.detail}. Claim: {expectation.claim}"


def check_declared(model, spec: BehaviourSpec, base: pd.DataFrame, drawn: Mapping[str, np.ndarray], claims: Sequence[str]) -> dict[str, float]:
    """The named expectations on one draw of `declared_draws`, scored together."""
    expectations = [spec.named(name) for name in claims]
    found = measure(model, base, [(e, drawn[e.name]) for e in expectations])
    for expectation, measurement in zip(expectations, found):
        if not measurement.met:
            raise BehaviourViolation(
                violation_message(expectation, measurement, len(base)), claim=expectation.name, value=measurement.value
            )
    return {e.name: m.value for e, m in zip(expectations, found)}


# --- searching claims with hypothesis ----------------------------------------------------

# Draws kept per claim for a replay on another model (the champion); the first ones,
# from hypothesis' generation phase, are the most varied.
KEPT_DRAWS = 200


@dataclass
class ClaimOutcome:
    """What a search found for one claim."""

    examples: int = 0
    worst: float | None = None
    violation: str | None = None  # the falsifying example's message; None if it held
    draws: list = field(default_factory=list, repr=False)

    @property
    def held(self) -> bool:
        return self.violation is None


def search(strategy, check: Callable[[Any, tuple[str, ...]], Mapping[str, float]], claims: Sequence[str], settings, keep_draws: bool = False) -> dict[str, ClaimOutcome]:
    """Search all `claims` with one stream of draws, so each call to the model serves all of them.

    `check(drawn, active)` returns {claim: measure} or raises a
    BehaviourViolation naming its claim. A falsified claim gets hypothesis'
    shrunk example and is set aside; the others are searched again without it,
    so every claim ends either falsified or held for the whole budget.
    """
    from hypothesis import given

    outcomes = {claim: ClaimOutcome() for claim in claims}
    remaining = list(claims)
    while remaining:
        active = tuple(remaining)
        for claim in active:
            outcomes[claim] = ClaimOutcome()

        @settings
        @given(strategy)
        def claims_hold(drawn):
            for claim in active:
                outcome = outcomes[claim]
                outcome.examples += 1
                if keep_draws and len(outcome.draws) < KEPT_DRAWS:
                    outcome.draws.append(drawn[claim])
            try:
                measured = check(drawn, active)
            except BehaviourViolation as violation:
                if violation.value is not None and violation.claim in outcomes:
                    measured = {violation.claim: violation.value}
                    _note_worst(outcomes, measured)
                raise
            _note_worst(outcomes, measured)

        try:
            claims_hold()
        except BaseException as error:  # noqa: BLE001 - only violations are handled, the rest re-raised
            violation = _violation_in(error)
            if violation is None or violation.claim not in remaining:
                raise
            outcomes[violation.claim].violation = str(violation)
            remaining.remove(violation.claim)
        else:
            break
    return outcomes


def _note_worst(outcomes: dict[str, ClaimOutcome], measured: Mapping[str, float]) -> None:
    for claim, value in measured.items():
        outcome = outcomes[claim]
        outcome.worst = value if outcome.worst is None else max(outcome.worst, value)


def _violation_in(error: BaseException) -> BehaviourViolation | None:
    """The BehaviourViolation hypothesis raised, also from inside a FlakyFailure group."""
    if isinstance(error, BehaviourViolation):
        return error
    if isinstance(error, BaseExceptionGroup):
        for inner in error.exceptions:
            found = _violation_in(inner)
            if found is not None:
                return found
    return None


def replay(model, spec: BehaviourSpec, base: pd.DataFrame, outcomes: Mapping[str, ClaimOutcome]) -> dict[str, list[Measurement]]:
    """Every kept draw of every declared expectation, on `model`, in one or two calls."""
    pairs = [(spec.named(name), draw) for name, outcome in outcomes.items() for draw in outcome.draws]
    measured: dict[str, list[Measurement]] = {name: [] for name in outcomes}
    for (expectation, _), measurement in zip(pairs, measure(model, base, pairs)):
        measured[expectation.name].append(measurement)
    return measured


def regressed(candidate: ClaimOutcome, on_champion: Sequence[Measurement]) -> bool:
    """A regression: the champion met the expectation on every draw, the candidate broke it."""
    return not candidate.held and bool(on_champion) and all(m.met for m in on_champion)
