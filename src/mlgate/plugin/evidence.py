"""A model gate's evidence as report rows: estimate, interval, rows, threshold or margin, verdict.

Every model gate decides through mlgate.evaluation (intervals, paired, calibration) and leaves one
row per check in `Findings.evidence`, which the gate report's "Model gates" section shows; the
same rows go into gate_report.json. A gate's one-number `record_gate` value stays its headline.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from mlgate.data import Dataset, Split
from mlgate.evaluation.intervals import ThresholdCheck
from mlgate.evaluation.paired import ClassifierRows, Decision, classifier_rows
from mlgate.evaluation.split import ChampionHoldout, holdout_for_champion
from mlgate.training import as_model_input


def _number(value: float) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def check_row(gate: str, check: ThresholdCheck) -> dict[str, Any]:
    """A threshold check: the estimate against a minimum, its interval and method."""
    return {
        "gate": gate, "check": check.name, "estimate": check.estimate, "low": check.low,
        "high": check.high, "rows": check.rows, "bound": f">= {check.threshold:g}",
        "method": check.method, "verdict": "refused" if check.refused else "passed", "why": check.why,
    }


def decision_row(gate: str, decision: Decision) -> dict[str, Any]:
    """A paired decision: candidate minus the reference, its interval, the test and what it detects."""
    reference = decision.reference if decision.reference.startswith("its ") else f"the {decision.reference}"
    bound = (f"better than {reference}" if decision.claim == "better"
             else f"not shown worse than {reference} by more than {decision.margin:g}")
    return {
        "gate": gate, "check": decision.metric, "estimate": decision.difference,
        "low": _number(decision.low), "high": _number(decision.high), "rows": decision.rows,
        "bound": bound, "method": decision.test, "p_value": decision.p_value,
        "detectable_drop": decision.detectable_drop,
        "verdict": "refused" if decision.refused else "passed", "why": decision.explain(),
    }


def outcomes(model, holdout: Dataset) -> ClassifierRows:
    """The model's per-row correctness, log loss and Brier on `holdout`."""
    features = as_model_input(holdout.features)
    return classifier_rows(holdout.labels.to_numpy(), model.predict(features),
                           model.predict_proba(features), model.classes_)


def champion_holdout(split: Split, champion_split: str | None) -> tuple[Dataset, ChampionHoldout]:
    """The holdout rows the champion never trained on (split.holdout_for_champion), and how they were chosen."""
    if split.index is None or split.labelled is None:  # a split made outside split_holdout
        chosen = ChampionHoldout(np.arange(len(split.holdout.frame)), 0, "the split is not a hash split")
        return split.holdout, chosen
    chosen = holdout_for_champion(split.labelled.frame, split.labelled.target, split.index, champion_split)
    # holdout_index is sorted, so a row's position in it is its position in split.holdout.
    positions = np.searchsorted(split.index.holdout_index, chosen.rows)
    frame = split.holdout.frame.iloc[positions].reset_index(drop=True)
    return Dataset(frame, split.holdout.target), chosen
