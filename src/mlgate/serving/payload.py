"""MLflow's scoring protocol without a web framework: request bytes in, checked columns out.

`parse_columns` turns an /invocations body into `Columns`, one typed numpy
array per model column (what a compiled model takes, with no DataFrame on the
way), and `parse_request` into the DataFrame a scikit-learn model takes; both
raise `ClientError` naming what is wrong and how to fix it;
`predictions_body` renders predictions as `mlflow models serve` does. Values
are checked against the model's signature more strictly than MLflow does: a
string in a numeric column or 1.5 in an integer column is refused rather than
cast or truncated.

The parts live in their own modules (errors, one column's values, the schema
and its columns, the request formats); their public names are importable from here.
"""

from __future__ import annotations

import json

import pandas as pd

from mlgate.serving.client_errors import ClientError, bad_request, error_body
from mlgate.serving.column_types import CSV_MISSING, MAX_ABS_NUMBER
from mlgate.serving.columns import Columns, InputSchema
from mlgate.serving.request_formats import (
    CSV_TYPE,
    EXAMPLE,
    FORMATS,
    IGNORED_KEYS,
    JSON_TYPE,
    columns_from_json,
    columns_from_rows,
    csv_rows,
    decode_json,
    media_type,
)

__all__ = [
    "CSV_MISSING",
    "CSV_TYPE",
    "EXAMPLE",
    "FORMATS",
    "IGNORED_KEYS",
    "JSON_TYPE",
    "MAX_ABS_NUMBER",
    "ClientError",
    "Columns",
    "InputSchema",
    "error_body",
    "media_type",
    "parse_columns",
    "parse_request",
    "predictions_body",
]


def parse_request(body: bytes, content_type: str | None, schema: InputSchema) -> pd.DataFrame:
    """An /invocations body as the checked frame a scikit-learn model predicts on."""
    return parse_columns(body, content_type, schema).to_frame()


def parse_columns(body: bytes, content_type: str | None, schema: InputSchema) -> Columns:
    """An /invocations body as checked columns, in the schema's order."""
    mime = media_type(content_type)
    if not body.strip():
        wanted = "a CSV with a header row" if mime == CSV_TYPE else EXAMPLE
        raise bad_request(f"the request body is empty; send {wanted}")
    if mime == CSV_TYPE:
        names, rows = csv_rows(body)
        return columns_from_rows(names, rows, schema, "the CSV header", from_text=True)
    return columns_from_json(decode_json(body), schema)


def predictions_body(predictions) -> bytes:
    """`{"predictions": [...]}` as `mlflow models serve` writes it, labels in their own values."""
    values = predictions.tolist() if hasattr(predictions, "tolist") else list(predictions)
    return json.dumps({"predictions": values}).encode()
