"""The model is the user's code: the `pipeline` function, any scikit-learn-API classifier,
LightGBM and XGBoost trained, trusted, compiled; what defines a model recorded.

Real estimators on small tables; user modules are real files imported by name.
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from mlgate import tracking
from mlgate.compiler.translate import compile_model
from mlgate.data import Dataset, split_holdout
from mlgate.provenance import git_state, pipeline_source_sha256
from mlgate.serving.compiled import parity
from mlgate.settings import Settings, SettingsError, load_settings
from mlgate.training import as_model_input, check_pipeline, train_model

pytest.importorskip("lightgbm")
pytest.importorskip("xgboost")

USER_PIPELINE = '''
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder


def with_size_squared(frame):
    return frame.assign(size_squared=frame["size"] ** 2)


def build(features, settings):
    """An added feature column, then a forest: the user's own model."""
    columns = ColumnTransformer([("n", "passthrough", ["size", "size_squared"]),
                                 ("c", OneHotEncoder(handle_unknown="ignore"), ["colour"])])
    return Pipeline([("features", FunctionTransformer(with_size_squared)), ("columns", columns),
                     ("forest", RandomForestClassifier(n_estimators=10, random_state=settings.random_seed))])


def regressor(features, settings):
    from sklearn.linear_model import LinearRegression
    return LinearRegression()


def raises(features, settings):
    raise KeyError("no column 'age'")
'''


@pytest.fixture
def user_module(tmp_path, monkeypatch) -> str:
    """A module of the user's, outside model/, importable as the project root makes it."""
    (tmp_path / "my_models.py").write_text(textwrap.dedent(USER_PIPELINE), encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "my_models"
    sys.modules.pop("my_models", None)


@pytest.fixture(scope="module")
def mixed_split(mixed_frame):
    """The mixed table with string labels, split as a session splits it (no gaps in colour here)."""
    frame = mixed_frame.assign(colour=mixed_frame["colour"].fillna("red"))
    return split_holdout(Dataset(frame, "grade"), 0.2)


@pytest.fixture(scope="module")
def boosted(mixed_split) -> dict:
    """LightGBM and XGBoost, each fitted once on the string labels; one thread, as the box is shared."""
    return {
        estimator: train_model(mixed_split.train, Settings(
            estimator=estimator, estimator_params={"n_estimators": 20, "n_jobs": 1}, random_seed=0))
        for estimator in ("lightgbm.LGBMClassifier", "xgboost.XGBClassifier")
    }


# --- the pipeline setting ----------------------------------------------------------------------


def test_default_pipeline_lives_in_the_file_a_user_edits():
    import model.pipeline

    assert Settings().pipeline == "model.pipeline:build_pipeline"
    assert "the one file a user is meant to edit" in model.pipeline.__doc__


def test_user_pipeline_with_an_added_feature_column_trains_and_predicts(user_module, mixed_split):
    settings = Settings(pipeline=f"{user_module}:build")
    fitted = train_model(mixed_split.train, settings)
    assert fitted.named_steps["forest"].n_features_in_ == 5  # size, size_squared, 3 colours
    accuracy = (fitted.predict(as_model_input(mixed_split.holdout.features)) == mixed_split.holdout.labels).mean()
    assert accuracy > 0.9


@pytest.mark.parametrize(
    "function, named",
    [("absent_module_xyz:build", "cannot be imported"), ("{m}:missing", "has no function 'missing'"),
     ("{m}:regressor", "returned LinearRegression: a regressor, but the task is classification"),
     ("{m}:raises", "raised KeyError")],
    ids=["module not importable", "no such function", "not a classifier", "function raises"],
)
def test_broken_pipeline_is_one_settings_error_naming_it(user_module, mixed_split, function, named):
    settings = Settings(pipeline=function.format(m=user_module))
    with pytest.raises(SettingsError) as error:
        check_pipeline(mixed_split.train.features.head(5), settings)
    assert "setting 'pipeline'" in str(error.value) and named in str(error.value)


@pytest.mark.parametrize("value", ["model.pipeline", "model/pipeline.py:build", "model.pipeline:build-it"])
def test_pipeline_setting_not_shaped_module_colon_function_is_refused(tmp_path, value):
    with pytest.raises(SettingsError, match="'package.module:function'"):
        load_settings(overrides={"pipeline": value}, environ={}, workdir=tmp_path)


# --- LightGBM and XGBoost ---------------------------------------------------------------------


@pytest.mark.parametrize("estimator", ["lightgbm.LGBMClassifier", "xgboost.XGBClassifier"])
def test_boosting_classifier_trains_on_string_labels_and_answers_with_them(estimator, mixed_split, boosted):
    fitted = boosted[estimator]
    predicted = fitted.predict(as_model_input(mixed_split.holdout.features))
    assert set(predicted) <= {"low", "mid", "high"}
    assert list(fitted.classes_) == ["high", "low", "mid"]
    assert (predicted == mixed_split.holdout.labels).mean() > 0.9


@pytest.mark.parametrize("estimator, package", [("lightgbm.LGBMClassifier", "lightgbm."),
                                                ("xgboost.XGBClassifier", "xgboost.")])
def test_boosting_model_trusted_types_grow_by_its_own_package_only(estimator, package, boosted):
    fitted = boosted[estimator]
    trusted = tracking.trusted_types(fitted)
    assert any(t.startswith(package) for t in trusted)
    outside = [t for t in trusted if not t.startswith((*tracking.TRUSTED_TYPE_PREFIXES, package))]
    assert set(outside) <= {"collections.OrderedDict", "mlgate.labels.EncodedLabels"}
    # The other booster's package is not trusted for this model.
    other = "xgboost.core.Evil" if package == "lightgbm." else "lightgbm.basic.Evil"
    assert tracking._refused([other, "builtins.eval", f"{package[:-1]}x.Evil"], [tracking.estimator_package(fitted)]) == [
        other, "builtins.eval", f"{package[:-1]}x.Evil"]


def test_a_forest_holding_a_lightgbm_type_is_refused(mixed_split):
    fitted = train_model(mixed_split.train, Settings(estimator_params={"n_estimators": 5}))
    fitted.named_steps["estimator"].smuggled = __import__("lightgbm").Booster  # a type, not the estimator's
    with pytest.raises(tracking.UntrustedModelError, match="lightgbm"):
        tracking.trusted_types(fitted)


@pytest.mark.parametrize("estimator", ["lightgbm.LGBMClassifier", "xgboost.XGBClassifier"])
def test_boosting_model_compiles_with_the_labels_it_was_trained_on(estimator, mixed_split, boosted):
    fitted = boosted[estimator]
    features = as_model_input(mixed_split.holdout.features)
    result = compile_model(fitted, features.head(5))
    assert result.compiled is not None, result.skipped_because
    checked = parity(fitted, result.compiled, features)
    assert checked.label_mismatches == 0
    # onnxmltools' trees are float32: parity to float32's precision, not 1e-9 (the gate then serves scikit-learn).
    assert 0 < checked.max_abs_proba_diff < 1e-5
    assert list(result.compiled.classes_) == ["high", "low", "mid"]


# --- what defines the model ------------------------------------------------------------------


def test_pipeline_source_hash_changes_with_the_function_source(user_module, tmp_path):
    before = pipeline_source_sha256(f"{user_module}:build")
    assert before == pipeline_source_sha256(f"{user_module}:build")
    source = (tmp_path / "my_models.py").read_text(encoding="utf-8")
    (tmp_path / "my_models.py").write_text(source.replace("n_estimators=10", "n_estimators=11"), encoding="utf-8")
    sys.modules.pop(user_module)
    assert pipeline_source_sha256(f"{user_module}:build") != before


def test_git_state_names_the_commit_and_whether_the_tree_is_dirty(tmp_path):
    def git(*args):
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=tmp_path, check=True,
                       capture_output=True)

    assert git_state(tmp_path) is None
    git("init", "-q")
    (tmp_path / "a.py").write_text("x = 1\n")
    git("add", "a.py")
    git("commit", "-qm", "one")
    clean = git_state(tmp_path)
    assert clean is not None and len(clean.commit) == 40 and not clean.dirty
    (tmp_path / "a.py").write_text("x = 2\n")
    assert git_state(tmp_path) == dataclasses.replace(clean, dirty=True)
