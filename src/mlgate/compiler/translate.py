"""The fitted pipeline translated into one double-precision ONNX graph: `compile_model`.

Parity, not speed, is the hard part, so the graph is written here rather than
left to skl2onnx's stock converters, which lose precision for this pipeline
(its forest converter emits ai.onnx.ml opset 1 trees: float32 thresholds,
probabilities off by up to 0.01 on the default data):

* The graph imputes (`Where(IsNaN)`; `Where(Equal(code, -1))` to the
  most-frequent category's code), scales (`Sub`, `Div`: the two float64
  operations `StandardScaler.transform` does) and one-hot encodes
  (`Equal(code, arange)`: an unseen code matches nothing, so all zeros).
  No ai.onnx.ml operator is used before the estimator, so nothing is float32.
* Trees (decision tree, random forest, extra trees, gradient boosting,
  histogram gradient boosting) become one opset 5 `TreeEnsemble`
  (mlgate.compiler.graph). Scores add in scikit-learn's order, with the
  starting value as a first one-leaf tree, and a forest divides the sum by
  the number of trees as scikit-learn does: forest probabilities come out
  bit-identical.
* Logistic regression is `MatMul`, `Add`, then `Sigmoid` or `Softmax`.
* Any other estimator goes to skl2onnx's converter with a double input;
  whatever precision that converter reaches, the parity gate measures. If
  skl2onnx has no converter, `compile_model` says so and names the step.
  LightGBM's and XGBoost's converters come from onnxmltools, registered with
  skl2onnx when their package is installed (`_register_boosting_converters`);
  XGBoost's labels, encoded by mlgate.labels.EncodedLabels, map back through
  the compiled model's `classes`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper

from mlgate.compiler.graph import (
    IR_VERSION,
    ML_OPSET,
    ONNX_OPSET,
    Graph,
    Trees,
    add_sklearn_tree,
    as_float32_then_double,
)
from mlgate.serving.compiled import (
    CATEGORICAL,
    FORMAT_VERSION,
    METADATA_KEY,
    MISSING,
    NUMERIC,
    Compilation,
    CompiledModel,
    is_missing,
)


class Unsupported(Exception):
    """A pipeline step this module cannot translate; the message names the step."""


def _step_label(path: str, step) -> str:
    return f"step '{path}' ({type(step).__name__})"


def _columns_of(selection, names_in: Sequence[str], path: str, transformer) -> list[str]:
    if isinstance(selection, str):
        selection = [selection]
    try:
        selected = list(selection)
    except TypeError:
        raise Unsupported(f"{_step_label(path, transformer)} selects columns by {selection!r}") from None
    columns = []
    for item in selected:
        if isinstance(item, str):
            columns.append(item)
        elif isinstance(item, (int, np.integer)) and not isinstance(item, bool):
            columns.append(names_in[int(item)])
        else:
            raise Unsupported(f"{_step_label(path, transformer)} selects columns by {selection!r}")
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
                raise Unsupported(f"{_step_label(path, step)} has missing_values={step.missing_values!r}, "
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
            raise Unsupported(f"{_step_label(path, step)} has no double-precision ONNX translation here")
    return x


def _categorical_block(graph: Graph, codes: str, steps, columns: list[str],
                       categories_out: dict[str, list[Any]]) -> str:
    """One-hot (double) of the block's columns; records each column's categories."""
    from sklearn.impute import SimpleImputer
    from sklearn.preprocessing import OneHotEncoder

    *before, (encoder_path, encoder) = steps
    if not isinstance(encoder, OneHotEncoder):
        raise Unsupported(f"{_step_label(encoder_path, encoder)} has no ONNX translation here")
    if encoder.drop is not None or getattr(encoder, "_infrequent_enabled", False):
        raise Unsupported(f"{_step_label(encoder_path, encoder)} drops or groups categories; only drop=None "
                          "without infrequent categories compiles")
    if encoder.handle_unknown != "ignore":
        raise Unsupported(f"{_step_label(encoder_path, encoder)} has handle_unknown={encoder.handle_unknown!r}; "
                          "the compiled model would encode unseen categories instead of refusing them")
    categories = [list(c.tolist()) for c in encoder.categories_]
    for name, values in zip(columns, categories):
        if any(is_missing(v) for v in values):
            raise Unsupported(f"{_step_label(encoder_path, encoder)} has 'missing' as a category of '{name}'")
        if name in categories_out and categories_out[name] != values:
            raise Unsupported(f"column '{name}' is encoded twice with different categories")
        categories_out[name] = values
    fills: list[int | None] = [None] * len(columns)
    for path, step in before:
        if not isinstance(step, SimpleImputer):
            raise Unsupported(f"{_step_label(path, step)} before a OneHotEncoder has no ONNX translation here")
        if not is_missing(step.missing_values) or step.add_indicator:
            raise Unsupported(f"{_step_label(path, step)} has missing_values={step.missing_values!r}, "
                              f"add_indicator={step.add_indicator}; only NaN without indicator compiles")
        for j, value in enumerate(step.statistics_):
            if is_missing(value):
                raise Unsupported(f"{_step_label(path, step)} has no fill value for column '{columns[j]}'")
            table = {v: i for i, v in enumerate(categories[j])}
            fills[j] = table.get(value, len(categories[j]))
    if any(f is None for f in fills):
        raise Unsupported(f"{_step_label(encoder_path, encoder)} sees missing values without an imputer before it")
    hot = []
    for j, values in enumerate(categories):
        code = graph.op("Gather", [codes, graph.const(np.array([j], np.int64), "col")], "code", axis=1)
        code = graph.op("Where", [graph.op("Equal", [code, graph.const(np.array(MISSING, np.int64), "missing")]),
                                  graph.const(np.array(fills[j], np.int64), "mode"), code], "code_filled")
        hot.append(graph.op("Equal", [code, graph.const(np.arange(len(values), dtype=np.int64).reshape(1, -1),
                                                        "cats")], "hot"))
    joined = hot[0] if len(hot) == 1 else graph.op("Concat", hot, "hot", axis=1)
    return graph.op("Cast", [joined], "onehot", to=TensorProto.DOUBLE)


def _preprocess(graph: Graph, preprocess, names_in: Sequence[str], path: str):
    """Graph nodes for the ColumnTransformer; returns (features, numeric cols, categorical cols, categories)."""
    from sklearn.compose import ColumnTransformer

    if not isinstance(preprocess, ColumnTransformer):
        raise Unsupported(f"{_step_label(path, preprocess)} has no ONNX translation here; a ColumnTransformer does")
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
        raise Unsupported(f"{_step_label(path, preprocess)} outputs no columns")
    features = parts[0] if len(parts) == 1 else graph.op("Concat", parts, "features", axis=1)
    return features, numeric, categorical, categories


# --- estimators ----------------------------------------------------------------------------------


def _forest(graph: Graph, x: str, estimator) -> str:
    members = getattr(estimator, "estimators_", None)
    if members is None:
        members = [estimator]
    if int(getattr(estimator, "n_outputs_", 1)) != 1:
        raise Unsupported("multi-output trees")
    n_classes = len(estimator.classes_)
    trees = Trees()
    for k in range(n_classes):
        for member in members:
            # tree_.value holds per-leaf class fractions: DecisionTreeClassifier.predict_proba's output.
            add_sklearn_tree(trees, member.tree_, member.tree_.value[:, 0, k], k)
    scores = trees.node(graph, as_float32_then_double(graph, x), n_classes)
    if getattr(estimator, "estimators_", None) is None:
        return scores
    return graph.op("Div", [scores, graph.const(np.array(float(len(members))), "n_trees")], "proba")


def _from_raw(graph: Graph, raw: str, n_classes: int) -> str:
    """scikit-learn's link: binary [1 - expit(raw), expit(raw)], multiclass softmax."""
    if n_classes == 2:
        p1 = graph.op("Sigmoid", [raw], "p1")
        p0 = graph.op("Sub", [graph.const(np.array(1.0), "one"), p1], "p0")
        return graph.op("Concat", [p0, p1], "proba", axis=1)
    return graph.op("Softmax", [raw], "proba", axis=1)


def _gradient_boosting(graph: Graph, x: str, estimator) -> str:
    from sklearn.dummy import DummyClassifier
    from sklearn.ensemble._gb import _init_raw_predictions

    n_features = int(estimator.n_features_in_)
    if isinstance(estimator.init_, str) and estimator.init_ == "zero":
        baseline = np.zeros(estimator.estimators_.shape[1])
    elif isinstance(estimator.init_, DummyClassifier):
        # The default init predicts the class prior whatever the row: one constant.
        baseline = _init_raw_predictions(np.zeros((1, n_features), np.float32), estimator.init_,
                                         estimator._loss, True)[0]
    else:
        raise Unsupported(f"init={type(estimator.init_).__name__}")
    trees = Trees()
    n_stages, n_scores = estimator.estimators_.shape
    for k in range(n_scores):
        trees.add_constant(float(baseline[k]), k)
        for stage in range(n_stages):
            tree = estimator.estimators_[stage, k].tree_
            # predict_stages adds learning_rate * value: the same product, the same order.
            add_sklearn_tree(trees, tree, estimator.learning_rate * tree.value[:, 0, 0], k)
    raw = trees.node(graph, as_float32_then_double(graph, x), n_scores)
    return _from_raw(graph, raw, len(estimator.classes_))


def _hist_gradient_boosting(graph: Graph, x: str, estimator) -> str:
    baseline = np.asarray(estimator._baseline_prediction, np.float64).ravel()
    n_scores = int(estimator.n_trees_per_iteration_)
    trees = Trees()
    for k in range(n_scores):
        trees.add_constant(float(0.0 + baseline[k]), k)
        for predictors in estimator._predictors:
            nodes = predictors[k].nodes
            if nodes["is_categorical"].any():
                raise Unsupported("categorical splits")
            trees.add(nodes["left"], nodes["right"], nodes["is_leaf"], nodes["feature_idx"],
                      nodes["num_threshold"], nodes["value"], k, missing_left=nodes["missing_go_to_left"])
    raw = trees.node(graph, x, n_scores)  # HGB compares float64 features: no float32 rounding
    return _from_raw(graph, raw, len(estimator.classes_))


def _logistic(graph: Graph, x: str, estimator) -> str:
    coef = np.asarray(estimator.coef_, np.float64)
    decision = graph.op("Add", [graph.op("MatMul", [x, graph.const(coef.T.copy(), "coef")], "xw"),
                                graph.const(np.asarray(estimator.intercept_, np.float64).reshape(1, -1),
                                            "intercept")], "decision")
    return _from_raw(graph, decision, len(estimator.classes_))


def _own_translation(estimator) -> Callable | None:
    from sklearn.ensemble import (
        ExtraTreesClassifier,
        GradientBoostingClassifier,
        HistGradientBoostingClassifier,
        RandomForestClassifier,
    )
    from sklearn.linear_model import LogisticRegression
    from sklearn.tree import DecisionTreeClassifier

    kind = type(estimator)
    if kind in (RandomForestClassifier, ExtraTreesClassifier) or issubclass(kind, DecisionTreeClassifier):
        return _forest
    if kind is GradientBoostingClassifier:
        return _gradient_boosting
    if kind is HistGradientBoostingClassifier:
        return _hist_gradient_boosting
    if kind is LogisticRegression:
        return _logistic
    return None


def _register_boosting_converters(estimator) -> bool:
    """onnxmltools' converter for a LightGBM or XGBoost classifier, made known to skl2onnx; False: not one."""
    package = type(estimator).__module__.split(".")[0]
    if package not in ("lightgbm", "xgboost"):
        return False
    try:
        from skl2onnx import update_registered_converter
        from skl2onnx.common.shape_calculator import calculate_linear_classifier_output_shapes

        if package == "lightgbm":
            from lightgbm import LGBMClassifier as kind
            from onnxmltools.convert.lightgbm.operator_converters.LightGbm import convert_lightgbm as convert
        else:
            from onnxmltools.convert.xgboost.operator_converters.XGBoost import convert_xgboost as convert
            from xgboost import XGBClassifier as kind
    except ImportError:  # onnxmltools absent: skl2onnx then names the missing converter
        return False
    update_registered_converter(
        kind, f"Mlgate{kind.__name__}", calculate_linear_classifier_output_shapes, convert,
        options={"nocl": [True, False], "zipmap": [True, False, "columns"]},
    )
    return True


def _skl2onnx_estimator(estimator, n_features: int, path: str) -> onnx.ModelProto:
    """skl2onnx's own converter with a double input; Unsupported when it has none."""
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType

    # onnxmltools' boosting converters take float32 only (a double input converts, but wrongly);
    # XGBoost and LightGBM read float32 features themselves. _merge_skl2onnx casts to it.
    tensor_type = FloatTensorType if _register_boosting_converters(estimator) else DoubleTensorType
    options = {id(estimator): {"zipmap": False}}
    try:
        return convert_sklearn(
            estimator,
            initial_types=[("features", tensor_type([None, n_features]))],
            target_opset={"": ONNX_OPSET, "ai.onnx.ml": 3},
            options=options,
        )
    except Exception as first:  # noqa: BLE001 - the converter's failure is the reason we report
        try:
            # Some converters take no options.
            return convert_sklearn(
                estimator,
                initial_types=[("features", tensor_type([None, n_features]))],
                target_opset={"": ONNX_OPSET, "ai.onnx.ml": 3},
            )
        except Exception:  # noqa: BLE001
            message = str(first).strip().splitlines()[0] if str(first).strip() else type(first).__name__
            raise Unsupported(f"{_step_label(path, estimator)} has no ONNX converter: {message[:200]}") from None


def _json_value(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _classes_json(classes: np.ndarray) -> dict[str, Any]:
    return {"dtype": classes.dtype.str, "values": [_json_value(v) for v in classes.tolist()]}


def compile_model(pipeline, example) -> Compilation:
    """The fitted `pipeline` (mlgate.training's shape) as a CompiledModel, or why not.

    `example` is a frame of the model's input (any rows, even none): it gives
    the column order. A step with no translation gives `compiled=None` and a
    reason naming the step; nothing else is caught.
    """
    from sklearn.pipeline import Pipeline

    if not isinstance(pipeline, Pipeline) or len(pipeline.steps) != 2:
        return Compilation(None, f"the model is a {type(pipeline).__name__}, not a Pipeline(preprocess, estimator)")
    (prep_name, preprocess), (est_name, estimator) = pipeline.steps
    names_in = list(getattr(pipeline, "feature_names_in_", example.columns))
    graph = Graph()
    try:
        features, numeric, categorical, categories = _preprocess(graph, preprocess, names_in, prep_name)
    except Unsupported as why:
        return Compilation(None, str(why))
    n_features = len(preprocess.get_feature_names_out())
    classes = np.asarray(estimator.classes_)
    # Labels encoded as 0..n-1 for the classifier inside: it is what converts; `classes` maps back.
    estimator = getattr(estimator, "classifier_", estimator) if type(estimator).__name__ == "EncodedLabels" else estimator

    inputs = []
    if numeric:
        inputs.append(helper.make_tensor_value_info(NUMERIC, TensorProto.DOUBLE, [None, len(numeric)]))
    if categorical:
        inputs.append(helper.make_tensor_value_info(CATEGORICAL, TensorProto.INT64, [None, len(categorical)]))
    output = helper.make_tensor_value_info("probabilities", TensorProto.DOUBLE, [None, len(classes)])
    translate = _own_translation(estimator)
    if translate is not None:
        try:
            proba = translate(graph, features, estimator)
        except Unsupported as why:
            return Compilation(None, f"{_step_label(est_name, estimator)} does not compile: {why}")
        graph.nodes.append(helper.make_node("Identity", [proba], ["probabilities"]))
        model = helper.make_model(
            helper.make_graph(graph.nodes, "mlgate", inputs, [output], graph.initializers),
            opset_imports=[helper.make_opsetid("", ONNX_OPSET), helper.make_opsetid("ai.onnx.ml", ML_OPSET)],
        )
        precision = "double"
    else:
        try:
            converted = _skl2onnx_estimator(estimator, n_features, est_name)
        except Unsupported as why:
            return Compilation(None, str(why))
        model = _merge_skl2onnx(graph, inputs, output, features, converted)
        precision = "skl2onnx"
    model.ir_version = IR_VERSION
    model.producer_name = "mlgate"
    columns = [c for c in example.columns if c in set(numeric) | set(categorical)]
    missing = [c for c in numeric + categorical if c not in columns]
    if missing:
        raise ValueError(f"the example frame lacks the model's columns {missing}")
    meta = {
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
    helper.set_model_props(model, {METADATA_KEY: json.dumps(meta)})
    if precision == "skl2onnx":
        # A stock converter's graph may not load as we join it (a float32 output, say): no compiled model.
        try:
            onnx.checker.check_model(model)
            compiled = CompiledModel(model.SerializeToString())
        except Exception as error:  # onnx's and onnxruntime's errors share no base class
            first = (str(error).strip().splitlines() or [type(error).__name__])[0]
            return Compilation(None, f"{_step_label(est_name, estimator)}: skl2onnx's graph does not run: {first[:200]}")
    else:
        onnx.checker.check_model(model)
        compiled = CompiledModel(model.SerializeToString())
    if not np.array_equal(compiled.classes_, classes) or compiled.classes_.dtype != classes.dtype:
        return Compilation(None, f"the classes {classes!r} do not survive JSON; labels must be ints, strings or bools")
    return Compilation(compiled)


def _merge_skl2onnx(graph: Graph, inputs, output, features: str, converted: onnx.ModelProto) -> onnx.ModelProto:
    """Our preprocessing nodes, then skl2onnx's estimator graph reading `features`."""
    sub = converted.graph
    prefix = "est_"
    nodes = list(graph.nodes)
    float_input = sub.input[0].type.tensor_type.elem_type == TensorProto.FLOAT
    if float_input:
        float_features = features + "_float"
        nodes.append(helper.make_node("Cast", [features], [float_features], to=TensorProto.FLOAT))
        features = float_features
    renamed = {i.name: features for i in sub.input}

    def rename(name: str) -> str:
        if not name:
            return name
        return renamed.get(name, prefix + name)

    for node in sub.node:
        copy = onnx.NodeProto()
        copy.CopyFrom(node)
        copy.input[:] = [rename(n) for n in node.input]
        copy.output[:] = [rename(n) for n in node.output]
        copy.name = prefix + node.name
        nodes.append(copy)
    initializers = list(graph.initializers)
    for init in sub.initializer:
        copy = onnx.TensorProto()
        copy.CopyFrom(init)
        copy.name = prefix + init.name
        initializers.append(copy)
    proba_output = next((o for o in sub.output if "prob" in o.name), sub.output[-1])
    proba = rename(proba_output.name)
    # A float input (onnxmltools' boosting converters) gives float probabilities, whatever is declared.
    if float_input or proba_output.type.tensor_type.elem_type != TensorProto.DOUBLE:
        proba = _cast_double(nodes, proba)
    nodes.append(helper.make_node("Identity", [proba], ["probabilities"]))
    opsets = {o.domain: o.version for o in converted.opset_import}
    opsets[""] = max(opsets.get("", ONNX_OPSET), ONNX_OPSET)
    return helper.make_model(
        helper.make_graph(nodes, "mlgate", inputs, [output], initializers),
        opset_imports=[helper.make_opsetid(d, v) for d, v in opsets.items()],
    )


def _cast_double(nodes: list, name: str) -> str:
    out = name + "_double"
    nodes.append(helper.make_node("Cast", [name], [out], to=TensorProto.DOUBLE))
    return out
