"""The ColumnTransformer as double-precision ONNX nodes: impute, scale, one-hot (`preprocess_graph`).

No ai.onnx.ml operator is used here, so nothing before the estimator is float32.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from onnx import TensorProto

from mlgate.compiler.graph import Graph
from mlgate.compiler.unsupported import Unsupported, step_label
from mlgate.serving.compiled import CATEGORICAL, MISSING, NUMERIC, is_missing


def _columns_of(selection, names_in: Sequence[str], path: str, transformer) -> list[str]:
    if isinstance(selection, str):
        selection = [selection]
    try:
        selected = list(selection)
    except TypeError:
        raise Unsupported(f"{step_label(path, transformer)} selects columns by {selection!r}") from None
    columns = []
    for item in selected:
        if isinstance(item, str):
            columns.append(item)
        elif isinstance(item, (int, np.integer)) and not isinstance(item, bool):
            columns.append(names_in[int(item)])
        else:
            raise Unsupported(f"{step_label(path, transformer)} selects columns by {selection!r}")
    return columns


def _steps(transformer, path: str) -> list[tuple[str, Any]]:
    from sklearn.pipeline import Pipeline

    if isinstance(transformer, Pipeline):
        return [(f"{path}/{name}", step) for name, step in transformer.steps if step not in (None, "passthrough")]
    return [(path, transformer)]


def _numeric_block(graph: Graph, x: str, steps) -> str:
    from sklearn.impute import SimpleImputer
    from sklearn.preprocessing import StandardScaler

    for path, step in steps:
        if isinstance(step, SimpleImputer):
            if not is_missing(step.missing_values) or step.add_indicator:
                raise Unsupported(f"{step_label(path, step)} has missing_values={step.missing_values!r}, "
                                  f"add_indicator={step.add_indicator}; only NaN without indicator compiles")
            statistics = np.asarray(step.statistics_, dtype=np.float64)
            keep = ~np.isnan(statistics)
            if getattr(step, "keep_empty_features", False):
                keep[:] = True
                statistics = np.where(np.isnan(statistics), 0.0, statistics)
            filled = graph.op("Where", [graph.op("IsNaN", [x]), graph.const(statistics.reshape(1, -1), "fill"), x],
                              "imputed")
            if not keep.all():
                filled = graph.op("Gather", [filled, graph.const(np.flatnonzero(keep).astype(np.int64), "kept")],
                                  "kept", axis=1)
            x = filled
        elif isinstance(step, StandardScaler):
            if step.with_mean:
                x = graph.op("Sub", [x, graph.const(np.asarray(step.mean_, np.float64).reshape(1, -1), "mean")],
                             "centred")
            if step.with_std:
                x = graph.op("Div", [x, graph.const(np.asarray(step.scale_, np.float64).reshape(1, -1), "scale")],
                             "scaled")
        else:
            raise Unsupported(f"{step_label(path, step)} has no double-precision ONNX translation here")
    return x


def _categorical_block(graph: Graph, codes: str, steps, columns: list[str],
                       categories_out: dict[str, list[Any]]) -> str:
    """One-hot (double) of the block's columns; records each column's categories."""
    from sklearn.impute import SimpleImputer
    from sklearn.preprocessing import OneHotEncoder

    *before, (encoder_path, encoder) = steps
    if not isinstance(encoder, OneHotEncoder):
        raise Unsupported(f"{step_label(encoder_path, encoder)} has no ONNX translation here")
    if encoder.drop is not None or getattr(encoder, "_infrequent_enabled", False):
        raise Unsupported(f"{step_label(encoder_path, encoder)} drops or groups categories; only drop=None "
                          "without infrequent categories compiles")
    if encoder.handle_unknown != "ignore":
        raise Unsupported(f"{step_label(encoder_path, encoder)} has handle_unknown={encoder.handle_unknown!r}; "
                          "the compiled model would encode unseen categories instead of refusing them")
    categories = [list(c.tolist()) for c in encoder.categories_]
    for name, values in zip(columns, categories):
        if any(is_missing(v) for v in values):
            raise Unsupported(f"{step_label(encoder_path, encoder)} has 'missing' as a category of '{name}'")
        if name in categories_out and categories_out[name] != values:
            raise Unsupported(f"column '{name}' is encoded twice with different categories")
        categories_out[name] = values
    fills: list[int | None] = [None] * len(columns)
    for path, step in before:
        if not isinstance(step, SimpleImputer):
            raise Unsupported(f"{step_label(path, step)} before a OneHotEncoder has no ONNX translation here")
        if not is_missing(step.missing_values) or step.add_indicator:
            raise Unsupported(f"{step_label(path, step)} has missing_values={step.missing_values!r}, "
                              f"add_indicator={step.add_indicator}; only NaN without indicator compiles")
        for j, value in enumerate(step.statistics_):
            if is_missing(value):
                raise Unsupported(f"{step_label(path, step)} has no fill value for column '{columns[j]}'")
            table = {v: i for i, v in enumerate(categories[j])}
            fills[j] = table.get(value, len(categories[j]))
    if any(f is None for f in fills):
        raise Unsupported(f"{step_label(encoder_path, encoder)} sees missing values without an imputer before it")
    hot = []
    for j, values in enumerate(categories):
        code = graph.op("Gather", [codes, graph.const(np.array([j], np.int64), "col")], "code", axis=1)
        code = graph.op("Where", [graph.op("Equal", [code, graph.const(np.array(MISSING, np.int64), "missing")]),
                                  graph.const(np.array(fills[j], np.int64), "mode"), code], "code_filled")
        hot.append(graph.op("Equal", [code, graph.const(np.arange(len(values), dtype=np.int64).reshape(1, -1),
                                                        "cats")], "hot"))
    joined = hot[0] if len(hot) == 1 else graph.op("Concat", hot, "hot", axis=1)
    return graph.op("Cast", [joined], "onehot", to=TensorProto.DOUBLE)


def preprocess_graph(graph: Graph, preprocess, names_in: Sequence[str], path: str):
    """Graph nodes for the ColumnTransformer; returns (features, numeric cols, categorical cols, categories)."""
    from sklearn.compose import ColumnTransformer

    if not isinstance(preprocess, ColumnTransformer):
        raise Unsupported(f"{step_label(path, preprocess)} has no ONNX translation here; a ColumnTransformer does")
    blocks = []
    for name, transformer, selection in preprocess.transformers_:
        block_path = f"{path}/{name}"
        if isinstance(transformer, str) and transformer == "drop":
            continue
        columns = _columns_of(selection, names_in, block_path, transformer)
        if not columns:
            continue
        if isinstance(transformer, str):
            raise Unsupported(f"step '{block_path}' is {transformer!r}; only transformed columns compile")
        steps = _steps(transformer, block_path)
        kind = CATEGORICAL if steps and type(steps[-1][1]).__name__ == "OneHotEncoder" else NUMERIC
        blocks.append((kind, columns, steps))
    numeric = list(dict.fromkeys(c for kind, cols, _ in blocks if kind == NUMERIC for c in cols))
    categorical = list(dict.fromkeys(c for kind, cols, _ in blocks if kind == CATEGORICAL for c in cols))
    if set(numeric) & set(categorical):
        raise Unsupported(f"columns {sorted(set(numeric) & set(categorical))} are both numbers and categories")
    categories: dict[str, list[Any]] = {}
    parts = []
    for kind, columns, steps in blocks:
        source, order = (NUMERIC, numeric) if kind == NUMERIC else (CATEGORICAL, categorical)
        x = source
        if columns != order:
            x = graph.op("Gather", [source, graph.const(np.array([order.index(c) for c in columns], np.int64),
                                                          "cols")], "block", axis=1)
        if kind == NUMERIC:
            parts.append(_numeric_block(graph, x, steps))
        else:
            parts.append(_categorical_block(graph, x, steps, columns, categories))
    if not parts:
        raise Unsupported(f"{step_label(path, preprocess)} outputs no columns")
    features = parts[0] if len(parts) == 1 else graph.op("Concat", parts, "features", axis=1)
    return features, numeric, categorical, categories

