"""What the classifier's and the regressor's parity gates share: the not-compiled pass and the edge-row search."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from mlgate.behaviour.schema import EXAMPLES_PER_FRAME, edge_frames
from mlgate.evaluation.regression import value_parity
from mlgate.serving.compiled import parity


def not_compiled(compilation, record_gate) -> bool:
    """True, with the reason recorded, when scikit-learn serves: a missing optimisation does not block promotion."""
    if compilation.compiled is None:
        record_gate(f"not compiled, serves scikit-learn: {compilation.skipped_because}")
        return True
    return False


@dataclass(frozen=True)
class ParityRule:
    """How one task's compiled model is held to scikit-learn's answers."""

    compare: Callable[[Any], Any]  # frame -> a parity result: .within(tolerance), .worst_row
    gap: Callable[[Any], float]  # result -> the number held to the tolerance
    tolerance: float
    explain: Callable[[Any, str, float], str]  # (result, where, tolerance) -> why it is red


def _explain_classifier(result, where: str, atol: float) -> str:
    return (
        f"the compiled model disagrees with scikit-learn on {where}: {result.label_mismatches} of {result.rows} "
        f"label(s) differ, max |probability difference| {result.max_abs_proba_diff:.3g} (row {result.worst_row}) "
        f"over compiled_parity_atol {atol:g}; the compiled graph does not compute this model"
    )


def _explain_regressor(result, where: str, rtol: float) -> str:
    return (
        f"the compiled regressor disagrees with scikit-learn on {where}: max relative difference "
        f"{result.max_rel_diff:.3g} (row {result.worst_row} of {result.rows}) over compiled_parity_rtol {rtol:g}; "
        "the compiled graph does not compute this model"
    )


def rule_for(task: str, compilation, trained_model, tolerance: float, known=None) -> ParityRule:
    """The classifier's rule (labels, and probabilities within an absolute tolerance) or the regressor's
    (values within a relative one). `known`: scikit-learn's (labels, probabilities) on the frame compared, when
    the session already has them."""
    if task == "classification":
        return ParityRule(
            compare=lambda frame: parity(trained_model, compilation.compiled, frame, known),
            gap=lambda result: result.max_abs_proba_diff,
            tolerance=tolerance,
            explain=_explain_classifier,
        )
    return ParityRule(
        compare=lambda frame: value_parity(trained_model, compilation.compiled, frame),
        gap=lambda result: result.max_rel_diff,
        tolerance=tolerance,
        explain=_explain_regressor,
    )


def check_holdout(compilation, holdout_frame, record_gate, rule: ParityRule) -> None:
    """Every holdout row within the rule's tolerance; the gap recorded, red or green."""
    if not_compiled(compilation, record_gate):
        return
    result = rule.compare(holdout_frame)
    record_gate(rule.gap(result), rule.tolerance)
    assert result.within(rule.tolerance), rule.explain(result, "the holdout", rule.tolerance)


def check_edge_rows(compilation, behaviour_schema, gate_hypothesis, record_gate, rule: ParityRule) -> None:
    """Hypothesis draws frames of edge rows; each must stay within the rule's tolerance.

    The worst gap seen is recorded against the tolerance, red or green.
    """
    if not_compiled(compilation, record_gate):
        return
    from hypothesis import given
    from hypothesis import settings as hypothesis_settings

    worst = {"diff": 0.0}
    # Whole frames of 32-64 edge rows: the rows of behaviour_max_examples small batches, in an eighth of the calls.
    frames = hypothesis_settings(gate_hypothesis, max_examples=max(1, -(-gate_hypothesis.max_examples // EXAMPLES_PER_FRAME)))

    @frames
    @given(edge_frames(behaviour_schema))
    def parity_holds(frame):
        result = rule.compare(frame)
        worst["diff"] = max(worst["diff"], rule.gap(result))
        assert result.within(rule.tolerance), (
            rule.explain(result, "drawn rows", rule.tolerance) + f"; the row: {frame.iloc[max(result.worst_row, 0)].to_dict()}"
        )

    try:
        parity_holds()
    finally:
        record_gate(worst["diff"], rule.tolerance)
