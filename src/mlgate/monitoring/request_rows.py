"""The rows of an MLflow scoring request, by column name: what the sidecar folds into its drift window.

Best effort by design: the upstream, not the sidecar, judges a request. A
body this cannot read (or whose row count does not match the predictions)
is simply not folded; the caller still gets the upstream's answer. Reads
the four JSON forms of MLflow's protocol and CSV.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence

import numpy as np
import pandas as pd


def request_frame(body: bytes, content_type: str | None) -> pd.DataFrame | None:
    """The request's rows as a table, or None when the body is not one of MLflow's forms."""
    kind = (content_type or "").split(";")[0].strip().lower()
    try:
        if kind == "text/csv":
            return pd.read_csv(io.BytesIO(body))
        document = json.loads(body)
        if not isinstance(document, dict):
            return None
        if "dataframe_split" in document:
            split = document["dataframe_split"]
            return pd.DataFrame(split["data"], columns=split["columns"])
        if "dataframe_records" in document:
            return pd.DataFrame.from_records(document["dataframe_records"])
        rows = document.get("instances", document.get("inputs"))
        return pd.DataFrame(rows) if isinstance(rows, (list, dict)) else None
    except (ValueError, TypeError, KeyError, AttributeError, pd.errors.ParserError):
        return None


class RequestColumns:
    """The request's columns in the profile's feature order, the shape DriftWindow.fold takes.

    Numeric features become float64 (text that is no number: NaN, the missing
    bin), so folding never fails on what a caller sent.
    """

    __slots__ = ("arrays", "block")

    def __init__(self, frame: pd.DataFrame, features: Sequence) -> None:
        rows = len(frame)
        arrays = []
        for feature in features:
            if feature.name not in frame.columns:
                arrays.append(np.full(rows, np.nan))
            elif feature.numeric:
                arrays.append(pd.to_numeric(frame[feature.name], errors="coerce").to_numpy(np.float64, na_value=np.nan))
            else:
                arrays.append(frame[feature.name].to_numpy(dtype=object))
        self.arrays = tuple(arrays)
        self.block = None


def request_columns(body: bytes, content_type: str | None, features: Sequence, rows: int) -> RequestColumns | None:
    """The request's columns for `features` (a Profile's), when it has exactly `rows` rows; else None."""
    frame = request_frame(body, content_type)
    if frame is None or len(frame) != rows or rows == 0:
        return None
    try:
        return RequestColumns(frame, features)
    except (ValueError, TypeError):  # a cell holding a list or a dict
        return None
