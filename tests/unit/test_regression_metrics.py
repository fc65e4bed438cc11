"""A regressor's holdout metrics and paired comparisons, on tables whose answers are known."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from sklearn.dummy import DummyRegressor
from sklearn.linear_model import LinearRegression

from mlgate.data import Dataset
from mlgate.evaluation.metrics import compute_metrics, write_plots, write_texts
from mlgate.evaluation.regression import beats_baseline, regression_metrics, squared_errors, worse_than_champion

RNG = np.random.default_rng(1)


@pytest.fixture
def line() -> tuple[Dataset, Dataset]:
    """y = 2x + noise: a linear model explains most of it, the mean none."""
    x = RNG.normal(size=400)
    frame = pd.DataFrame({"x": x, "y": 2 * x + RNG.normal(scale=0.5, size=400)})
    return Dataset(frame.iloc[:300].reset_index(drop=True), "y"), Dataset(frame.iloc[300:].reset_index(drop=True), "y")


def test_metrics_match_scikit_learn_and_bound_r2(line):
    train, holdout = line
    model = LinearRegression().fit(train.features, train.labels)
    m = compute_metrics(model, holdout)
    assert m.rmse == pytest.approx(0.5, rel=0.2)
    assert 0.9 < m.r2 < 1.0
    assert m.r2_low < m.r2 < m.r2_high
    assert set(m.scalars()) == {"rmse", "mae", "r2", "max_error"}


def test_mean_predictor_has_r2_near_zero(line):
    train, holdout = line
    m = compute_metrics(DummyRegressor().fit(train.features, train.labels), holdout)
    assert abs(m.r2) < 0.05
    assert m.r2_low < 0 < m.r2_high or abs(m.r2) < 0.05


def test_beats_baseline_for_a_real_model_not_for_the_mean(line):
    train, holdout = line
    baseline = (holdout.labels.to_numpy() - train.labels.mean()) ** 2
    good = beats_baseline(squared_errors(LinearRegression().fit(train.features, train.labels), holdout), baseline)
    assert good.p_value < 1e-6
    mean = beats_baseline(squared_errors(DummyRegressor().fit(train.features, train.labels), holdout), baseline)
    assert mean.p_value > 0.05  # the mean does not beat itself: red


def test_champion_comparison_refuses_the_mean_after_a_line(line):
    train, holdout = line
    champion = squared_errors(LinearRegression().fit(train.features, train.labels), holdout)
    worse = worse_than_champion(squared_errors(DummyRegressor().fit(train.features, train.labels), holdout), champion, 0.01)
    assert worse.p_value < 1e-6
    assert worse.candidate_rmse > 3 * worse.other_rmse


def test_champion_comparison_passes_an_equal_model(line):
    train, holdout = line
    errors = squared_errors(LinearRegression().fit(train.features, train.labels), holdout)
    same = worse_than_champion(errors, errors.copy(), 0.01)
    assert same.p_value == 1.0
    slightly_noisier = worse_than_champion(errors * 1.005, errors, 0.01)  # 0.5 % worse, inside the 1 % margin
    assert slightly_noisier.p_value > 0.05


def test_champion_margin_is_relative_to_the_champion_mse(line):
    train, holdout = line
    errors = squared_errors(LinearRegression().fit(train.features, train.labels), holdout)
    result = worse_than_champion(errors * 1.5, errors, 0.1)
    assert result.margin == pytest.approx(0.1 * errors.mean())
    assert result.p_value < 0.05  # 50 % worse on every row is beyond a 10 % margin


def test_undefined_interval_on_tiny_holdout_is_nan():
    m = regression_metrics([1.0, 2.0], [1.5, 2.5])
    assert math.isnan(m.r2_low) and math.isnan(m.r2_high)


def test_regression_reports_and_plots_are_written(line, tmp_path):
    train, holdout = line
    model = LinearRegression().fit(train.features, train.labels)
    m = compute_metrics(model, holdout)
    written = write_texts(m, tmp_path) + write_plots(model, holdout, m, tmp_path, "t")
    assert {p.name for p in written} == {"regression_report.txt", "metrics.json", "predicted_vs_actual.png", "residuals.png"}
    assert "RMSE" in (tmp_path / "regression_report.txt").read_text()
