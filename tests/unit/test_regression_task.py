"""The task setting and its inference, the regression split, and a regressor's training checks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.dummy import DummyRegressor
from sklearn.ensemble import RandomForestRegressor
from sklearn.linear_model import LogisticRegression

from mlgate.data import DataError, Dataset, split_holdout
from mlgate.settings import Settings, SettingsError, load_settings
from mlgate.task import CLASSIFICATION, REGRESSION, infer_task, task_of
from mlgate.training import build_model, estimator_from_settings, resolve_estimator, train_model

RNG = np.random.default_rng(0)


@pytest.fixture
def regression_csv(tmp_path) -> str:
    """A numeric target with many values, some rows without it: what `auto` must read as regression."""
    x = RNG.normal(size=300)
    frame = pd.DataFrame({"x": x, "colour": RNG.choice(["red", "blue", None], size=300), "y": 3 * x + RNG.normal(size=300)})
    frame.loc[:4, "y"] = np.nan
    path = tmp_path / "numbers.csv"
    frame.to_csv(path, index=False)
    return str(path)


@pytest.mark.parametrize(
    "values, task",
    [
        (RNG.normal(size=200), REGRESSION),  # fractional, 200 distinct
        (np.arange(200), REGRESSION),  # whole, 200 distinct in 100 % of rows
        (np.arange(200) % 3, CLASSIFICATION),  # three codes
        (np.arange(200) % 3 + 0.0, CLASSIFICATION),  # integer labels with gaps read as floats
        (np.arange(10_000) % 30, CLASSIFICATION),  # 30 integer codes in 0.3 % of the rows
        (np.round(RNG.normal(size=200), 1) * 0 + np.linspace(0, 1, 200) // 0.1 / 10, CLASSIFICATION),  # 11 values
        (np.array(["a", "b"] * 100), CLASSIFICATION),
        (np.array([True, False] * 100), CLASSIFICATION),
    ],
    ids=["floats", "many ints", "three codes", "codes as floats", "30 codes on many rows", "11 fractions", "text", "bools"],
)
def test_auto_infers_the_task_from_the_target(values, task):
    choice = infer_task(pd.Series(values, name="y"))
    assert choice.task == task
    assert "distinct values" in choice.why or "not numeric" in choice.why


def test_auto_says_why_it_chose_regression(regression_csv):
    choice = task_of(load_settings(overrides={"dataset": regression_csv, "target": "y"}))
    assert choice.task == REGRESSION
    assert "target 'y' has 295 distinct values in 295 rows" in choice.why
    assert 'task = "auto"' in choice.why


def test_task_setting_overrides_inference(regression_csv):
    settings = load_settings(overrides={"dataset": regression_csv, "target": "y", "task": "classification"})
    assert task_of(settings).task == CLASSIFICATION


def test_unknown_task_is_a_settings_error():
    with pytest.raises(SettingsError, match="'task'.*'auto', 'classification', 'regression'"):
        load_settings(overrides={"task": "ranking"})


def test_regression_left_at_the_classifier_default_gets_a_forest_regressor(regression_csv):
    settings = load_settings(overrides={"dataset": regression_csv, "target": "y"})
    assert isinstance(estimator_from_settings(settings), RandomForestRegressor)


def test_a_classifier_for_a_regression_task_is_one_settings_error():
    with pytest.raises(SettingsError) as raised:
        resolve_estimator("sklearn.linear_model.LogisticRegression", {}, REGRESSION)
    message = str(raised.value)
    assert "'estimator'" in message and "a classifier, but the task is regression" in message
    assert 'set task = "classification"' in message and "RandomForestRegressor" in message


def test_a_regressor_for_a_classification_task_is_one_settings_error():
    with pytest.raises(SettingsError, match="a regressor, but the task is classification"):
        resolve_estimator("sklearn.ensemble.RandomForestRegressor", {}, CLASSIFICATION)


def test_pipeline_returning_a_classifier_for_regression_is_refused(regression_csv, monkeypatch, tmp_path):
    module = tmp_path / "wrong_kind.py"
    module.write_text("from sklearn.linear_model import LogisticRegression\n\ndef build(f, s):\n    return LogisticRegression()\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    settings = load_settings(overrides={"dataset": regression_csv, "target": "y", "pipeline": "wrong_kind:build"})
    with pytest.raises(SettingsError, match="'pipeline'.*LogisticRegression: a classifier, but the task is regression"):
        build_model(pd.DataFrame({"x": [1.0]}), settings)


def test_pipeline_may_return_a_regressor(regression_csv, monkeypatch, tmp_path):
    module = tmp_path / "mean_model.py"
    module.write_text("from sklearn.dummy import DummyRegressor\n\ndef build(f, s):\n    return DummyRegressor()\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    settings = load_settings(overrides={"dataset": regression_csv, "target": "y", "pipeline": "mean_model:build"})
    assert isinstance(build_model(pd.DataFrame({"x": [1.0]}), settings), DummyRegressor)


def test_regression_split_drops_and_counts_rows_without_target_and_spans_the_range(regression_csv):
    frame = pd.read_csv(regression_csv)
    split = split_holdout(Dataset(frame, "y"), 0.2, task=REGRESSION)
    assert split.rows_without_target == 5
    assert len(split.train.frame) + len(split.holdout.frame) == 295
    # The hash spreads the target: the holdout's median sits near the whole target's.
    assert abs(split.holdout.labels.median() - frame["y"].median()) < 0.5 * frame["y"].std()


def test_classification_split_of_a_continuous_target_is_refused_as_before(regression_csv):
    with pytest.raises(DataError, match="occur only once"):
        split_holdout(Dataset(pd.read_csv(regression_csv), "y"), 0.2)


def test_constant_target_cannot_be_regressed():
    frame = pd.DataFrame({"x": range(50), "y": [1.5] * 50})
    with pytest.raises(DataError, match="fewer than 2 distinct values"):
        split_holdout(Dataset(frame, "y"), 0.2, task=REGRESSION)


def test_default_pipeline_trains_a_regressor_end_to_end(regression_csv):
    settings = load_settings(overrides={"dataset": regression_csv, "target": "y", "estimator_params": {"n_estimators": 20}})
    frame = pd.read_csv(regression_csv)
    split = split_holdout(Dataset(frame, "y"), 0.2, task=REGRESSION)
    model = train_model(split.train, settings)
    predicted = model.predict(split.holdout.features.astype({"colour": object}))
    assert predicted.dtype.kind == "f"
    assert np.corrcoef(predicted, split.holdout.labels)[0, 1] > 0.8


def test_classification_default_is_unchanged():
    assert type(estimator_from_settings(Settings(estimator_params={"n_estimators": 5}))).__name__ == "RandomForestClassifier"
