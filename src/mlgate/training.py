"""Resolve the user's pipeline function and estimator, and fit what it builds. No MLflow in here.

The model itself is built by the function the `pipeline` setting names
(model/pipeline.py by default): user code, imported by name, checked here.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd
from sklearn.base import is_classifier, is_regressor
from sklearn.pipeline import Pipeline

from mlgate.data import Dataset
from mlgate.labels import EncodedLabels, needs_encoded_labels
from mlgate.settings import Settings, SettingsError
from mlgate.task import CLASSIFICATION, REGRESSION, estimator_name, task_of

# What each task calls its models, and one class that would do.
KIND = {CLASSIFICATION: ("classifier", is_classifier), REGRESSION: ("regressor", is_regressor)}
EXAMPLE = {CLASSIFICATION: "sklearn.ensemble.RandomForestClassifier", REGRESSION: "sklearn.ensemble.RandomForestRegressor"}


def task_mismatch(built, task: str) -> str:
    """Why `built` cannot serve `task` (a classifier for regression, or the reverse); empty when it can."""
    kind, fits = KIND[task]
    try:
        if hasattr(built, "fit") and fits(built):
            return ""
        other = next((k for t, (k, test) in KIND.items() if t != task and hasattr(built, "fit") and test(built)), "")
    except Exception:  # noqa: BLE001 - scikit-learn's tag lookup fails on objects that are no estimator
        other = ""
    what = f"a {other}" if other else f"not a scikit-learn-API {kind}"
    flip = {CLASSIFICATION: REGRESSION, REGRESSION: CLASSIFICATION}[task]
    fix = f"name a {kind} such as '{EXAMPLE[task]}'" + (f", or set task = \"{flip}\"" if other else "")
    return f"{what}, but the task is {task}; {fix}"


def resolve_estimator(dotted: str, params: Mapping[str, Any], task: str = CLASSIFICATION) -> type:
    """The estimator class named in the settings (any scikit-learn-API model for `task`), checked before training."""
    module_name, _, class_name = dotted.rpartition(".")
    example = f"'{EXAMPLE[task]}' or 'lightgbm.LGBM{KIND[task][0].capitalize()}'"
    try:
        estimator = getattr(importlib.import_module(module_name), class_name) if module_name else None
    except ImportError as error:
        raise SettingsError(
            f"setting 'estimator' is {dotted!r}, whose module cannot be imported ({error}); use a class "
            f"such as {example}, and install its package (lightgbm, xgboost: `pip install -e '.[boosting]'`)"
        ) from None
    except AttributeError:
        estimator = None
    if estimator is None:
        raise SettingsError(
            f"setting 'estimator' is {dotted!r}, which does not exist; use a class such as {example}"
        )
    mismatch = task_mismatch(estimator() if inspect.isclass(estimator) else None, task)
    if mismatch:
        raise SettingsError(f"setting 'estimator' is {dotted!r}, {mismatch}")
    accepted = estimator().get_params()
    unknown = sorted(set(params) - set(accepted))
    # LightGBM and XGBoost pass **kwargs on to their booster: the booster judges those.
    takes_any = any(p.kind is p.VAR_KEYWORD for p in inspect.signature(estimator.__init__).parameters.values())
    if unknown and not takes_any:
        raise SettingsError(
            f"setting 'estimator_params' has {unknown}, which {class_name} does not take; "
            f"it takes: {', '.join(sorted(accepted))}"
        )
    return estimator


def estimator_from_settings(settings: Settings):
    """An unfitted `estimator` with `estimator_params`, seeded by `random_seed` when it takes a seed.

    A regression task whose `estimator` is left at the classifier default gets mlgate.task.DEFAULT_REGRESSOR.
    """
    task = task_of(settings).task
    estimator_class = resolve_estimator(estimator_name(settings, task), settings.estimator_params, task)
    params = dict(settings.estimator_params)
    if "random_state" in estimator_class().get_params():
        params.setdefault("random_state", settings.random_seed)
    return estimator_class(**params)


def resolve_pipeline(dotted: str) -> Callable[[pd.DataFrame, Settings], Any]:
    """The function the `pipeline` setting names, imported; a SettingsError when it cannot be."""
    module_name, _, function_name = dotted.partition(":")
    try:
        module = importlib.import_module(module_name)
    except Exception as error:  # noqa: BLE001 - a user's module may fail in any way; the message names it
        raise SettingsError(
            f"setting 'pipeline' is {dotted!r}, whose module {module_name!r} cannot be imported "
            f"({type(error).__name__}: {error}); fix the module or name an importable one"
        ) from None
    function = getattr(module, function_name, None)
    if not callable(function):
        raise SettingsError(
            f"setting 'pipeline' is {dotted!r}, but {module_name} has no function {function_name!r}; "
            "name a function (features, settings) -> unfitted classifier"
        )
    return function


def build_model(features: pd.DataFrame, settings: Settings):
    """What the `pipeline` function returns for these features, checked to be an unfitted model for the task."""
    built = resolve_pipeline(settings.pipeline)(features, settings)
    task = task_of(settings).task
    mismatch = task_mismatch(built, task)
    if mismatch:
        raise SettingsError(
            f"setting 'pipeline' is {settings.pipeline!r}, which returned {type(built).__name__}: {mismatch} "
            f"(return an unfitted {KIND[task][0]} or a Pipeline ending in one)"
        )
    return built


def check_pipeline(sample: pd.DataFrame, settings: Settings) -> None:
    """At start-up: the pipeline function, called on a few rows of the features, gives a classifier."""
    try:
        build_model(as_model_input(sample), settings)
    except SettingsError:
        raise
    except Exception as error:  # noqa: BLE001 - a user's function may fail in any way; the message names it
        raise SettingsError(
            f"setting 'pipeline' is {settings.pipeline!r}, which raised {type(error).__name__}: {error}; "
            "fix the function"
        ) from None


def with_encoded_labels(model):
    """The model, its final classifier wrapped in EncodedLabels when it takes labels 0..n-1 only."""
    final = model.steps[-1][1] if isinstance(model, Pipeline) else model
    if not (is_classifier(final) and needs_encoded_labels(final)):
        return model
    if isinstance(model, Pipeline):
        return Pipeline([*model.steps[:-1], (model.steps[-1][0], EncodedLabels(final))], memory=model.memory)
    return EncodedLabels(model)


def feature_kinds(features: pd.DataFrame) -> tuple[list[str], list[str]]:
    """Numeric and categorical column names; booleans are categories, not numbers."""
    numeric = [
        c
        for c in features.columns
        if pd.api.types.is_numeric_dtype(features[c]) and not pd.api.types.is_bool_dtype(features[c])
    ]
    categorical = [c for c in features.columns if c not in numeric]
    return numeric, categorical


def as_model_input(features: pd.DataFrame) -> pd.DataFrame:
    """Categorical columns as plain objects: pandas' string dtype trips the imputer."""
    categorical = feature_kinds(features)[1]
    if not categorical:
        return features
    return features.astype({c: object for c in categorical})


def as_served_input(features: pd.DataFrame) -> pd.DataFrame:
    """Rows as the model is logged, compiled and served taking them.

    The signature is inferred from these rows, and MLflow's schema refuses
    int64 input for a column declared double ("Can not safely convert int64 to
    float64"): pyfunc, `mlflow models predict` and `spark_udf` on the training
    CSV's own frame would fail. So an integer column stays an integer (`long`);
    a column with gaps is float64 already and is declared double, MLflow's own
    advice. mlgate's server still takes a null in a `long` column (payload.py).
    """
    return as_model_input(features)


def train_model(train: Dataset, settings: Settings):
    """Fit on the training split; predictions come back as the original labels."""
    features = as_model_input(train.features)
    return with_encoded_labels(build_model(features, settings)).fit(features, train.labels)
