"""Raw setting values (TOML tables, command-line strings) to typed ones, or a `SettingsError`.

The settings themselves are declared once, in `mlgate.settings.Settings`; this
module holds the rules a value must meet and reads `[tool.mlgate]` tables.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any


class SettingsError(ValueError):
    """A setting mlgate cannot use; the message names it and what is allowed."""


def unknown_setting(name: str, source: str, known: list[str]) -> SettingsError:
    """The error for a key no setting has: the closest known names first, else every one."""
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
    if close:
        hint = "did you mean " + " or ".join(f"'{match}'" for match in close) + "? (every setting: docs/reference/settings.md)"
    else:
        hint = "known settings are: " + ", ".join(sorted(known))
    return SettingsError(f"unknown setting '{name}' (from {source}); {hint}")


def frozen(mapping: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping))


_FRACTIONS = {
    "holdout_fraction",
    "min_holdout_accuracy",
    "min_macro_f1",
    "min_roc_auc",
    "min_class_recall",
    "champion_tolerance",
    "champion_significance_level",
    "max_error_ratio",
    "compiled_parity_atol",
    "max_prediction_share_shift",
    "slice_significance_level",
    "threshold_confidence_level",
}
# Settings that take one of a few words.
_CHOICES = {"task": ("auto", "classification", "regression"), "threshold_straddle": ("pass", "refuse")}
# Settings that may be 0 (a loss increase: 0 is exact McNemar; a margin: no slack), and the least value of others.
_NON_NEGATIVE = {"slice_tolerance", "champion_score_tolerance", "calibration_tolerance_nats"}
_AT_LEAST = {"slice_min_rows": 4, "slice_bins": 2}
# Settings whose empty string means "none".
_MAY_BE_EMPTY = {"split_key"}
_PIPELINE_NAME = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*")
_TYPE_NAMES = {
    str: "a string", int: "an int (a whole number)", float: "a float (a number)", dict: "a TOML table",
    list: "a list of TOML tables",
}


def _field_type(setting: dataclasses.Field) -> type:
    annotation = str(setting.type)
    if annotation.startswith("Mapping"):
        return dict
    if annotation.startswith("tuple"):
        return list
    return {"str": str, "int": int, "float": float}[annotation]


def coerce(setting: dataclasses.Field, value: Any, source: str) -> Any:
    """One raw value to the `setting`'s declared type, or a SettingsError naming it."""
    name = setting.name
    expected = _field_type(setting)
    where = f"setting '{name}' (from {source})"
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if expected is int and isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, expected) or isinstance(value, bool):
        raise SettingsError(
            f"{where} is {value!r}; it must be {_TYPE_NAMES[expected]}"
        )
    if expected is str and not value.strip() and name not in _MAY_BE_EMPTY:
        raise SettingsError(f"{where} is empty; give it a value")
    if name in _CHOICES and value not in _CHOICES[name]:
        raise SettingsError(f"{where} is {value!r}; it must be one of: " + ", ".join(map(repr, _CHOICES[name])))
    if name == "min_r2" and not value <= 1.0:
        raise SettingsError(f"{where} is {value!r}; R² is at most 1")
    if name in _FRACTIONS and not 0.0 <= value <= 1.0:
        raise SettingsError(f"{where} is {value!r}; it must be between 0 and 1")
    if name == "holdout_fraction" and not 0.0 < value < 1.0:
        raise SettingsError(f"{where} is {value!r}; it must be above 0 and below 1")
    if name in _AT_LEAST and value < _AT_LEAST[name]:
        raise SettingsError(f"{where} is {value!r}; it must be at least {_AT_LEAST[name]}")
    _check_number(name, value, where)
    if name == "pipeline" and not _PIPELINE_NAME.fullmatch(value):
        raise SettingsError(
            f"{where} is {value!r}; it must name a function as 'package.module:function', "
            "such as 'model.pipeline:build_pipeline'"
        )
    if expected is dict:
        return frozen(value)
    if expected is list:
        return _declared_slices(value, where)
    return value


def _check_number(name: str, value: Any, where: str) -> None:
    if not isinstance(value, int | float):
        return
    if name == "random_seed" or name in _NON_NEGATIVE:
        if value < 0:
            raise SettingsError(f"{where} is {value!r}; it must be 0 or above")
    elif name == "champion_significance_level" and not 0.0 < value < 0.5:
        raise SettingsError(f"{where} is {value!r}; a one-sided level must be above 0 and below 0.5")
    elif name == "threshold_confidence_level" and not 0.0 < value < 1.0:
        raise SettingsError(f"{where} is {value!r}; it must be above 0 and below 1")
    elif name not in _FRACTIONS | {"min_r2"} and value <= 0:
        raise SettingsError(f"{where} is {value!r}; it must be above 0")
def _declared_slices(entries: list, where: str) -> tuple[dict[str, Any], ...]:
    """Checked by the slice gates' own parser at start-up: a bad entry is one message naming it."""
    from mlgate.evaluation.declared_slices import SliceSpecError, parse_declared_slices

    try:
        parse_declared_slices(entries)
    except SliceSpecError as error:
        raise SettingsError(f"{where}: {error}") from None
    return tuple(entries)


def read_table(path: Path, *, required: bool) -> dict[str, Any]:
    if not path.is_file():
        if required:
            raise SettingsError(
                f"config file {path} does not exist; pass the path of a TOML file "
                "with a [tool.mlgate] table"
            )
        return {}
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise SettingsError(f"config file {path} is not valid TOML: {error}") from None
    table = document.get("tool", {}).get("mlgate", {})
    if required and not table:
        raise SettingsError(f"config file {path} has no [tool.mlgate] table; add one")
    if not isinstance(table, dict):
        raise SettingsError(f"[tool.mlgate] in {path} must be a table")
    return table
