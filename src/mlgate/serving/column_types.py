"""One column: checked Python values (from JSON or CSV text) to a typed numpy array, or a ClientError.

Values are checked against the model's signature more strictly than MLflow
does: a string in a numeric column or 1.5 in an integer column is refused
rather than cast or truncated. Looser in one way: an integer column (`long`,
`integer`) takes null, and every integer column reaches the model as float64
with NaN for missing. The signature declares a gap-free integer column `long`
so that MLflow's own routes take the training CSV's int64 frame, yet the
pipeline imputes a gap there as in any number column: a caller with a blank
`year` is answered.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence

import numpy as np

from mlgate.serving.client_errors import schema_error

# pandas' default missing markers: what a CSV cell read at training time became NaN for.
CSV_MISSING = frozenset(
    {
        "",
        "#N/A",
        "#N/A N/A",
        "#NA",
        "-1.#IND",
        "-1.#QNAN",
        "-NaN",
        "-nan",
        "1.#IND",
        "1.#QNAN",
        "<NA>",
        "N/A",
        "NA",
        "NULL",
        "NaN",
        "None",
        "n/a",
        "nan",
        "null",
    }
)


_FLOATS = {"double": np.float64, "float": np.float32}
_INTS = {"long": np.int64, "integer": np.int32}
KINDS = {
    "double": "a number",
    "float": "a number",
    "long": "an integer",
    "integer": "an integer",
    "boolean": "true or false",
    "string": "a string",
}
# The largest magnitude an integer column's type holds.
INT_LIMITS = {kind: float(np.iinfo(dtype).max) for kind, dtype in _INTS.items()}
NUMBER_TYPES = frozenset({int, float, type(None)})
# The largest magnitude a number may have. The default forest predicts in float32 (max 3.4e38)
# after StandardScaler divides by the column's spread, which can be far below 1: a value near
# float64's limit, or an infinity, failed inside predict as a 500. No tabular feature holds 1e30.
MAX_ABS_NUMBER = 1e30


def _is_number(value) -> bool:
    return type(value) in NUMBER_TYPES  # not bool: True is no number here


def _is_integer(value) -> bool:
    return type(value) is int or (type(value) is float and value.is_integer()) or value is None


def _is_text(value) -> bool:
    return type(value) is str or value is None or (type(value) is float and math.isnan(value))


_ACCEPTS = {
    "double": _is_number,
    "float": _is_number,
    "long": _is_integer,
    "integer": _is_integer,
    "boolean": lambda value: type(value) is bool,
    "string": _is_text,
}


def column_array(name: str, kind: str, values: Sequence, from_text: bool) -> np.ndarray:
    """Values of one column as the dtype the model was trained on, or a ClientError."""
    if from_text:
        values = [_from_text(kind, v) for v in values]
    accepts = _ACCEPTS[kind]
    if not all(map(accepts, values)):
        row, value = next((i, v) for i, v in enumerate(values) if not accepts(v))
        shown = (
            "null"
            if value is None
            else json.dumps(value)
            if isinstance(value, (int, float, str))
            else type(value).__name__
        )
        nullable = "" if kind == "boolean" else " or null"
        raise schema_error(
            f"column '{name}' takes {KINDS[kind]} (type '{kind}'), but row {row} holds {shown}; "
            f"send {KINDS[kind]}{nullable}"
        )
    if kind in _FLOATS:
        try:
            array = np.array(values, dtype=np.float64)  # None becomes NaN, as in training
        except OverflowError:  # an integer past float64's range, e.g. 10**400
            array = np.array([math.inf if type(v) is int and abs(v) > 2**1023 else v for v in values], dtype=np.float64)
        out_of_range = np.flatnonzero(np.abs(array) > MAX_ABS_NUMBER)  # NaN compares False: missing is fine
        if out_of_range.size:
            row = int(out_of_range[0])
            raise schema_error(
                f"column '{name}' takes a finite number of magnitude at most {MAX_ABS_NUMBER:g}, but row {row} "
                f"holds {_shown_number(values[row])}; send such a value as null if it is missing"
            )
        return array.astype(_FLOATS[kind], copy=False)
    if kind in _INTS:
        # float64, NaN for missing: see the module's docstring.
        try:
            array = np.array(values, dtype=np.float64)
        except OverflowError:  # past float64's range, e.g. 10**400
            array = np.array([math.inf], dtype=np.float64)
        if (np.abs(array) > INT_LIMITS[kind]).any():
            raise schema_error(f"column '{name}' holds a value too large for its type '{kind}'")
        return array
    # Categories go to the model as plain objects, missing ones as NaN: as `as_model_input` trained it.
    array = np.empty(len(values), dtype=object)
    array[:] = [np.nan if v is None else v for v in values]
    return array


def _shown_number(value) -> str:
    text = json.dumps(value)  # NaN and Infinity as the JSON tokens a client sent
    return text if len(text) <= 24 else f"{text[:12]}...({len(text)} digits)"


def _from_text(kind: str, text):
    """One CSV cell, read as pandas read the training CSV: its missing markers are null."""
    if not isinstance(text, str) or text in CSV_MISSING:
        return None
    try:
        if kind in _FLOATS:
            return float(text)
        if kind in _INTS:
            return int(text)
    except ValueError:
        return text  # left as text so the type check names the cell
    if kind == "boolean":
        return {"true": True, "false": False}.get(text.lower(), text)
    return text
