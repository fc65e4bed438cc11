"""Any other estimator through skl2onnx's (or onnxmltools') converter, joined after our preprocessing."""

from __future__ import annotations

import onnx
from onnx import TensorProto, helper

from mlgate.compiler.graph import ONNX_OPSET, Graph
from mlgate.compiler.unsupported import Unsupported, step_label


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


def skl2onnx_estimator(estimator, n_features: int, path: str) -> onnx.ModelProto:
    """skl2onnx's own converter with a double input; Unsupported when it has none."""
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType

    # onnxmltools' boosting converters take float32 only (a double input converts, but wrongly);
    # XGBoost and LightGBM read float32 features themselves. merge_skl2onnx casts to it.
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
            raise Unsupported(f"{step_label(path, estimator)} has no ONNX converter: {message[:200]}") from None


def merge_skl2onnx(graph: Graph, inputs, output, features: str, converted: onnx.ModelProto) -> onnx.ModelProto:
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
