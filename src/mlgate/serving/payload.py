"""MLflow's scoring protocol without a web framework: request bytes in, checked columns out.

`parse_columns` turns an /invocations body into `Columns`, one typed numpy
array per model column (what a compiled model takes, with no DataFrame on the
way), and `parse_request` into the DataFrame a scikit-learn model takes; both
raise `ClientError` naming what is wrong and how to fix it;
`predictions_body` renders predictions as `mlflow models serve` does. Values
are checked against the model's signature more strictly than MLflow does: a
string in a numeric column or 1.5 in an integer column is refused rather than
cast or truncated.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

JSON_TYPE = "application/json"
CSV_TYPE = "text/csv"
FORMATS = ("dataframe_split", "dataframe_records", "instances", "inputs")
# A JSON key MLflow accepts beside the data; scikit-learn models take no params.
IGNORED_KEYS = frozenset({"params"})
EXAMPLE = '{"dataframe_split": {"columns": [...], "data": [[...]]}}'
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


def error_body(error_code: str, message: str) -> bytes:
    """An error as MLflow's scoring server words one: `{"error_code", "message"}`."""
    return json.dumps({"error_code": error_code, "message": message}).encode()


class ClientError(Exception):
    """A request the client must change; never the server's fault."""

    def __init__(self, status: int, error_code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error_code = error_code
        self.message = message

    def body(self) -> bytes:
        return error_body(self.error_code, self.message)


def _bad(message: str) -> ClientError:
    return ClientError(400, "BAD_REQUEST", message)


def _schema_error(message: str) -> ClientError:
    return ClientError(400, "INVALID_PARAMETER_VALUE", message)


# --- one column: checked Python values to a typed numpy array ------------------------

_FLOATS = {"double": np.float64, "float": np.float32}
_INTS = {"long": np.int64, "integer": np.int32}
_KINDS = {
    "double": "a number",
    "float": "a number",
    "long": "an integer",
    "integer": "an integer",
    "boolean": "true or false",
    "string": "a string",
}
_NUMBER_TYPES = frozenset({int, float, type(None)})
# The largest magnitude a number may have. The default forest predicts in float32 (max 3.4e38)
# after StandardScaler divides by the column's spread, which can be far below 1: a value near
# float64's limit, or an infinity, failed inside predict as a 500. No tabular feature holds 1e30.
MAX_ABS_NUMBER = 1e30


def _is_number(value) -> bool:
    return type(value) in _NUMBER_TYPES  # not bool: True is no number here


def _is_integer(value) -> bool:
    return type(value) is int or (type(value) is float and value.is_integer())


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


def _column(name: str, kind: str, values: Sequence, from_text: bool) -> np.ndarray:
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
        nullable = " or null" if kind in _FLOATS or kind == "string" else ""
        raise _schema_error(
            f"column '{name}' takes {_KINDS[kind]} (type '{kind}'), but row {row} holds {shown}; "
            f"send {_KINDS[kind]}{nullable}"
        )
    if kind in _FLOATS:
        try:
            array = np.array(values, dtype=np.float64)  # None becomes NaN, as in training
        except OverflowError:  # an integer past float64's range, e.g. 10**400
            array = np.array([math.inf if type(v) is int and abs(v) > 2**1023 else v for v in values], dtype=np.float64)
        out_of_range = np.flatnonzero(np.abs(array) > MAX_ABS_NUMBER)  # NaN compares False: missing is fine
        if out_of_range.size:
            row = int(out_of_range[0])
            raise _schema_error(
                f"column '{name}' takes a finite number of magnitude at most {MAX_ABS_NUMBER:g}, but row {row} "
                f"holds {_shown_number(values[row])}; send such a value as null if it is missing"
            )
        return array.astype(_FLOATS[kind], copy=False)
    if kind in _INTS:
        try:
            return np.array(values, dtype=_INTS[kind])
        except OverflowError:
            raise _schema_error(f"column '{name}' holds a value too large for its type '{kind}'") from None
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


# --- the model's input schema ---------------------------------------------------------


@dataclass(frozen=True)
class InputSchema:
    """The columns a model takes, in order, each with its MLflow type."""

    columns: tuple[tuple[str, str], ...]
    required: frozenset[str]
    # Derived once rather than per request; `index` is shared by every frame
    # because pandas 3 takes ~90 us to build a string Index from a list.
    names: tuple[str, ...] = field(init=False, repr=False, compare=False)
    all_double: bool = field(init=False, repr=False, compare=False)
    index: pd.Index = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "names", tuple(n for n, _ in self.columns))
        object.__setattr__(self, "all_double", all(t == "double" for _, t in self.columns))
        object.__setattr__(self, "index", pd.Index(self.names))

    @classmethod
    def of(cls, input_schema: Sequence[tuple[str, str]], required: Iterable[str]) -> InputSchema:
        unknown = [(n, t) for n, t in input_schema if t not in _KINDS]
        if unknown:
            raise ValueError(
                f"the model's signature has column types mlgate cannot serve: {unknown}; "
                f"supported types are {', '.join(_KINDS)}"
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
            raise _schema_error(f"{where} names columns more than once: {duplicated}")
        extra = [n for n in given if n not in known]
        missing = sorted(self.required - set(given))
        if extra or missing:
            parts = []
            if missing:
                parts.append(f"missing column(s) {missing}")
            if extra:
                parts.append(f"unknown column(s) {extra}")
            raise _schema_error(f"{where} has {' and '.join(parts)}; the model takes: {self.describe()}")


# --- checked columns: what a request becomes ----------------------------------------------


@dataclass(frozen=True, slots=True)
class Columns:
    """A checked request: one typed array per model column, in the schema's order.

    `block` is the same values as one float64 matrix (rows x columns) when every
    column is double: the cheapest form for both a DataFrame and a compiled model.
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


# --- request bodies to columns -----------------------------------------------------------


def media_type(content_type: str | None) -> str:
    """The request's media type; 415 for anything but UTF-8 JSON or CSV."""
    if not content_type:
        raise ClientError(
            415,
            "UNSUPPORTED_MEDIA_TYPE",
            f"the request has no Content-Type; send '{JSON_TYPE}' or '{CSV_TYPE}'",
        )
    mime, *parameters = [part.strip() for part in content_type.split(";")]
    mime = mime.lower()
    if mime not in (JSON_TYPE, CSV_TYPE):
        raise ClientError(
            415,
            "UNSUPPORTED_MEDIA_TYPE",
            f"Content-Type '{content_type}' is not supported; send '{JSON_TYPE}' or '{CSV_TYPE}'",
        )
    for parameter in parameters:
        key, _, value = parameter.partition("=")
        if key.strip().lower() != "charset":
            raise ClientError(
                415,
                "UNSUPPORTED_MEDIA_TYPE",
                f"Content-Type parameter '{parameter}' is not supported (MLflow 1.x's format= is "
                f"gone); send plain '{mime}' and put the format in the body, e.g. {EXAMPLE}",
            )
        if value.strip().strip('"').lower() not in ("utf-8", "utf8"):
            raise ClientError(415, "UNSUPPORTED_MEDIA_TYPE", f"charset '{value}' is not supported; send UTF-8")
    return mime


def parse_request(body: bytes, content_type: str | None, schema: InputSchema) -> pd.DataFrame:
    """An /invocations body as the checked frame a scikit-learn model predicts on."""
    return parse_columns(body, content_type, schema).to_frame()


def parse_columns(body: bytes, content_type: str | None, schema: InputSchema) -> Columns:
    """An /invocations body as checked columns, in the schema's order."""
    mime = media_type(content_type)
    if not body.strip():
        raise _bad(f"the request body is empty; send {'a CSV with a header row' if mime == CSV_TYPE else EXAMPLE}")
    if mime == CSV_TYPE:
        names, rows = _csv_rows(body)
        return _columns_from_rows(names, rows, schema, "the CSV header", from_text=True)
    return _columns_from_json(_decode_json(body), schema)


def _decode_json(body: bytes) -> dict:
    try:
        document = json.loads(body)
    except UnicodeDecodeError:
        raise _bad("the request body is not UTF-8 text; encode the JSON as UTF-8") from None
    except ValueError as error:  # JSONDecodeError, or an integer past Python's 4300-digit limit
        raise _bad(f"the request body is not valid JSON ({error}); send e.g. {EXAMPLE}") from None
    if not isinstance(document, dict):
        raise _bad(
            f"the JSON body is a {type(document).__name__}; wrap the data in an object with exactly one "
            f"of the keys {', '.join(FORMATS)}, e.g. {EXAMPLE}"
        )
    return document


def _columns_from_json(document: dict, schema: InputSchema) -> Columns:
    keys = [k for k in document if k in FORMATS]
    unknown = [k for k in document if k not in FORMATS and k not in IGNORED_KEYS]
    if unknown or len(keys) != 1:
        problem = f"unknown key(s) {unknown}" if unknown else f"several format keys {keys}" if keys else "no format key"
        raise _bad(f"the JSON body has {problem}; use exactly one of {', '.join(FORMATS)}, e.g. {EXAMPLE}")
    key = keys[0]
    data = document[key]
    if key == "dataframe_split":
        return _from_split(data, schema)
    if isinstance(data, list) and data and all(isinstance(r, dict) for r in data):
        return _from_records(data, schema, key)
    if key == "dataframe_records":
        raise _bad(
            "'dataframe_records' must be a non-empty list of objects, one per row, e.g. "
            '{"dataframe_records": [{"column": value, ...}]}'
        )
    if isinstance(data, dict):
        return _from_columns(data, schema, key)
    if isinstance(data, list) and data and len(schema.columns) == 1:
        return _from_columns({schema.columns[0][0]: data}, schema, key)
    raise _bad(
        f"'{key}' must be a non-empty list of objects (one per row) or an object of column "
        f"lists; got {type(data).__name__}{' (empty)' if data == [] else ''}"
    )


def _from_split(data, schema: InputSchema) -> Columns:
    if not isinstance(data, dict) or "data" not in data or "columns" not in data:
        raise _bad(
            "'dataframe_split' must be an object with 'columns' (the column names) and 'data' "
            "(a list of rows), e.g. " + EXAMPLE
        )
    extra = set(data) - {"columns", "data", "index"}
    if extra:
        raise _bad(f"'dataframe_split' has unknown key(s) {sorted(extra)}; it takes columns, data and index")
    names, rows = data["columns"], data["data"]
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise _bad("'dataframe_split.columns' must be a list of column names")
    if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
        raise _bad("'dataframe_split.data' must be a list of rows, each a list of values")
    return _columns_from_rows(names, rows, schema, "'dataframe_split.columns'", from_text=False)


def _from_records(records: list[dict], schema: InputSchema, key: str) -> Columns:
    names = schema.names
    expected = set(names)
    for index, record in enumerate(records):
        if record.keys() != expected:  # the common case costs one set comparison per row
            schema.check_names(list(record), f"'{key}' row {index}")
    rows = [[record.get(n) for n in names] for record in records]
    return _typed_columns(rows, None, schema, from_text=False)


def _from_columns(columns: dict, schema: InputSchema, key: str) -> Columns:
    schema.check_names(list(columns), f"'{key}'")
    lists = {n: v if isinstance(v, list) else [v] for n, v in columns.items()}
    lengths = {len(v) for v in lists.values()}
    if len(lengths) != 1:
        shown = {n: len(v) for n, v in lists.items()}
        raise _bad(f"the columns of '{key}' have different lengths {shown}; give every column the same number of rows")
    if lengths == {0}:
        raise _bad(f"'{key}' has no rows; send at least one")
    n_rows = lengths.pop()
    ordered = [lists.get(n, [None] * n_rows) for n in schema.names]
    return _typed_columns(None, ordered, schema, from_text=False)


def _csv_rows(body: bytes) -> tuple[list[str], list[list[str]]]:
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _bad("the CSV body is not UTF-8 text; encode it as UTF-8") from None
    try:
        rows = [r for r in csv.reader(io.StringIO(text)) if r]
    except csv.Error as error:
        raise _bad(f"the CSV body is not readable ({error}); send a header row then one row per line") from None
    return [n.strip() for n in rows[0]], rows[1:]


def _columns_from_rows(names: list, rows: list[list], schema: InputSchema, where: str, from_text: bool) -> Columns:
    schema.check_names(names, where)
    if not rows:
        raise _bad("the request has a header but no rows; send at least one row")
    width = len(names)
    for index, row in enumerate(rows):
        if len(row) != width:
            raise _bad(
                f"row {index} has {len(row)} values but there are {width} columns; give every row one value per column"
            )
    order = schema.names
    if tuple(names) != order:
        position = {n: i for i, n in enumerate(names)}
        rows = [[row[position[n]] if n in position else None for n in order] for row in rows]
    return _typed_columns(rows, None, schema, from_text=from_text)


def _typed_columns(
    rows: list[list] | None, columns: list[list] | None, schema: InputSchema, from_text: bool
) -> Columns:
    """Rows or columns in schema order to typed columns; one float block when every column is double."""
    if schema.all_double and not from_text:
        values = rows if rows is not None else columns
        if {type(v) for line in values for v in line} <= _NUMBER_TYPES:
            try:
                block = np.array(values, dtype=np.float64)
            except OverflowError:
                block = None  # an integer past float64's range: the column check names it
            if block is not None and not (np.abs(block) > MAX_ABS_NUMBER).any():
                block = block if rows is not None else np.ascontiguousarray(block.T)
                return Columns(schema, tuple(block.T), block)
    if columns is None:
        columns = [list(c) for c in zip(*rows, strict=True)]
    arrays = tuple(_column(n, t, values, from_text) for (n, t), values in zip(schema.columns, columns, strict=True))
    return Columns(schema, arrays)


# --- predictions to a response ------------------------------------------------------------


def predictions_body(predictions) -> bytes:
    """`{"predictions": [...]}` as `mlflow models serve` writes it, labels in their own values."""
    values = predictions.tolist() if hasattr(predictions, "tolist") else list(predictions)
    return json.dumps({"predictions": values}).encode()
