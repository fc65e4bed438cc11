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

import numpy as np
import onnx
from onnx import TensorProto, helper

from mlgate.compiler.estimators import own_translation
from mlgate.compiler.graph import IR_VERSION, ML_OPSET, ONNX_OPSET, Graph
from mlgate.compiler.metadata import metadata
from mlgate.compiler.preprocess import preprocess_graph
from mlgate.compiler.stock import merge_skl2onnx, skl2onnx_estimator
from mlgate.compiler.unsupported import Unsupported, step_label
from mlgate.serving.compiled import (
    CATEGORICAL,
    METADATA_KEY,
    NUMERIC,
    Compilation,
    CompiledModel,
)

__all__ = ["Unsupported", "compile_model"]


def compile_model(pipeline, example) -> Compilation:
    """The fitted `pipeline` (mlgate.training's shape) as a CompiledModel, or why not.

    `example` is a frame of the model's input (any rows, even none): it gives
    the column order. A step with no translation gives `compiled=None` and a
    reason naming the step; nothing else is caught.
    """
    from sklearn.base import is_regressor
    from sklearn.pipeline import Pipeline

    if is_regressor(pipeline):  # its graph ends in a value, not class probabilities
        from mlgate.compiler.regressors import compile_regressor

        return compile_regressor(pipeline, example)
    if not isinstance(pipeline, Pipeline) or len(pipeline.steps) != 2:
        return Compilation(None, f"the model is a {type(pipeline).__name__}, not a Pipeline(preprocess, estimator)")
    (prep_name, preprocess), (est_name, estimator) = pipeline.steps
    names_in = list(getattr(pipeline, "feature_names_in_", example.columns))
    graph = Graph()
    try:
        features, numeric, categorical, categories = preprocess_graph(graph, preprocess, names_in, prep_name)
    except Unsupported as why:
        return Compilation(None, str(why))
    n_features = len(preprocess.get_feature_names_out())
    classes = np.asarray(estimator.classes_)
    # Labels encoded as 0..n-1 for the classifier inside: it is what converts; `classes` maps back.
    estimator = getattr(estimator, "classifier_", estimator) if type(estimator).__name__ == "EncodedLabels" else estimator
    inputs = _graph_inputs(numeric, categorical)
    output = helper.make_tensor_value_info("probabilities", TensorProto.DOUBLE, [None, len(classes)])
    try:
        model, precision = _estimator_model(graph, inputs, output, features, (est_name, estimator), n_features)
    except Unsupported as why:
        return Compilation(None, str(why))
    model.ir_version = IR_VERSION
    model.producer_name = "mlgate"
    meta = metadata(example, numeric, categorical, categories, classes, estimator, precision)
    helper.set_model_props(model, {METADATA_KEY: json.dumps(meta)})
    try:
        compiled = _loaded(model, precision, (est_name, estimator))
    except Unsupported as why:
        return Compilation(None, str(why))
    if not np.array_equal(compiled.classes_, classes) or compiled.classes_.dtype != classes.dtype:
        return Compilation(None, f"the classes {classes!r} do not survive JSON; labels must be ints, strings or bools")
    return Compilation(compiled)


def _graph_inputs(numeric: list[str], categorical: list[str]) -> list:
    inputs = []
    if numeric:
        inputs.append(helper.make_tensor_value_info(NUMERIC, TensorProto.DOUBLE, [None, len(numeric)]))
    if categorical:
        inputs.append(helper.make_tensor_value_info(CATEGORICAL, TensorProto.INT64, [None, len(categorical)]))
    return inputs


def _estimator_model(graph: Graph, inputs, output, features: str, step, n_features: int):
    """(the whole model, its precision): our own translation if there is one, else skl2onnx's."""
    est_name, estimator = step
    translate = own_translation(estimator)
    if translate is None:
        converted = skl2onnx_estimator(estimator, n_features, est_name)
        return merge_skl2onnx(graph, inputs, output, features, converted), "skl2onnx"
    try:
        proba = translate(graph, features, estimator)
    except Unsupported as why:
        raise Unsupported(f"{step_label(est_name, estimator)} does not compile: {why}") from None
    graph.nodes.append(helper.make_node("Identity", [proba], ["probabilities"]))
    model = helper.make_model(
        helper.make_graph(graph.nodes, "mlgate", inputs, [output], graph.initializers),
        opset_imports=[helper.make_opsetid("", ONNX_OPSET), helper.make_opsetid("ai.onnx.ml", ML_OPSET)],
    )
    return model, "double"


def _loaded(model: onnx.ModelProto, precision: str, step) -> CompiledModel:
    """The checked model, loaded; Unsupported if a stock converter's graph does not run."""
    if precision != "skl2onnx":
        onnx.checker.check_model(model)
        return CompiledModel(model.SerializeToString())
    est_name, estimator = step
    # A stock converter's graph may not load as we join it (a float32 output, say): no compiled model.
    try:
        onnx.checker.check_model(model)
        return CompiledModel(model.SerializeToString())
    except Exception as error:  # onnx's and onnxruntime's errors share no base class
        first = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise Unsupported(f"{step_label(est_name, estimator)}: skl2onnx's graph does not run: {first[:200]}") from None
