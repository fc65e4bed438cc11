"""A regressor's prediction drift: its holdout predictions' quantile bins, PSI of the window against them."""

from __future__ import annotations

import math
import types

import numpy as np
import pandas as pd
import pytest
from prometheus_client import CollectorRegistry

from mlgate.monitoring.drift import Profile, build_profile
from mlgate.monitoring.drift_window import DriftCollector, DriftWindow

RNG = np.random.default_rng(5)


class Clock:
    now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def regressor_profile() -> Profile:
    """Training rows of one feature and 2,000 holdout predictions around 150 (diabetes-like progression)."""
    features = pd.DataFrame({"x": RNG.normal(size=2000)})
    return build_profile(features, RNG.normal(150, 40, size=2000), values=True)


def _psi(registry) -> float:
    return next(s.value for f in registry.collect() for s in f.samples if s.name == "mlgate_prediction_drift_psi")


def _window(profile):
    registry = CollectorRegistry()
    window = DriftWindow(profile, ["x"], 600, 200, clock=Clock())
    registry.register(DriftCollector(window))
    return window, registry


def _fold(window, predictions):
    x = RNG.normal(size=len(predictions))
    columns = types.SimpleNamespace(arrays=(x,), block=x.reshape(-1, 1))
    window.fold(columns.arrays, columns.block, np.asarray(predictions))


def test_profile_bins_a_regressors_predictions_by_quantile_and_survives_json(regressor_profile):
    assert len(regressor_profile.prediction_edges) == 9
    assert regressor_profile.label_shares[:10] == pytest.approx([0.1] * 10, abs=0.01)
    again = Profile.from_json(regressor_profile.to_json())
    assert again.prediction_edges == regressor_profile.prediction_edges
    assert again.labels == regressor_profile.labels


def test_prediction_drift_is_small_for_the_same_distribution_and_large_for_a_shift(regressor_profile):
    window, registry = _window(regressor_profile)
    _fold(window, RNG.normal(150, 40, size=100))
    assert math.isnan(_psi(registry))  # under drift_min_window_rows
    _fold(window, RNG.normal(150, 40, size=900))
    assert _psi(registry) < 0.05
    shifted, shifted_registry = _window(regressor_profile)
    _fold(shifted, RNG.normal(200, 40, size=1000))  # inputs moved: predictions 1.25 sd higher
    assert _psi(shifted_registry) > 0.25  # over max_serving_drift_psi: MlgatePredictionDrift would fire


def test_classifier_profile_has_no_prediction_bins():
    profile = build_profile(pd.DataFrame({"x": [1.0, 2.0]}), np.array([0, 1]))
    assert profile.prediction_bins is None and profile.prediction_edges == ()
