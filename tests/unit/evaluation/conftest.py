"""Holdouts shared by the slice tests: two models fitted once per module, not once per test."""

from __future__ import annotations

import pytest

from tests.support.loans import Holdout, equally_good, phone_regression


@pytest.fixture(scope="module")
def phone_holdout() -> Holdout:
    """The #22 case: a candidate that loses income and debt for phone applications only."""
    return phone_regression(rows=30_000, seed=0)


@pytest.fixture(scope="module")
def equal_holdout() -> Holdout:
    """Two models of one recipe (other seed, other 90 % of training rows): nothing to find."""
    return equally_good(rows=30_000, seed=3)
