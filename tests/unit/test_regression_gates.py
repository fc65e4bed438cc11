"""The regression gates called as pytest calls them, on models whose verdict is known: red and green."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from sklearn.dummy import DummyRegressor
from sklearn.linear_model import LinearRegression

from mlgate.data import Dataset, Split
from mlgate.evaluation.metrics import compute_metrics
from mlgate.gates.model import regression as gates
from mlgate.plugin.candidate import Findings
from mlgate.session import scoreboard
from mlgate.settings import Settings

RNG = np.random.default_rng(2)


@pytest.fixture(scope="module")
def split() -> Split:
    """y = 2x + noise, 300 training and 100 holdout rows."""
    x = RNG.normal(size=400)
    frame = pd.DataFrame({"x": x, "y": 2 * x + RNG.normal(scale=0.5, size=400)})
    return Split(Dataset(frame.iloc[:300].reset_index(drop=True), "y"), Dataset(frame.iloc[300:].reset_index(drop=True), "y"))


def fitted(model, split):
    return model.fit(split.train.features, split.train.labels)


def record(*_):
    """record_gate's stand-in: the row is not what these tests check."""


def champion_of(model):
    return SimpleNamespace(model=model, version="1", shown="version 1", imported_from="", tags={})


def test_a_line_beats_the_mean_baseline(split):
    gates.test_regressor_beats_mean_baseline(fitted(LinearRegression(), split), split, Settings(), record)


def test_the_mean_does_not_beat_the_mean_baseline(split):
    with pytest.raises(AssertionError, match="does not beat predicting the training mean"):
        gates.test_regressor_beats_mean_baseline(fitted(DummyRegressor(), split), split, Settings(), record)


def test_r2_minimum_red_and_green(split):
    good = compute_metrics(fitted(LinearRegression(), split), split.holdout)
    gates.test_r2_meets_minimum(good, Settings(), record)
    with pytest.raises(AssertionError, match=r"R² .* below min_r2 0.1"):
        gates.test_r2_meets_minimum(compute_metrics(fitted(DummyRegressor(), split), split.holdout), Settings(), record)


def test_unit_limits_red_and_green(split):
    metrics = compute_metrics(fitted(LinearRegression(), split), split.holdout)
    gates.test_rmse_within_limit(metrics, Settings(max_rmse=1.0), record)
    gates.test_mae_within_limit(metrics, Settings(max_mae=1.0), record)
    with pytest.raises(AssertionError, match="above max_rmse 0.1"):
        gates.test_rmse_within_limit(metrics, Settings(max_rmse=0.1), record)
    with pytest.raises(AssertionError, match="above max_mae 0.1"):
        gates.test_mae_within_limit(metrics, Settings(max_mae=0.1), record)


def test_champion_gate_refuses_the_mean_after_a_line_and_names_both_rmse(split):
    findings = Findings()
    with pytest.raises(AssertionError, match=r"candidate RMSE .* is worse than champion version 1's"):
        gates.test_regressor_not_worse_than_champion(
            fitted(DummyRegressor(), split), champion_of(fitted(LinearRegression(), split)), split, Settings(), findings, record
        )
    assert findings.comparison["candidate_rmse"] > 3 * findings.comparison["champion_rmse"]
    assert set(findings.scores["champion"]) >= {"rmse", "mae", "r2"}


def test_champion_gate_passes_an_equal_candidate(split):
    model = fitted(LinearRegression(), split)
    gates.test_regressor_not_worse_than_champion(model, champion_of(model), split, Settings(), Findings(), record)


def test_scoreboard_calls_a_smaller_rmse_better():
    rows = scoreboard.rows({"rmse": 50.0, "r2": 0.5}, {"rmse": 55.0, "r2": 0.4}, {})
    verdicts = {r.metric: r.verdict for r in rows}
    assert verdicts == {"rmse": "better", "r2": "better"}
    worse = scoreboard.rows({"rmse": 60.0}, {"rmse": 55.0}, {})
    assert worse[0].verdict == "worse"
