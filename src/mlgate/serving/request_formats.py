"""Request bodies in MLflow's formats (JSON's four keys, CSV) to checked `Columns`, or a ClientError."""

from __future__ import annotations

import csv
import io
import json

from mlgate.serving.client_errors import ClientError, bad_request
from mlgate.serving.columns import Columns, InputSchema, typed_columns

JSON_TYPE = "application/json"
CSV_TYPE = "text/csv"
FORMATS = ("dataframe_split", "dataframe_records", "instances", "inputs")
# A JSON key MLflow accepts beside the data; scikit-learn models take no params.
IGNORED_KEYS = frozenset({"params"})
EXAMPLE = '{"dataframe_split": {"columns": [...], "data": [[...]]}}'


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


def decode_json(body: bytes) -> dict:
    try:
        document = json.loads(body)
    except UnicodeDecodeError:
        raise bad_request("the request body is not UTF-8 text; encode the JSON as UTF-8") from None
    except ValueError as error:  # JSONDecodeError, or an integer past Python's 4300-digit limit
        raise bad_request(f"the request body is not valid JSON ({error}); send e.g. {EXAMPLE}") from None
    if not isinstance(document, dict):
        raise bad_request(
            f"the JSON body is a {type(document).__name__}; wrap the data in an object with exactly one "
            f"of the keys {', '.join(FORMATS)}, e.g. {EXAMPLE}"
        )
    return document


def columns_from_json(document: dict, schema: InputSchema) -> Columns:
    keys = [k for k in document if k in FORMATS]
    unknown = [k for k in document if k not in FORMATS and k not in IGNORED_KEYS]
    if unknown or len(keys) != 1:
        problem = f"unknown key(s) {unknown}" if unknown else f"several format keys {keys}" if keys else "no format key"
        raise bad_request(f"the JSON body has {problem}; use exactly one of {', '.join(FORMATS)}, e.g. {EXAMPLE}")
    key = keys[0]
    data = document[key]
    if key == "dataframe_split":
        return _from_split(data, schema)
    if isinstance(data, list) and data and all(isinstance(r, dict) for r in data):
        return _from_records(data, schema, key)
    if key == "dataframe_records":
        raise bad_request(
            "'dataframe_records' must be a non-empty list of objects, one per row, e.g. "
            '{"dataframe_records": [{"column": value, ...}]}'
        )
    if isinstance(data, dict):
        return _from_columns(data, schema, key)
    if isinstance(data, list) and data and len(schema.columns) == 1:
        return _from_columns({schema.columns[0][0]: data}, schema, key)
    raise bad_request(
        f"'{key}' must be a non-empty list of objects (one per row) or an object of column "
        f"lists; got {type(data).__name__}{' (empty)' if data == [] else ''}"
    )


def _from_split(data, schema: InputSchema) -> Columns:
    if not isinstance(data, dict) or "data" not in data or "columns" not in data:
        raise bad_request(
            "'dataframe_split' must be an object with 'columns' (the column names) and 'data' "
            "(a list of rows), e.g. " + EXAMPLE
        )
    extra = set(data) - {"columns", "data", "index"}
    if extra:
        raise bad_request(f"'dataframe_split' has unknown key(s) {sorted(extra)}; it takes columns, data and index")
    names, rows = data["columns"], data["data"]
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise bad_request("'dataframe_split.columns' must be a list of column names")
    if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
        raise bad_request("'dataframe_split.data' must be a list of rows, each a list of values")
    return columns_from_rows(names, rows, schema, "'dataframe_split.columns'", from_text=False)


def _from_records(records: list[dict], schema: InputSchema, key: str) -> Columns:
    names = schema.names
    expected = set(names)
    for index, record in enumerate(records):
        if record.keys() != expected:  # the common case costs one set comparison per row
            schema.check_names(list(record), f"'{key}' row {index}")
    rows = [[record.get(n) for n in names] for record in records]
    return typed_columns(rows, None, schema, from_text=False)


def _from_columns(columns: dict, schema: InputSchema, key: str) -> Columns:
    schema.check_names(list(columns), f"'{key}'")
    lists = {n: v if isinstance(v, list) else [v] for n, v in columns.items()}
    lengths = {len(v) for v in lists.values()}
    if len(lengths) != 1:
        shown = {n: len(v) for n, v in lists.items()}
        raise bad_request(
            f"the columns of '{key}' have different lengths {shown}; give every column the same number of rows"
        )
    if lengths == {0}:
        raise bad_request(f"'{key}' has no rows; send at least one")
    n_rows = lengths.pop()
    ordered = [lists.get(n, [None] * n_rows) for n in schema.names]
    return typed_columns(None, ordered, schema, from_text=False)


def csv_rows(body: bytes) -> tuple[list[str], list[list[str]]]:
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise bad_request("the CSV body is not UTF-8 text; encode it as UTF-8") from None
    try:
        rows = [r for r in csv.reader(io.StringIO(text)) if r]
    except csv.Error as error:
        raise bad_request(f"the CSV body is not readable ({error}); send a header row then one row per line") from None
    return [n.strip() for n in rows[0]], rows[1:]


def columns_from_rows(names: list, rows: list[list], schema: InputSchema, where: str, from_text: bool) -> Columns:
    schema.check_names(names, where)
    if not rows:
        raise bad_request("the request has a header but no rows; send at least one row")
    width = len(names)
    for index, row in enumerate(rows):
        if len(row) != width:
            raise bad_request(
                f"row {index} has {len(row)} values but there are {width} columns; give every row one value per column"
            )
    order = schema.names
    if tuple(names) != order:
        position = {n: i for i, n in enumerate(names)}
        rows = [[row[position[n]] if n in position else None for n in order] for row in rows]
    return typed_columns(rows, None, schema, from_text=from_text)
