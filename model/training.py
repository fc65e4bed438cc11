"""Build and fit the scikit-learn pipeline. No MLflow in here."""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Mapping
from typing import Any

import pandas as pd
from sklearn.base import is_classifier
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from model.data import Dataset
from model.settings import Settings, SettingsError


def resolve_estimator(dotted: str, params: Mapping[str, Any]) -> type:
    """The estimator class named in the settings, checked before any training."""
    module_name, _, class_name = dotted.rpartition(".")
    if not module_name.startswith("sklearn"):
        raise SettingsError(
            f"setting 'estimator' is {dotted!r}; it must be a scikit-learn classifier "
            "such as 'sklearn.ensemble.RandomForestClassifier'"
        )
    try:
        estimator = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError):
        raise SettingsError(
            f"setting 'estimator' is {dotted!r}, which does not exist; use a class such as "
            "'sklearn.ensemble.RandomForestClassifier'"
        ) from None
    if not (inspect.isclass(estimator) and is_classifier(estimator())):
        raise SettingsError(f"setting 'estimator' is {dotted!r}, which is not a classifier")
    accepted = estimator().get_params()
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        raise SettingsError(
            f"setting 'estimator_params' has {unknown}, which {class_name} does not take; "
            f"it takes: {', '.join(sorted(accepted))}"
        )
    return estimator


def feature_kinds(features: pd.DataFrame) -> tuple[list[str], list[str]]:
    """Numeric and categorical column names; booleans are categories, not numbers."""
    numeric = [
        c
        for c in features.columns
        if pd.api.types.is_numeric_dtype(features[c]) and not pd.api.types.is_bool_dtype(features[c])
    ]
    categorical = [c for c in features.columns if c not in numeric]
    return numeric, categorical


def build_pipeline(features: pd.DataFrame, settings: Settings) -> Pipeline:
    estimator_class = resolve_estimator(settings.estimator, settings.estimator_params)
    params = dict(settings.estimator_params)
    if "random_state" in estimator_class().get_params():
        params.setdefault("random_state", settings.random_seed)
    numeric, categorical = feature_kinds(features)
    preprocess = ColumnTransformer(
        [
            (
                "numeric",
                Pipeline([("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())]),
                numeric,
            ),
            (
                "categorical",
                Pipeline(
                    [
                        ("impute", SimpleImputer(strategy="most_frequent")),
                        # Unseen categories at serving time encode as all-zeros, not an error.
                        ("encode", OneHotEncoder(handle_unknown="ignore")),
                    ]
                ),
                categorical,
            ),
        ]
    )
    return Pipeline([("preprocess", preprocess), ("estimator", estimator_class(**params))])


def as_model_input(features: pd.DataFrame) -> pd.DataFrame:
    """Categorical columns as plain objects: pandas' string dtype trips the imputer."""
    categorical = feature_kinds(features)[1]
    if not categorical:
        return features
    return features.astype({c: object for c in categorical})


def train_model(train: Dataset, settings: Settings) -> Pipeline:
    """Fit on the training split; predictions come back as the original labels."""
    features = as_model_input(train.features)
    pipeline = build_pipeline(features, settings)
    return pipeline.fit(features, train.labels)
