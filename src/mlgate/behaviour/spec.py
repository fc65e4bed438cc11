"""The behaviour spec: expectations a user declares in `<dataset>.behaviour.toml`.

The file sits next to the data suite. `[[invariance]]`: bounded noise on some
columns flips at most a share of holdout predictions. `[[directional]]`:
raising a column never moves one label's probability the wrong way by more
than a tolerance. Each entry's `name` names its gate; a bad file is a
`BehaviourSpecError` naming the file, the entry and the key to fix.

A regressor's claims are the same two tables on its predicted number: an
invariance entry with `max_change` (the target's unit) or `max_relative_change`
(a share of the prediction) counts a row as flipped when noise moves its
prediction further than that; a directional entry without `label` is about the
prediction itself ("the price rises with the area": effect = "not_lower"), its
`tolerance` in the target's unit. A forest is a step function: the claim is
"not lower", never "strictly higher".
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlgate.behaviour.schema import Schema

SPEC_SUFFIX = ".behaviour.toml"
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
EFFECTS = ("not_lower", "not_higher")


class BehaviourSpecError(ValueError):
    """A behaviour spec mlgate cannot use; the message names the file, entry and key."""


@dataclass(frozen=True)
class Invariance:
    """Noise of at most `noise[column]` on those columns flips at most a share of answers."""

    name: str
    claim: str
    noise: Mapping[str, float]
    max_flipped_fraction: float
    # A regressor's: a row is flipped when its prediction moves further than this (target unit) ...
    max_change: float | None = None
    # ... or than this share of its prediction's size.
    max_relative_change: float | None = None

    kind = "invariance"

    @property
    def on_prediction(self) -> bool:
        """A claim on a regressor's predicted number, not on a label."""
        return self.max_change is not None or self.max_relative_change is not None

    def allowed_change(self, before):
        """How far each prediction in `before` may move under the noise."""
        if self.max_change is not None:
            return self.max_change
        return self.max_relative_change * abs(before)

    @property
    def limit(self) -> float:
        """The largest share of holdout rows a draw may flip."""
        return self.max_flipped_fraction


@dataclass(frozen=True)
class Directional:
    """Raising `column` by up to `max_increase` moves P(`label`) only the declared way."""

    name: str
    claim: str
    column: str
    max_increase: float
    label: Any  # None: the claim is on a regressor's predicted number
    effect: str  # not_lower or not_higher
    tolerance: float = 0.0  # a move the wrong way of at most this much is allowed (a probability, or the target's unit)
    max_violating_fraction: float = 0.0

    kind = "directional"

    @property
    def on_prediction(self) -> bool:
        """A claim on a regressor's predicted number, not on one label's probability."""
        return self.label is None

    @property
    def limit(self) -> float:
        """The largest share of holdout rows a draw may move the wrong way."""
        return self.max_violating_fraction


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
    "invariance": ({"name", "claim", "noise"}, {"max_flipped_fraction", "max_change", "max_relative_change"}),
    "directional": (
        {"name", "claim", "column", "max_increase", "effect"},
        {"label", "tolerance", "max_violating_fraction"},
    ),
}
TASKS = ("classification", "regression")


def read_spec(path: Path, schema: Schema | None = None, task: str | None = None) -> BehaviourSpec:
    """Parse a spec and check it against `schema` and `task`; a BehaviourSpecError names what to fix.

    Without a schema (at collection, before any data is read) only the file's
    own shape is checked: columns, labels and the task are checked once the data is in.
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
            _check_task(kind, entry, where, task)
            if kind == "invariance":
                parsed[kind].append(_invariance(entry, name, claim, where, schema))
            else:
                parsed[kind].append(_directional(entry, name, claim, where, schema))
    return BehaviourSpec(path, tuple(parsed["invariance"]), tuple(parsed["directional"]))


def _on_prediction(kind: str, entry: Mapping[str, Any]) -> bool:
    """Whether an entry claims something of a regressor's predicted number (see the module docstring)."""
    if kind == "directional":
        return "label" not in entry
    return "max_change" in entry or "max_relative_change" in entry


def _check_task(kind: str, entry: Mapping[str, Any], where: str, task: str | None) -> None:
    """A claim on a label for a regressor, or on a predicted number for a classifier, is one clear error."""
    if task not in TASKS or _on_prediction(kind, entry) == (task == "regression"):
        return
    if task == "regression":
        fix = "drop 'label'" if kind == "directional" else "give 'max_change' or 'max_relative_change'"
        raise BehaviourSpecError(
            f"{where}: a claim on a label, but the task is regression (the model predicts a number); {fix}"
        )
    fix = "add 'label'" if kind == "directional" else "drop 'max_change'/'max_relative_change'"
    raise BehaviourSpecError(
        f"{where}: a claim on a predicted number, but the task is classification; {fix}"
    )


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
    change = {key: entry[key] for key in ("max_change", "max_relative_change") if key in entry}
    if len(change) > 1:
        raise BehaviourSpecError(f"{where}: give 'max_change' (the target's unit) or 'max_relative_change', not both")
    if not change and "max_flipped_fraction" not in entry:
        raise BehaviourSpecError(
            f"{where}: missing 'max_flipped_fraction' (a classifier's share of labels noise may flip), "
            "or, for a regressor, 'max_change' / 'max_relative_change' (how far noise may move a prediction)"
        )
    fraction = _number(entry.get("max_flipped_fraction", 0.0), where, "max_flipped_fraction", low=0.0, high=1.0)
    limits = {key: _number(value, where, key, low=0.0) for key, value in change.items()}
    return Invariance(name, claim, bounds, fraction, limits.get("max_change"), limits.get("max_relative_change"))


def _directional(entry, name, claim, where, schema: Schema | None) -> Directional:
    column = _numeric_column(entry["column"], where, schema)
    label = entry.get("label")
    if label is not None and schema is not None and label not in schema.labels:
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
        _number(entry.get("tolerance", 0.0), where, "tolerance", low=0.0, high=None if label is None else 1.0),
        _number(entry.get("max_violating_fraction", 0.0), where, "max_violating_fraction", low=0.0, high=1.0),
    )
