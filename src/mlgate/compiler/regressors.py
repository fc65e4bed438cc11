"""A fitted regression pipeline as one double-precision ONNX graph: `compile_regressor`.

The preprocessing is the classifiers' (mlgate.compiler.translate); the graph
then ends in the regressor's value, one column named "predictions":

* forests and single trees (RandomForestRegressor, ExtraTreesRegressor,
  DecisionTreeRegressor) as one opset 5 `TreeEnsemble` over float32-rounded
  features, leaf means summed and divided by the number of trees, as
  scikit-learn averages them;
* linear models with one target (LinearRegression, Ridge, Lasso, ElasticNet and
  anything else with a 1-d `coef_` and a scalar `intercept_` from
  sklearn.linear_model) as `MatMul` then `Add`.

Anything else is served by scikit-learn, and the reason names the step.
"""

from __future__ import annotations

import json

import numpy as np
import onnx
from onnx import TensorProto, helper

from mlgate.compiler.graph import IR_VERSION, ML_OPSET, ONNX_OPSET, Graph, Trees, add_sklearn_tree, as_float32_then_double
from mlgate.compiler.metadata import metadata
from mlgate.compiler.preprocess import preprocess_graph
from mlgate.compiler.unsupported import Unsupported, step_label
from mlgate.serving.compiled import CATEGORICAL, METADATA_KEY, NUMERIC, Compilation, CompiledModel

REGRESSION = "regression"
OUTPUT = "predictions"


def _trees(graph: Graph, x: str, estimator) -> str:
    members = getattr(estimator, "estimators_", None)
    if int(getattr(estimator, "n_outputs_", 1)) != 1:
        raise Unsupported("multi-output trees")
    trees = Trees()
    for member in members if members is not None else [estimator]:
        add_sklearn_tree(trees, member.tree_, member.tree_.value[:, 0, 0], 0)
    total = trees.node(graph, as_float32_then_double(graph, x), 1)
    if members is None:
        return total
    return graph.op("Div", [total, graph.const(np.array(float(len(members))), "n_trees")], "mean")


def _linear(graph: Graph, x: str, estimator) -> str:
    coef = np.asarray(estimator.coef_, np.float64)
    intercept = np.asarray(estimator.intercept_, np.float64)
    if coef.ndim != 1 or intercept.size != 1:
        raise Unsupported("multi-output linear models")
    product = graph.op("MatMul", [x, graph.const(coef.reshape(-1, 1).copy(), "coef")], "xw")
    return graph.op("Add", [product, graph.const(intercept.reshape(1, 1), "intercept")], "value")


def _translation(estimator):
    from sklearn.ensemble import ExtraTreesRegressor, RandomForestRegressor
    from sklearn.tree import DecisionTreeRegressor

    kind = type(estimator)
    if kind in (RandomForestRegressor, ExtraTreesRegressor) or issubclass(kind, DecisionTreeRegressor):
        return _trees
    if kind.__module__.startswith("sklearn.linear_model") and hasattr(estimator, "coef_"):
        return _linear
    return None


def compile_regressor(pipeline, example) -> Compilation:
    """The fitted regression `pipeline` as a CompiledModel whose `predict` gives its values, or why not."""
    from sklearn.pipeline import Pipeline

    if not isinstance(pipeline, Pipeline) or len(pipeline.steps) != 2:
        return Compilation(None, f"the model is a {type(pipeline).__name__}, not a Pipeline(preprocess, estimator)")
    (prep_name, preprocess), (est_name, estimator) = pipeline.steps
    translate = _translation(estimator)
    if translate is None:
        return Compilation(None, f"{step_label(est_name, estimator)} has no regressor translation in mlgate "
                                 "(forests, trees and linear models have)")
    graph = Graph()
    try:
        features, numeric, categorical, categories = preprocess_graph(
            graph, preprocess, list(getattr(pipeline, "feature_names_in_", example.columns)), prep_name
        )
        value = translate(graph, features, estimator)
    except Unsupported as why:
        return Compilation(None, str(why))
    model = _onnx_model(graph, value, numeric, categorical)
    # A regressor has no classes: an empty float64 class list, as the server reads it.
    no_classes = np.array([], dtype=np.float64)
    meta = {**metadata(example, numeric, categorical, categories, no_classes, estimator, "double"), "task": REGRESSION}
    helper.set_model_props(model, {METADATA_KEY: json.dumps(meta)})
    onnx.checker.check_model(model)
    return Compilation(CompiledModel(model.SerializeToString()))


def _onnx_model(graph: Graph, value: str, numeric: list, categorical: list):
    """The translated graph as an ONNX model: its inputs by column kind, one double per row out."""
    graph.nodes.append(helper.make_node("Identity", [value], [OUTPUT]))
    inputs = []
    if numeric:
        inputs.append(helper.make_tensor_value_info(NUMERIC, TensorProto.DOUBLE, [None, len(numeric)]))
    if categorical:
        inputs.append(helper.make_tensor_value_info(CATEGORICAL, TensorProto.INT64, [None, len(categorical)]))
    output = helper.make_tensor_value_info(OUTPUT, TensorProto.DOUBLE, [None, 1])
    model = helper.make_model(
        helper.make_graph(graph.nodes, "mlgate", inputs, [output], graph.initializers),
        opset_imports=[helper.make_opsetid("", ONNX_OPSET), helper.make_opsetid("ai.onnx.ml", ML_OPSET)],
    )
    model.ir_version = IR_VERSION
    model.producer_name = "mlgate"
    return model
