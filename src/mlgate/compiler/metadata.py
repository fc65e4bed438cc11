"""What a compiled model carries about its input and output, for the server to read back."""

from __future__ import annotations

from typing import Any

import numpy as np

from mlgate.serving.compiled import CATEGORICAL, FORMAT_VERSION, NUMERIC


def _json_value(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _classes_json(classes: np.ndarray) -> dict[str, Any]:
    return {"dtype": classes.dtype.str, "values": [_json_value(v) for v in classes.tolist()]}


def metadata(example, numeric, categorical, categories, classes, estimator, precision: str) -> dict[str, Any]:
    """What the compiled model carries about its input and output; ValueError if `example` lacks a column."""
    columns = [c for c in example.columns if c in set(numeric) | set(categorical)]
    missing = [c for c in numeric + categorical if c not in columns]
    if missing:
        raise ValueError(f"the example frame lacks the model's columns {missing}")
    return {
        "format": FORMAT_VERSION,
        "columns": columns,
        "kinds": {c: NUMERIC if c in numeric else CATEGORICAL for c in columns},
        "numeric": numeric,
        "categorical": categorical,
        "categories": {c: [_json_value(v) for v in categories[c]] for c in categorical},
        "classes": _classes_json(classes),
        "estimator": f"{type(estimator).__module__}.{type(estimator).__name__}",
        "precision": precision,
    }
