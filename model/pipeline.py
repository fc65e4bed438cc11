"""The model: the one file a user is meant to edit.

`build_pipeline` is what the `pipeline` setting names by default
(`model.pipeline:build_pipeline`). Change it here, or point `pipeline` at a
function of your own module (`my_project.features:build`) with the same
signature: it receives the training features (a DataFrame, categorical
columns as objects) and the session's settings, and returns an *unfitted*
scikit-learn-API classifier or regressor, or a `Pipeline` ending in one. The harness fits it on the
training split, gates it, logs it and serves it; nothing else needs to change.

Kept compilable: a `Pipeline(preprocess=ColumnTransformer(...), estimator=...)`
of imputers, a scaler and a one-hot encoder compiles to ONNX (model/compiler);
any other shape is gated and served by scikit-learn, and the report says why.
"""

from __future__ import annotations

import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from mlgate.settings import Settings
from mlgate.training import estimator_from_settings, feature_kinds


def build_pipeline(features: pd.DataFrame, settings: Settings) -> Pipeline:
    """Impute, scale numbers, one-hot encode categories, then the `estimator` setting's classifier or regressor."""
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
    return Pipeline([("preprocess", preprocess), ("estimator", estimator_from_settings(settings))])
