"""The library under the gates, in-process: data, split, pipeline, metrics, champion test, report.

No MLflow and no subprocess here; every model is a real scikit-learn
estimator fitted on a small table the test builds, so expected values can be
worked out by hand.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from sklearn.dummy import DummyClassifier

from mlgate.data import DataError, Dataset, load_dataset, split_holdout
from mlgate.evaluation.metrics import compute_metrics
from mlgate.settings import Settings
from mlgate.training import as_model_input, feature_kinds, train_model

LABELS = ("high", "low", "mid")


@pytest.fixture
def mixed(tmp_path, mixed_frame) -> Dataset:
    """The mixed table, read back from CSV the way a user's data arrives."""
    path = tmp_path / "mixed.csv"
    mixed_frame.to_csv(path, index=False)
    return load_dataset(str(path), "grade")


@pytest.fixture
def small_forest() -> Settings:
    """A quick estimator, so pipeline tests fit in milliseconds."""
    return Settings(estimator_params={"n_estimators": 10})


# --- data ----------------------------------------------------------------------------------


def test_bundled_dataset_loads_with_its_target():
    dataset = load_dataset("sklearn:breast_cancer", "target")
    assert dataset.frame.shape == (569, 31)
    assert set(dataset.labels.unique()) == {0, 1}
    assert "target" not in dataset.features.columns


def test_csv_keeps_missing_categories_as_missing(mixed):
    assert mixed.frame["colour"].isna().any()
    assert set(mixed.labels) == set(LABELS)


@pytest.mark.parametrize(
    "content, named",
    [(None, "does not exist"), ("", "is empty"), ("a,grade\n", "no rows")],
    ids=["missing file", "empty file", "header only"],
)
def test_unusable_csv_is_a_data_error(tmp_path, content, named):
    path = tmp_path / "table.csv"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(DataError, match=named):
        load_dataset(str(path), "grade")


# --- split ---------------------------------------------------------------------------------


def test_split_holdout_gives_every_label_rows_on_both_sides_near_the_fraction():
    frame = pd.DataFrame({"x": range(400), "y": ["a"] * 320 + ["b"] * 80})
    split = split_holdout(Dataset(frame, "y"), 0.25)
    held = split.holdout.labels.value_counts()
    # A hash split stratifies in expectation: each class near 25 %, binomial spread (sd ~ 8 and 4 rows).
    assert abs(held["a"] - 80) <= 24 and abs(held["b"] - 20) <= 12
    assert len(split.train.frame) + len(split.holdout.frame) == 400
    assert split.definition == "hash:content;fraction=0.25;stratify=class;v1"


def test_split_holdout_is_the_same_split_every_time():
    frame = pd.DataFrame({"x": range(60), "y": ["a", "b", "c"] * 20})
    first, again = (split_holdout(Dataset(frame, "y"), 0.2) for _ in range(2))
    assert first.holdout.frame.equals(again.holdout.frame)


def test_split_holdout_by_key_names_the_key_and_refuses_a_missing_one():
    frame = pd.DataFrame({"id": range(60), "x": range(60), "y": ["a", "b"] * 30})
    assert split_holdout(Dataset(frame, "y"), 0.2, key="id").definition.startswith("hash:key:id;")
    with pytest.raises(DataError, match="split key column 'nope' is not in the data"):
        split_holdout(Dataset(frame, "y"), 0.2, key="nope")


def test_split_holdout_drops_rows_without_a_label():
    frame = pd.DataFrame({"x": range(42), "y": ["a", "b"] * 20 + [None, None]})
    split = split_holdout(Dataset(frame, "y"), 0.25)
    assert len(split.train.frame) + len(split.holdout.frame) == 40
    assert split.train.labels.notna().all() and split.holdout.labels.notna().all()


def test_a_tiny_table_still_gets_every_label_on_both_sides():
    labels = ["a", "b", "c", "d"] * 3  # 10 % of 12 rows is fewer rows than labels
    split = split_holdout(Dataset(pd.DataFrame({"x": range(12), "y": labels}), "y"), 0.1)
    assert set(split.holdout.labels) == set(split.train.labels) == set(labels)


@pytest.mark.parametrize(
    "labels, fraction, named",
    [
        (["a"] * 10, 0.2, "1 distinct label"),
        (["a"] * 9 + ["b"], 0.2, "occur only once"),
    ],
    ids=["one class", "a label seen once"],
)
def test_split_holdout_refuses_what_cannot_be_stratified(labels, fraction, named):
    frame = pd.DataFrame({"x": range(len(labels)), "y": labels})
    with pytest.raises(DataError, match=named):
        split_holdout(Dataset(frame, "y"), fraction)


def _rows(frame: pd.DataFrame) -> set[tuple]:
    return set(frame.itertuples(index=False, name=None))


def test_after_rows_are_appended_to_a_csv_no_candidate_holdout_row_was_champion_training(tmp_path):
    """The leak issue #21 measured (32 % of the holdout with a seeded split), counted: now none."""
    from sklearn.datasets import load_breast_cancer

    table = load_breast_cancer(as_frame=True).frame
    path = tmp_path / "table.csv"
    table.iloc[:455].to_csv(path, index=False)  # last month's 80 %
    champion = split_holdout(load_dataset(str(path), "target"), 0.2)
    table.to_csv(path, index=False)  # this month's: 114 rows appended
    candidate = split_holdout(load_dataset(str(path), "target"), 0.2)

    leaked = _rows(candidate.holdout.frame) & _rows(champion.train.frame)
    assert len(candidate.holdout.frame) > len(champion.holdout.frame)  # it did grow
    assert len(leaked) == 0
    # Every row the champion held out is still held out: rows never change side.
    assert _rows(champion.holdout.frame) <= _rows(candidate.holdout.frame)


# --- pipeline ------------------------------------------------------------------------------


def test_booleans_and_strings_are_categories_numbers_are_numeric(mixed):
    assert feature_kinds(mixed.features) == (["size"], ["colour", "indoor"])


def test_string_dtype_becomes_object_for_the_imputer():
    frame = pd.DataFrame({"colour": pd.array(["red", None], dtype="string"), "size": [1.0, 2.0]})
    converted = as_model_input(frame)
    assert converted["colour"].dtype == object
    assert converted["size"].dtype == frame["size"].dtype


def test_pipeline_predicts_original_string_labels(mixed, small_forest):
    model = train_model(mixed, small_forest)
    assert list(model.classes_) == sorted(LABELS)
    predicted = model.predict(as_model_input(mixed.features))
    assert set(predicted) <= set(LABELS)
    assert (predicted == mixed.labels).mean() > 0.9


def test_pipeline_tolerates_unseen_and_missing_categories(mixed, small_forest):
    model = train_model(mixed, small_forest)
    rows = pd.DataFrame({"colour": ["purple", None], "size": [1.0, 5.0], "indoor": [True, False]})
    predicted = model.predict(as_model_input(rows))
    assert list(predicted) == ["low", "high"]  # `size` still decides


# --- metrics -------------------------------------------------------------------------------


def test_binary_metrics_of_a_majority_guesser_match_hand_worked_values():
    train = Dataset(pd.DataFrame({"x": range(10), "y": [0] * 6 + [1] * 4}), "y")
    holdout = Dataset(pd.DataFrame({"x": range(10), "y": [0] * 6 + [1] * 4}), "y")
    guesser = DummyClassifier(strategy="most_frequent").fit(train.features, train.labels)
    metrics = compute_metrics(guesser, holdout)
    assert metrics.accuracy == 0.6
    assert metrics.balanced_accuracy == 0.5
    assert metrics.macro_f1 == pytest.approx((0.75 + 0.0) / 2)  # F1 of class 0: 2*0.6*1/1.6
    assert metrics.roc_auc == 0.5  # one score for every row ranks nothing
    assert metrics.class_recall == {"0": 1.0, "1": 0.0}
    assert metrics.class_precision == {"0": 0.6, "1": 0.0}
    assert metrics.confusion_matrix == [[6, 0], [4, 0]]
    assert metrics.labels == [0, 1]


def test_multiclass_metrics_are_keyed_by_string_label(mixed, small_forest):
    split = split_holdout(mixed, 0.3)
    metrics = compute_metrics(train_model(split.train, small_forest), split.holdout)
    assert set(metrics.class_recall) == set(LABELS)
    assert metrics.labels == sorted(LABELS)
    assert 0.9 <= metrics.roc_auc <= 1.0  # one-vs-rest over the three classes
    assert np.asarray(metrics.confusion_matrix).sum() == len(split.holdout.frame)
    scalars = metrics.scalars()
    assert {"accuracy", "balanced_accuracy", "macro_f1", "roc_auc", "recall_low", "precision_mid"} <= set(scalars)
    json.dumps(scalars)  # loggable as it is


@pytest.mark.filterwarnings("ignore:Only one class is present")
def test_roc_auc_is_undefined_when_the_holdout_lacks_a_class(mixed, small_forest):
    model = train_model(mixed, small_forest)
    two_classes = Dataset(mixed.frame[mixed.labels != "mid"], "grade")
    metrics = compute_metrics(model, two_classes)
    assert math.isnan(metrics.roc_auc)
    assert "roc_auc" not in metrics.scalars()  # NaN is never logged
