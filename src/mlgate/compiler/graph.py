"""Building ONNX graphs: named nodes and constants, and the ai.onnx.ml opset 5 TreeEnsemble.

opset 3's `TreeEnsembleClassifier`/`Regressor` take double thresholds through
`*_as_tensor`, but onnxruntime still returns float32 scores; opset 5's
`TreeEnsemble` keeps splits, leaf weights and output in double. A v5 leaf
feeds one target, so a k-class forest holds each tree k times, once per
class. scikit-learn's trees compare `float32(x) <= threshold`, so the graph
casts to float32 and back before them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ONNX_OPSET = 21
ML_OPSET = 5
IR_VERSION = 10
# TreeEnsemble (ai.onnx.ml opset 5) enumerations.
_LEQ = 0
_SUM = 1

class Graph:
    """ONNX nodes and initializers with fresh names."""

    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self._count = 0

    def name(self, hint: str) -> str:
        self._count += 1
        return f"{hint}_{self._count}"

    def const(self, value: Any, hint: str = "c", dtype=None) -> str:
        name = self.name(hint)
        self.initializers.append(numpy_helper.from_array(np.asarray(value, dtype=dtype), name))
        return name

    def op(self, op_type: str, inputs: Sequence[str], hint: str | None = None, domain: str = "", **attrs) -> str:
        out = self.name(hint or op_type.lower())
        self.nodes.append(helper.make_node(op_type, list(inputs), [out], domain=domain, **attrs))
        return out



class Trees:
    """Attributes of one ai.onnx.ml opset 5 TreeEnsemble, one (tree, target) at a time."""

    def __init__(self) -> None:
        self.featureids: list[np.ndarray] = []
        self.splits: list[np.ndarray] = []
        self.missing_true: list[np.ndarray] = []
        self.truenodeids: list[np.ndarray] = []
        self.trueleafs: list[np.ndarray] = []
        self.falsenodeids: list[np.ndarray] = []
        self.falseleafs: list[np.ndarray] = []
        self.leaf_targetids: list[np.ndarray] = []
        self.leaf_weights: list[np.ndarray] = []
        self.roots: list[int] = []
        self.n_nodes = 0
        self.n_leaves = 0

    def add(self, left, right, is_leaf, feature, threshold, weight, target: int, missing_left=None) -> None:
        """One tree in scikit-learn's array form: `weight[node]` is read at leaves only."""
        is_leaf = np.asarray(is_leaf, dtype=bool)
        interior = np.flatnonzero(~is_leaf)
        leaves = np.flatnonzero(is_leaf)
        if interior.size == 0:  # a single leaf: a split whose both sides are that leaf
            self.roots.append(self.n_nodes)
            self.featureids.append(np.zeros(1, np.int64))
            self.splits.append(np.zeros(1))
            self.missing_true.append(np.zeros(1, np.int64))
            for ids, flags in ((self.truenodeids, self.trueleafs), (self.falsenodeids, self.falseleafs)):
                ids.append(np.array([self.n_leaves], np.int64))
                flags.append(np.ones(1, np.int64))
            self.leaf_targetids.append(np.array([target], np.int64))
            self.leaf_weights.append(np.array([weight[leaves[0]]], np.float64))
            self.n_nodes += 1
            self.n_leaves += 1
            return
        if is_leaf[0]:
            raise ValueError("a tree whose root is a leaf has no other nodes")
        position = np.empty(len(is_leaf), np.int64)
        position[interior] = self.n_nodes + np.arange(interior.size)
        position[leaves] = self.n_leaves + np.arange(leaves.size)
        left = np.asarray(left)[interior]
        right = np.asarray(right)[interior]
        self.roots.append(int(position[0]))
        self.featureids.append(np.asarray(feature)[interior].astype(np.int64))
        self.splits.append(np.asarray(threshold, np.float64)[interior])
        self.missing_true.append(
            np.zeros(interior.size, np.int64) if missing_left is None
            else np.asarray(missing_left)[interior].astype(np.int64)
        )
        self.truenodeids.append(position[left])
        self.trueleafs.append(is_leaf[left].astype(np.int64))
        self.falsenodeids.append(position[right])
        self.falseleafs.append(is_leaf[right].astype(np.int64))
        self.leaf_targetids.append(np.full(leaves.size, target, np.int64))
        self.leaf_weights.append(np.asarray(weight, np.float64)[leaves])
        self.n_nodes += interior.size
        self.n_leaves += leaves.size

    def add_constant(self, value: float, target: int) -> None:
        self.add([-1], [-1], [True], [0], [0.0], [value], target)

    def node(self, graph: Graph, x: str, n_targets: int) -> str:
        cat = np.concatenate
        return graph.op(
            "TreeEnsemble",
            [x],
            "scores",
            domain="ai.onnx.ml",
            aggregate_function=_SUM,
            post_transform=0,
            n_targets=n_targets,
            tree_roots=[int(r) for r in self.roots],
            nodes_featureids=cat(self.featureids).tolist(),
            nodes_splits=numpy_helper.from_array(cat(self.splits).astype(np.float64)),
            nodes_modes=numpy_helper.from_array(np.full(self.n_nodes, _LEQ, np.uint8)),
            nodes_missing_value_tracks_true=cat(self.missing_true).tolist(),
            nodes_truenodeids=cat(self.truenodeids).tolist(),
            nodes_trueleafs=cat(self.trueleafs).tolist(),
            nodes_falsenodeids=cat(self.falsenodeids).tolist(),
            nodes_falseleafs=cat(self.falseleafs).tolist(),
            leaf_targetids=cat(self.leaf_targetids).tolist(),
            leaf_weights=numpy_helper.from_array(cat(self.leaf_weights).astype(np.float64)),
        )


def as_float32_then_double(graph: Graph, x: str) -> str:
    """scikit-learn's trees see float32(x): the same rounding before double splits."""
    x32 = graph.op("Cast", [x], "x32", to=TensorProto.FLOAT)
    return graph.op("Cast", [x32], "x32_64", to=TensorProto.DOUBLE)


def add_sklearn_tree(trees: Trees, tree, weight: np.ndarray, target: int) -> None:
    trees.add(tree.children_left, tree.children_right, tree.children_left == -1, tree.feature,
              tree.threshold, weight, target)
