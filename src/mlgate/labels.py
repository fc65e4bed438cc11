"""Labels as 0..n-1 for a classifier that takes nothing else, and back.

XGBoost's scikit-learn API refuses any labels but 0..n-1 (our CSVs have
string labels). `EncodedLabels` fits its classifier on the codes and answers
with the original labels, so everything downstream (gates, registry, server,
compiled model) sees the labels the data has. It is the one mlgate type a
logged model may ask skops to trust (mlgate.tracking).
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.preprocessing import LabelEncoder

# Estimator packages whose classifiers take labels 0..n-1 only.
NEEDS_ENCODED_LABELS = ("xgboost",)


def needs_encoded_labels(classifier) -> bool:
    return type(classifier).__module__.split(".")[0] in NEEDS_ENCODED_LABELS


class EncodedLabels(ClassifierMixin, BaseEstimator):
    """`classifier` fitted on labels 0..n-1; `classes_` and predictions are the original labels."""

    def __init__(self, classifier=None):
        self.classifier = classifier

    def fit(self, X, y, **fit_params):
        encoder = LabelEncoder().fit(y)
        self.classes_ = encoder.classes_
        self.classifier_ = clone(self.classifier).fit(X, encoder.transform(y), **fit_params)
        return self

    def predict_proba(self, X):
        return self.classifier_.predict_proba(X)

    def predict(self, X):
        return self.classes_.take(np.asarray(self.classifier_.predict(X), dtype=np.int64))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags
