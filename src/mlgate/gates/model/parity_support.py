"""What the classifier's and the regressor's parity gates share: the not-compiled pass and the edge-row search."""

from __future__ import annotations

from typing import Any, Callable

from mlgate.behaviour.schema import EXAMPLES_PER_FRAME, edge_frames


def not_compiled(compilation, record_gate) -> bool:
    """True, with the reason recorded, when scikit-learn serves: a missing optimisation does not block promotion."""
    if compilation.compiled is None:
        record_gate(f"not compiled, serves scikit-learn: {compilation.skipped_because}")
        return True
    return False


def check_edge_rows(
    compilation,
    behaviour_schema,
    gate_hypothesis,
    record_gate,
    compare: Callable[[Any], Any],
    gap: Callable[[Any], float],
    tolerance: float,
    explain: Callable[[Any, str, float], str],
) -> None:
    """Hypothesis draws frames of edge rows; `compare(frame)` must stay `within(tolerance)` on each.

    The worst `gap` seen is recorded against the tolerance, red or green.
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
        result = compare(frame)
        worst["diff"] = max(worst["diff"], gap(result))
        assert result.within(tolerance), (
            explain(result, "drawn rows", tolerance) + f"; the row: {frame.iloc[max(result.worst_row, 0)].to_dict()}"
        )

    try:
        parity_holds()
    finally:
        record_gate(worst["diff"], tolerance)
