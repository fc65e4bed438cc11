"""The champion gate: a non-inferiority decision on paired per-row outcomes.

Both models score the same holdout rows, less any row the champion trained on (its recorded split
definition, tracking.TAG_SPLIT). The gate refuses only when the data show the candidate worse than
the champion beyond a margin: accuracy by `champion_tolerance` (one-sided paired t-test confirmed
by exact McNemar), Brier and log loss by `champion_score_tolerance` per row (one-sided paired
t-tests), Holm-adjusted at `champion_significance_level` (mlgate.evaluation.champion). Why proper
scores too: on breast cancer's ~105-row holdout a depth-1 stump loses 6 rows and wins 1, which no
exact test calls worse at 5 %, while its probabilities clearly are.
"""

from __future__ import annotations

import pytest

from mlgate import tracking
from mlgate.evaluation.champion import compare_to_champion
from mlgate.evaluation.metrics import compute_metrics
from mlgate.plugin.evidence import champion_holdout, decision_row, outcomes

pytestmark = pytest.mark.model_gate
# The task these gates exist for; the other task drops them at collection (mlgate.plugin.task_gates).
GATE_TASK = "classification"

GATE = "champion"


def _scored(model, champion, holdout, settings):
    try:
        return outcomes(model, holdout), outcomes(champion.model, holdout)
    except (ValueError, KeyError) as error:
        pytest.fail(
            f"champion {champion.shown} of {settings.model_name} cannot score this "
            f"holdout ({error}); it was trained on other columns. Gate a model for this data "
            "under its own name: --model-name NAME",
            pytrace=False,
        )


def test_candidate_not_worse_than_champion(trained_model, champion, split, settings, findings, record_gate):
    if champion is None:
        findings.comparison = {"champion_version": "none (this is the first champion)"}
        record_gate("first champion")
        return
    holdout, chosen = champion_holdout(split, champion.tags.get(tracking.TAG_SPLIT))
    candidate_rows, champion_rows = _scored(trained_model, champion, holdout, settings)
    findings.scores["champion"] = compute_metrics(champion.model, split.holdout).scalars()
    verdict = compare_to_champion(
        candidate_rows, champion_rows, settings.champion_tolerance, settings.champion_score_tolerance,
        settings.champion_significance_level,
    )
    accuracy = verdict.decisions[0]
    findings.evidence += [decision_row(GATE, d) for d in verdict.decisions]
    findings.comparison = {
        "champion_version": champion.version,
        "candidate_accuracy": float(candidate_rows.correctness.mean()) if len(holdout.frame) else None,
        "champion_accuracy": float(champion_rows.correctness.mean()) if len(holdout.frame) else None,
        "accuracy_delta": accuracy.difference,
        "p_value": accuracy.p_value,
        "compared_rows": len(holdout.frame),
        "excluded_rows": chosen.excluded,
        "holdout_note": chosen.note,
        "decisions": [decision_row(GATE, d) for d in verdict.decisions],
    }
    if champion.imported_from:  # the job summary names the production bundle it was compared with
        findings.comparison.update(
            champion_imported_from=champion.imported_from,
            champion_source_run_id=champion.tags.get(tracking.TAG_SOURCE_RUN_ID, ""),
            champion_source_version=champion.tags.get(tracking.TAG_SOURCE_VERSION, ""),
        )
    record_gate(round(accuracy.difference, 6), -settings.champion_tolerance)
    refused = "; ".join(d.explain() for d in verdict.decisions if d.refused)
    assert not verdict.refused, (
        f"the candidate is worse than champion {champion.shown} beyond its margin on "
        f"{len(holdout.frame)} paired holdout rows ({chosen.note}): {refused}"
    )
