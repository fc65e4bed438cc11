"""Estimators mlgate translates itself (`own_translation`): trees as one TreeEnsemble, logistic regression."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from mlgate.compiler.graph import Graph, Trees, add_sklearn_tree, as_float32_then_double
from mlgate.compiler.unsupported import Unsupported


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


def own_translation(estimator) -> Callable | None:
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

