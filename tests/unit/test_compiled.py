"""The compiled (ONNX) model against the scikit-learn pipeline it came from.

Real pipelines from `mlgate.training`: breast_cancer with the default settings,
and wine with string labels plus a categorical column and a numeric column
with gaps. Parity means identical labels and probabilities within 1e-9 --
the forests' come out bit for bit.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.datasets import load_wine
from sklearn.preprocessing import QuantileTransformer

from mlgate.compiler.translate import compile_model
from mlgate.data import Dataset, load_dataset, split_holdout
from mlgate.serving.compiled import CompiledModel, parity
from mlgate.settings import Settings
from mlgate.training import as_model_input, train_model

ATOL = 1e-9
REGIONS = ["east", "north", "south", "west"]


def wine_dataset() -> Dataset:
    frame = load_wine(as_frame=True).frame
    rng = np.random.default_rng(7)
    frame["target"] = np.array(["class_0", "class_1", "class_2"], dtype=object)[frame["target"]]
    frame["region"] = rng.choice(REGIONS, size=len(frame)).astype(object)
    frame.loc[rng.random(len(frame)) < 0.15, "region"] = np.nan
    frame.loc[rng.random(len(frame)) < 0.15, "alcohol"] = np.nan
    return Dataset(frame, "target")


class Case:
    def __init__(self, name: str, dataset: Dataset, settings: Settings) -> None:
        split = split_holdout(dataset, settings.holdout_fraction, key=settings.split_key)
        self.name = name
        self.settings = settings
        self.train = split.train
        self.model = train_model(split.train, settings)
        self.holdout = as_model_input(split.holdout.features)
        compilation = compile_model(self.model, self.holdout)
        assert compilation.skipped_because == ""
        self.compiled: CompiledModel = compilation.compiled


@pytest.fixture(scope="module")
def breast_cancer() -> Case:
    settings = Settings()
    return Case("breast_cancer", load_dataset(settings.dataset, settings.target), settings)


@pytest.fixture(scope="module")
def wine() -> Case:
    return Case("wine", wine_dataset(), Settings(estimator_params={"n_estimators": 60}))


@pytest.fixture(params=["breast_cancer", "wine"])
def case(request) -> Case:
    return request.getfixturevalue(request.param)


def as_served(frame: pd.DataFrame, categorical) -> pd.DataFrame:
    """None as NaN in categorical columns, as `model.payload` hands rows to the model.

    scikit-learn's imputer takes only NaN as missing in an object column: a
    None would stay None and encode as an unseen category. The compiled model
    takes None as missing, so it is compared with scikit-learn on NaN.
    """
    served = frame.copy()
    for column in categorical:
        served[column] = np.array([np.nan if v is None else v for v in frame[column]], dtype=object)
    return served


def assert_parity(case: Case, frame: pd.DataFrame, compiled: CompiledModel | None = None) -> None:
    compiled = compiled or case.compiled
    served = as_served(frame, compiled.categorical)
    result = parity(case.model, compiled, served)
    assert result.label_mismatches == 0, result
    assert result.max_abs_proba_diff <= ATOL, result
    labels = compiled.predict(frame)
    expected = case.model.predict(served)
    assert labels.dtype == expected.dtype
    np.testing.assert_array_equal(labels, expected)
    np.testing.assert_array_equal(compiled.predict_proba(frame), compiled.predict_proba(served))


def test_holdout_rows_agree(case):
    assert_parity(case, case.holdout)


def test_forest_probabilities_are_bit_identical(case):
    np.testing.assert_array_equal(case.compiled.predict_proba(case.holdout), case.model.predict_proba(case.holdout))


def test_classes_keep_their_values_and_dtype(case):
    classes = case.model.classes_
    assert case.compiled.classes_.dtype == classes.dtype
    np.testing.assert_array_equal(case.compiled.classes_, classes)


def test_rows_missing_every_value_are_imputed_as_scikit_learn_does(case):
    frame = case.holdout.head(4).copy()
    for column in frame.columns:
        frame[column] = np.nan
    frame = frame.astype({c: object for c in case.compiled.categorical})
    assert frame.isna().all().all()
    assert_parity(case, pd.concat([frame, case.holdout.head(3)]))


def test_each_missing_kind_and_unseen_categories(wine):
    frame = wine.holdout.head(6).copy()
    frame["region"] = np.array([None, np.nan, float("nan"), np.float32("nan"), "atlantis", ""], dtype=object)
    frame.loc[frame.index[:3], "alcohol"] = np.nan
    assert_parity(wine, frame)
    with_na = frame.copy()
    with_na["region"] = np.array([pd.NA] * 6, dtype=object)
    np.testing.assert_array_equal(
        wine.compiled.predict_proba(with_na), wine.model.predict_proba(with_na.assign(region=np.nan))
    )
    unseen = frame.copy()
    unseen["region"] = "atlantis"
    # An unseen category is all zeros in the one-hot block, as with handle_unknown="ignore".
    assert_parity(wine, unseen)


def test_scikit_learn_encodes_none_as_an_unseen_category(wine):
    """Why `as_served` exists: the sklearn pipeline imputes NaN but not None."""
    row = wine.holdout.head(1)
    onehot = wine.model.named_steps["preprocess"].transform(row.assign(region=np.array([None], dtype=object)))
    assert not onehot[0, -len(REGIONS):].any()
    onehot = wine.model.named_steps["preprocess"].transform(row.assign(region=np.array([np.nan], dtype=object)))
    assert onehot[0, -len(REGIONS):].sum() == 1


def test_columns_api_matches_the_frame_api(wine):
    frame = wine.holdout.head(5)
    columns = {name: frame[name].to_numpy() for name in frame.columns}
    columns["alcohol"] = columns["alcohol"].astype(np.float64)
    np.testing.assert_array_equal(wine.compiled.predict_columns(columns), wine.model.predict(frame))
    proba = wine.compiled.predict_proba_columns(columns)
    assert proba.dtype == np.float64 and proba.shape == (5, 3)


def test_infinity_is_refused_like_scikit_learn(breast_cancer):
    frame = breast_cancer.holdout.head(1).copy()
    frame.iloc[0, 0] = math.inf
    with pytest.raises(ValueError, match="infinity"):
        breast_cancer.model.predict(frame)
    with pytest.raises(ValueError, match="infinity"):
        breast_cancer.compiled.predict(frame)


def test_round_trip_through_bytes_and_folder(wine, tmp_path):
    again = CompiledModel.from_bytes(wine.compiled.to_bytes())
    assert_parity(wine, wine.holdout, again)
    folder = wine.compiled.save(tmp_path / "compiled")
    assert sorted(p.name for p in folder.iterdir()) == ["compiled.json", "model.onnx"]
    loaded = CompiledModel.load(folder)
    assert loaded.columns == wine.compiled.columns and loaded.kinds == wine.compiled.kinds
    assert loaded.kinds["region"] == "categorical" and loaded.kinds["alcohol"] == "numeric"
    assert_parity(wine, wine.holdout, loaded)


def test_another_models_graph_fails_parity(wine):
    other = train_model(wine.train, Settings(estimator_params={"n_estimators": 3}, random_seed=1))
    wrong = compile_model(other, wine.holdout).compiled
    result = parity(wine.model, wrong, wine.holdout)
    assert not result.within(ATOL)
    assert result.max_abs_proba_diff > 0.05
    assert 0 <= result.worst_row < len(wine.holdout)


def test_an_estimator_without_converter_is_skipped_naming_the_step(wine):
    settings = Settings(estimator="sklearn.semi_supervised.LabelPropagation", estimator_params={})
    model = train_model(wine.train, settings)
    compilation = compile_model(model, wine.holdout)
    assert compilation.compiled is None
    assert compilation.skipped_because.startswith("step 'estimator' (LabelPropagation) has no ONNX converter")


def test_an_unknown_transformer_is_skipped_naming_the_step(wine):
    model = train_model(wine.train, wine.settings)
    model.set_params(preprocess__numeric__scale=QuantileTransformer(n_quantiles=20))
    features = as_model_input(wine.train.features)
    model.fit(features, wine.train.labels)
    compilation = compile_model(model, wine.holdout)
    assert compilation.compiled is None
    assert "step 'preprocess/numeric/scale' (QuantileTransformer)" in compilation.skipped_because


@pytest.mark.parametrize(
    "estimator, params",
    [
        ("sklearn.linear_model.LogisticRegression", {"max_iter": 2000}),
        ("sklearn.ensemble.GradientBoostingClassifier", {"n_estimators": 30}),
        ("sklearn.ensemble.ExtraTreesClassifier", {"n_estimators": 30}),
        ("sklearn.tree.DecisionTreeClassifier", {}),
        ("sklearn.ensemble.HistGradientBoostingClassifier", {"max_iter": 30}),
    ],
    ids=lambda v: v.rsplit(".", 1)[-1] if isinstance(v, str) else "",
)
@pytest.mark.parametrize("dataset", ["breast_cancer", "wine"])
def test_other_estimators_reach_double_parity(request, dataset, estimator, params):
    base = request.getfixturevalue(dataset)
    settings = Settings(estimator=estimator, estimator_params=params)
    model = train_model(base.train, settings)
    compilation = compile_model(model, base.holdout)
    assert compilation.compiled is not None, compilation.skipped_because
    assert compilation.compiled.precision == "double"
    frame = base.holdout.copy()
    gaps = frame.head(3).copy()
    for column in gaps.columns:
        gaps[column] = np.nan
    frame = pd.concat([frame, gaps.astype(frame.dtypes.to_dict())])
    assert frame.isna().all(axis=1).sum() == 3
    result = parity(model, compilation.compiled, frame)
    assert result.within(ATOL), result


# --- drawn rows ------------------------------------------------------------------------------

numbers = st.one_of(
    st.floats(min_value=-1e30, max_value=1e30, allow_nan=False),
    st.sampled_from([math.nan, 0.0, -0.0, 1e30, -1e30, 1e-30]),
)
categories = st.one_of(st.sampled_from(REGIONS), st.none(), st.just(math.nan), st.text(max_size=5))


def drawn_frame(case: Case, rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=list(case.compiled.columns))
    return frame.astype({c: (object if c in case.compiled.categorical else np.float64) for c in frame.columns})


@st.composite
def wine_rows(draw):
    rows = []
    for _ in range(draw(st.integers(1, 4))):
        row = {c: draw(numbers) for c in wine_columns}
        row["region"] = draw(categories)
        rows.append(row)
    return rows


wine_columns = [c for c in load_wine(as_frame=True).feature_names]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=wine_rows())
def test_drawn_wine_rows_agree(wine, rows):
    frame = drawn_frame(wine, rows)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert_parity(wine, frame)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_drawn_breast_cancer_rows_agree(breast_cancer, data):
    # Real rows with some cells replaced: values near the forest's split thresholds stay likely.
    base = breast_cancer.holdout.iloc[data.draw(st.integers(0, len(breast_cancer.holdout) - 1))].to_dict()
    columns = data.draw(st.lists(st.sampled_from(list(breast_cancer.compiled.columns)), max_size=6))
    row = dict(base, **{c: data.draw(numbers) for c in columns})
    assert_parity(breast_cancer, drawn_frame(breast_cancer, [row]))


@pytest.mark.filterwarnings("ignore:Skipping features without any observed values")
def test_a_column_empty_in_training_is_dropped_as_the_imputer_drops_it(wine):
    train = Dataset(wine.train.frame.assign(empty=np.nan), "target")
    model = train_model(train, Settings(estimator_params={"n_estimators": 10}))
    holdout = wine.holdout.assign(empty=np.nan)
    holdout.loc[holdout.index[:5], "empty"] = 1e6
    compiled = compile_model(model, holdout).compiled
    assert "empty" in compiled.columns
    result = parity(model, compiled, holdout)
    assert result.within(ATOL), result
