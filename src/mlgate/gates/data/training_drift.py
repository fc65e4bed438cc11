"""The training-drift gate: the candidate's training data against the champion's reference profile.

A model retrained on data that moved away from what the champion learned from
may score well on its own holdout and still answer a different population.
Each feature's PSI against the champion's profile (monitoring/drift.py) goes
on the run and into the gate report; any one over max_training_drift_psi is
red, named with the bins that moved most. A first champion (or one registered
before profiles existed) has no reference: the gate says so and passes.
"""

from __future__ import annotations

import re

import pytest

from mlgate.sampling import gate_sample
from mlgate.training import as_model_input

pytestmark = pytest.mark.data_gate


def _metric_name(feature: str) -> str:
    # MLflow metric names allow letters, digits, _ - . / and spaces.
    return "drift.psi." + re.sub(r"[^\w\-./ ]", "_", feature)


def test_training_drift_within_budget(split, champion, settings, findings, candidate, gate_run, record_gate):
    from mlgate import tracking
    from mlgate.monitoring.drift_compare import drift_table, training_drift

    budget = settings.max_training_drift_psi
    reference = champion.drift_profile if champion is not None else None
    if reference is None:
        findings.drift = {"champion_version": None, "threshold": budget, "features": []}
        record_gate("no reference", budget)
        return
    # PSI over ten bins reads the same on a seeded sample of a large table (noise ~bins/rows) as on every row.
    rows = gate_sample(split.train.features, "training drift (training rows)", settings.gate_sample_rows,
                       settings.random_seed, findings.samples)
    drifts = training_drift(reference, as_model_input(rows))
    findings.drift = {"champion_version": champion.version, "threshold": budget, "features": drift_table(drifts)}
    tracking.log_values(candidate.client, gate_run, metrics={_metric_name(d.feature): d.psi for d in drifts})
    worst = drifts[0] if drifts else None
    record_gate(round(worst.psi, 6) if worst else 0.0, budget)
    over = [d for d in drifts if d.psi > budget]
    if over:
        shown = "; ".join(d.describe() for d in over[:5])
        more = f" and {len(over) - 5} more" if len(over) > 5 else ""
        pytest.fail(
            f"{len(over)} feature(s) drifted from champion version {champion.version}'s training data over "
            f"max_training_drift_psi ({budget:g}): {shown}{more}. If the new data is right, raise the budget for "
            "this session (--mlgate-config) and review the champion comparison; otherwise fix the data",
            pytrace=False,
        )
