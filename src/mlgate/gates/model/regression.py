"""Model gates for a regression task: unit-free by default, the target's unit only where set.

Each states its test and level (mlgate.evaluation.regression names them):
- the candidate beats the training mean on paired per-row squared errors
  (one-sided paired t-test, level `champion_significance_level`);
- holdout R² at least `min_r2` (the 95 % bootstrap interval is reported with it);
- RMSE at most `max_rmse`, MAE at most `max_mae`: gates that exist only when set;
- not worse than the champion: refused when the paired t-test shows the
  candidate's MSE above the champion's by more than champion_tolerance x the
  champion's MSE, at `champion_significance_level`.
A classification task drops these gates at collection (mlgate.plugin.task_gates).
"""

from __future__ import annotations

import numpy as np
import pytest

from mlgate import tracking
from mlgate.evaluation.regression import beats_baseline, squared_errors, worse_than_champion

pytestmark = pytest.mark.model_gate
# The task these gates exist for; the other task drops them at collection (mlgate.plugin.task_gates).
GATE_TASK = "regression"


def _detectable(errors: np.ndarray, level: float) -> float:
    """The MSE difference a one-sided paired t-test at `level` detects with 80 % power on these rows."""
    from statsmodels.stats.power import TTestPower

    effect = TTestPower().solve_power(nobs=len(errors), alpha=level, power=0.8, alternative="larger")
    return float(effect * np.std(errors, ddof=1))


def test_regressor_beats_mean_baseline(trained_model, split, settings, record_gate):
    candidate = squared_errors(trained_model, split.holdout)
    mean = float(split.train.labels.astype(float).mean())
    baseline = (split.holdout.labels.to_numpy(dtype=np.float64) - mean) ** 2
    result = beats_baseline(candidate, baseline)
    level = settings.champion_significance_level
    record_gate(result.p_value, level)
    assert result.p_value < level, (
        f"the candidate does not beat predicting the training mean ({mean:.6g}): RMSE {result.candidate_rmse:.6g} "
        f"against the mean's {result.other_rmse:.6g} on {len(candidate)} holdout rows, {result.test} p="
        f"{result.p_value:.4g} >= champion_significance_level {level} (detectable at 80 % power: an MSE "
        f"difference of {_detectable(candidate - baseline, level):.4g})"
    )


def test_r2_meets_minimum(holdout_metrics, settings, record_gate):
    m, minimum = holdout_metrics, settings.min_r2
    record_gate(m.r2, minimum)
    assert m.r2 >= minimum, (
        f"holdout R² {m.r2:.4f} (95 % bootstrap interval {m.r2_low:.4f} .. {m.r2_high:.4f}, {m.rows} rows) is "
        f"below min_r2 {minimum}"
    )


@pytest.mark.mlgate_limit("max_rmse")
def test_rmse_within_limit(holdout_metrics, settings, record_gate):
    record_gate(holdout_metrics.rmse, settings.max_rmse)
    assert holdout_metrics.rmse <= settings.max_rmse, (
        f"holdout RMSE {holdout_metrics.rmse:.6g} is above max_rmse {settings.max_rmse} (the target's unit)"
    )


@pytest.mark.mlgate_limit("max_mae")
def test_mae_within_limit(holdout_metrics, settings, record_gate):
    record_gate(holdout_metrics.mae, settings.max_mae)
    assert holdout_metrics.mae <= settings.max_mae, (
        f"holdout MAE {holdout_metrics.mae:.6g} is above max_mae {settings.max_mae} (the target's unit)"
    )


def test_regressor_not_worse_than_champion(trained_model, champion, split, settings, findings, record_gate):
    from mlgate.evaluation.metrics import compute_metrics

    if champion is None:
        findings.comparison = {"champion_version": "none (this is the first champion)"}
        record_gate("first champion")
        return
    try:
        champion_errors = squared_errors(champion.model, split.holdout)
    except (ValueError, KeyError, AttributeError) as error:
        pytest.fail(
            f"champion {champion.shown} of {settings.model_name} cannot score this holdout ({error}); it was "
            "trained on other columns. Gate a model for this data under its own name: --model-name NAME",
            pytrace=False,
        )
    result = worse_than_champion(squared_errors(trained_model, split.holdout), champion_errors, settings.champion_tolerance)
    findings.scores["champion"] = compute_metrics(champion.model, split.holdout).scalars()
    findings.comparison = {
        "champion_version": champion.version,
        "candidate_rmse": result.candidate_rmse,
        "champion_rmse": result.other_rmse,
        "mse_margin": result.margin,
        "p_value": result.p_value,
        "test": result.test,
    }
    if champion.imported_from:
        findings.comparison.update(
            champion_imported_from=champion.imported_from,
            champion_source_run_id=champion.tags.get(tracking.TAG_SOURCE_RUN_ID, ""),
            champion_source_version=champion.tags.get(tracking.TAG_SOURCE_VERSION, ""),
        )
    level = settings.champion_significance_level
    record_gate(result.p_value, level)
    assert result.p_value >= level, (
        f"candidate RMSE {result.candidate_rmse:.6g} is worse than champion {champion.shown}'s {result.other_rmse:.6g}: "
        f"its MSE {result.candidate_mse:.6g} exceeds the champion's {result.other_mse:.6g} by more than the margin "
        f"{result.margin:.6g} (champion_tolerance {settings.champion_tolerance} x the champion's MSE), "
        f"{result.test} p={result.p_value:.4g} < {level}"
    )
