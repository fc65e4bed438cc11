"""The champion gate: the candidate must not be worse than the model it would replace."""

from __future__ import annotations

import pytest

from mlgate import tracking
from mlgate.evaluation.metrics import compare_with_champion, compute_metrics

pytestmark = pytest.mark.model_gate
# The task these gates exist for; the other task drops them at collection (mlgate.plugin.task_gates).
GATE_TASK = "classification"


def test_candidate_not_worse_than_champion(trained_model, champion, split, settings, findings, record_gate):
    if champion is None:
        findings.comparison = {"champion_version": "none (this is the first champion)"}
        record_gate("first champion")
        return
    try:
        result = compare_with_champion(trained_model, champion.model, split.holdout)
    except (ValueError, KeyError) as error:
        pytest.fail(
            f"champion {champion.shown} of {settings.model_name} cannot score this "
            f"holdout ({error}); it was trained on other columns. Gate a model for this data "
            "under its own name: --model-name NAME",
            pytrace=False,
        )
    findings.scores["champion"] = compute_metrics(champion.model, split.holdout).scalars()
    findings.comparison = {
        "champion_version": champion.version,
        "candidate_accuracy": result.candidate_accuracy,
        "champion_accuracy": result.champion_accuracy,
        "accuracy_delta": result.accuracy_delta,
        "p_value": result.p_value,
    }
    if champion.imported_from:  # the job summary names the production bundle it was compared with
        findings.comparison.update(
            champion_imported_from=champion.imported_from,
            champion_source_run_id=champion.tags.get(tracking.TAG_SOURCE_RUN_ID, ""),
            champion_source_version=champion.tags.get(tracking.TAG_SOURCE_VERSION, ""),
        )
    record_gate(round(result.accuracy_delta, 6), -settings.champion_tolerance)
    assert result.accuracy_delta >= -settings.champion_tolerance, (
        f"candidate accuracy {result.candidate_accuracy:.4f} is {-result.accuracy_delta:.4f} below "
        f"champion {champion.shown} ({result.champion_accuracy:.4f}); the tolerance is "
        f"{settings.champion_tolerance}"
    )
    assert result.p_value >= settings.champion_significance_level, (
        f"candidate is significantly worse than champion {champion.shown} (McNemar exact "
        f"p={result.p_value:.4g} < {settings.champion_significance_level}: it alone errs on "
        f"{result.candidate_only_errors} rows, the champion alone on {result.champion_only_errors})"
    )
