"""The calibration gate: are the candidate's probabilities as trustworthy as the champion's?

Labels can stay the same while probabilities grow overconfident; no accuracy, F1, AUC or recall
gate sees that. This gate decides on two things (mlgate.evaluation.calibration, Holm-adjusted at
`champion_significance_level`): paired per-row log loss, not worse than the champion's by more
than `calibration_tolerance_nats` (a first champion: better than predicting the training class
shares), and overconfidence, its top-label errors not shown above what its probabilities promise.
The expected calibration error and the reliability data go into the report; the reliability
diagram (reliability_diagram.png) is drawn into the bundle at promotion, beside the other plots.
"""

from __future__ import annotations

import numpy as np
import pytest

from mlgate import tracking
from mlgate.evaluation.calibration import (
    calibration_decision,
    prior_rows,
    reliability,
    write_reliability_diagram,
)
from mlgate.plugin.evidence import champion_holdout, decision_row, outcomes
from mlgate.training import as_model_input

pytestmark = pytest.mark.model_gate
# The task these gates exist for; the other task drops them at collection (mlgate.plugin.task_gates).
GATE_TASK = "classification"

GATE = "calibration"
DIAGRAM = "reliability_diagram.png"


def _curves(model, holdout_predictions, champion, split) -> dict:
    p = holdout_predictions
    curves = {"candidate": reliability(p.truth, p.proba, p.classes)}
    if champion is not None:
        try:
            proba = champion.model.predict_proba(as_model_input(split.holdout.features))
            curves[f"champion {champion.version}"] = reliability(p.truth, proba, champion.model.classes_)
        except (ValueError, KeyError):  # other columns: the champion gate says so
            pass
    return curves


def _draw_with_the_other_plots(candidate, curves) -> None:
    """Reliability diagram at promotion, with the holdout plots: a red session never loads matplotlib."""
    earlier = candidate.draw_plots

    def draw(folder, version):
        return [*earlier(folder, version), write_reliability_diagram(folder / DIAGRAM, curves)]

    candidate.draw_plots = draw


def test_probabilities_calibrated_no_worse_than_champion(
    trained_model, champion, split, holdout_metrics, holdout_predictions, settings, findings, candidate,
    record_gate,
):
    holdout, chosen = (split.holdout, None) if champion is None else champion_holdout(
        split, champion.tags.get(tracking.TAG_SPLIT))
    try:
        candidate_rows = outcomes(trained_model, holdout)
        champion_rows = outcomes(champion.model, holdout) if champion is not None else None
    except (ValueError, KeyError):
        pytest.fail(f"champion {champion.shown} cannot score this holdout; see the champion gate", pytrace=False)
    classes = trained_model.classes_
    proba = (np.asarray(trained_model.predict_proba(as_model_input(holdout.features)), dtype=float)
             if len(holdout.frame) else np.empty((0, len(classes))))
    baseline = prior_rows(split.train.labels.to_numpy(), holdout.labels.to_numpy(), classes)
    verdict = calibration_decision(
        holdout.labels.to_numpy(), proba, classes, candidate_rows, champion_rows, baseline, settings.calibration_tolerance_nats,
        settings.champion_significance_level,
    )
    curves = _curves(trained_model, holdout_predictions, champion, split)
    findings.evidence += [decision_row(GATE, d) for d in verdict.decisions]
    findings.calibration = {
        "ece": {name: curve.ece for name, curve in curves.items()},
        "bins": {name: {"confidence": c.confidence.tolist(), "accuracy": c.accuracy.tolist(),
                        "rows": c.rows.tolist()} for name, c in curves.items()},
        "diagram": DIAGRAM,
        "holdout_note": chosen.note if chosen is not None else "the whole holdout (first champion)",
    }
    _draw_with_the_other_plots(candidate, curves)
    record_gate(round(curves["candidate"].ece, 6))
    assert not verdict.refused, (
        "the candidate's probabilities are worse calibrated than "
        + (f"champion {champion.shown}" if champion is not None else "a first champion may be")
        + ": " + "; ".join(d.explain() for d in verdict.decisions if d.refused)
    )
