"""Regressors compiled to ONNX: values equal scikit-learn's, the saved form reloads, the parity gate goes red on a wrong graph."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from mlgate.compiler.translate import compile_model
from mlgate.data import load_dataset, split_holdout
from mlgate.evaluation.regression import value_parity
from mlgate.gates.model.compiled_parity_regression import test_compiled_regressor_matches_on_every_holdout_row as holdout_gate
from mlgate.serving.compiled import CompiledModel
from mlgate.settings import load_settings
from mlgate.training import as_model_input, as_served_input, train_model


@pytest.fixture(scope="module")
def diabetes_csv(tmp_path_factory) -> str:
    """The diabetes table as a user's CSV: `sex` as text with gaps, some `bmi` missing."""
    from sklearn.datasets import load_diabetes

    frame = load_diabetes(as_frame=True, scaled=False).frame
    frame["sex"] = frame["sex"].map({1.0: "female", 2.0: "male"}).astype(object)
    frame.loc[::9, "sex"] = None
    frame.loc[::7, "bmi"] = np.nan
    path = tmp_path_factory.mktemp("diabetes") / "diabetes.csv"
    frame.to_csv(path, index=False)
    return str(path)


def trained(csv: str, estimator: str, **params):
    settings = load_settings(overrides={"dataset": csv, "target": "target", "estimator": estimator, "estimator_params": params})
    split = split_holdout(load_dataset(csv, "target"), 0.2, task="regression")
    return train_model(split.train, settings), split


@pytest.mark.parametrize(
    "estimator, params",
    [
        ("sklearn.ensemble.RandomForestRegressor", {"n_estimators": 30}),
        ("sklearn.ensemble.ExtraTreesRegressor", {"n_estimators": 10}),
        ("sklearn.tree.DecisionTreeRegressor", {}),
        ("sklearn.linear_model.LinearRegression", {}),
        ("sklearn.linear_model.Ridge", {"alpha": 2.0}),
    ],
)
def test_compiled_regressor_equals_scikit_learn(diabetes_csv, estimator, params):
    model, split = trained(diabetes_csv, estimator, **params)
    compiled = compile_model(model, as_served_input(split.train.features.head(5))).compiled
    assert compiled is not None and compiled.task == "regression"
    result = value_parity(model, compiled, as_model_input(split.holdout.features))
    assert result.within(1e-12), result
    # The saved bytes alone rebuild it.
    again = CompiledModel.from_bytes(compiled.to_bytes())
    assert np.array_equal(again.predict(as_model_input(split.holdout.features)), compiled.predict(as_model_input(split.holdout.features)))


def test_regressor_without_translation_is_served_by_scikit_learn_and_says_why(diabetes_csv):
    model, split = trained(diabetes_csv, "sklearn.ensemble.GradientBoostingRegressor", n_estimators=10)
    compilation = compile_model(model, as_served_input(split.train.features.head(5)))
    assert compilation.compiled is None
    assert "GradientBoostingRegressor" in compilation.skipped_because


def test_parity_gate_is_red_on_a_wrong_graph(diabetes_csv):
    model, split = trained(diabetes_csv, "sklearn.ensemble.RandomForestRegressor", n_estimators=20)
    other, _ = trained(diabetes_csv, "sklearn.ensemble.RandomForestRegressor", n_estimators=20, max_depth=2)
    wrong = compile_model(other, as_served_input(split.train.features.head(5)))
    right = compile_model(model, as_served_input(split.train.features.head(5)))
    settings = load_settings(overrides={"dataset": diabetes_csv, "target": "target"})
    frame = as_model_input(split.holdout.features)
    holdout_gate(right, model, frame, settings, lambda *_: None)
    with pytest.raises(AssertionError, match="compiled regressor disagrees with scikit-learn on the holdout"):
        holdout_gate(wrong, model, frame, settings, lambda *_: None)


def test_value_parity_counts_nan_as_infinitely_far():
    model = SimpleNamespace(predict=lambda frame: np.array([1.0, 2.0]))
    compiled = SimpleNamespace(predict=lambda frame: np.array([1.0, np.nan]))
    result = value_parity(model, compiled, pd.DataFrame({"x": [0, 1]}))
    assert result.max_rel_diff == np.inf and result.worst_row == 1
