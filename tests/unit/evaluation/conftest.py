"""Holdouts shared by the evaluation tests: the default dataset's split, and two slice models fitted once per module."""

from __future__ import annotations

import pytest

from tests.support.loans import Holdout, equally_good, phone_regression


@pytest.fixture(scope="module")
def cancer():
    """Breast cancer as one frame with a `target` column: the default dataset's shape."""
    from sklearn.datasets import load_breast_cancer

    return load_breast_cancer(as_frame=True).frame


@pytest.fixture(scope="module")
def cancer_split(cancer):
    """Breast cancer split by the stable 20 % holdout, the default gate session's data: x_train, y_train, x_test, y_test."""
    from mlgate.evaluation.split import stable_split

    train, holdout = stable_split(cancer, "target", 0.2).apply(cancer)
    features = [c for c in cancer.columns if c != "target"]
    return train[features], train["target"], holdout[features], holdout["target"]


@pytest.fixture(scope="module")
def phone_holdout() -> Holdout:
    """The #22 case: a candidate that loses income and debt for phone applications only."""
    return phone_regression(rows=30_000, seed=0)


@pytest.fixture(scope="module")
def equal_holdout() -> Holdout:
    """Two models of one recipe (other seed, other 90 % of training rows): nothing to find."""
    return equally_good(rows=30_000, seed=3)
