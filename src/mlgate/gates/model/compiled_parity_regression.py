"""The parity gate for a compiled regressor: its values equal scikit-learn's within a relative tolerance.

Every holdout row, and rows hypothesis draws at the schema's edges: the largest
|compiled - scikit-learn| / |scikit-learn| at most `compiled_parity_rtol`. A
regressor that did not compile is served by scikit-learn; the gates say so and
pass. A classification task drops these gates (its own parity gates hold).
"""

from __future__ import annotations

import pytest

from mlgate.behaviour.schema import EXAMPLES_PER_FRAME, edge_frames
from mlgate.evaluation.regression import value_parity

pytestmark = pytest.mark.model_gate
# The task these gates exist for; the other task drops them at collection (mlgate.plugin.task_gates).
GATE_TASK = "regression"


def _explain(result, where: str, rtol: float) -> str:
    return (
        f"the compiled regressor disagrees with scikit-learn on {where}: max relative difference "
        f"{result.max_rel_diff:.3g} (row {result.worst_row} of {result.rows}) over compiled_parity_rtol {rtol:g}; "
        "the compiled graph does not compute this model"
    )


def test_compiled_regressor_matches_on_every_holdout_row(compilation, trained_model, holdout_frame, settings, record_gate):
    if compilation.compiled is None:
        record_gate(f"not compiled, serves scikit-learn: {compilation.skipped_because}")
        return
    result = value_parity(trained_model, compilation.compiled, holdout_frame)
    record_gate(result.max_rel_diff, settings.compiled_parity_rtol)
    assert result.within(settings.compiled_parity_rtol), _explain(result, "the holdout", settings.compiled_parity_rtol)


def test_compiled_regressor_matches_on_edge_rows(compilation, trained_model, behaviour_schema, gate_hypothesis, settings, record_gate):
    if compilation.compiled is None:
        record_gate(f"not compiled, serves scikit-learn: {compilation.skipped_because}")
        return
    from hypothesis import given
    from hypothesis import settings as hypothesis_settings

    worst = {"diff": 0.0}
    frames = hypothesis_settings(gate_hypothesis, max_examples=max(1, -(-gate_hypothesis.max_examples // EXAMPLES_PER_FRAME)))

    @frames
    @given(edge_frames(behaviour_schema))
    def parity_holds(frame):
        result = value_parity(trained_model, compilation.compiled, frame)
        worst["diff"] = max(worst["diff"], result.max_rel_diff)
        assert result.within(settings.compiled_parity_rtol), (
            _explain(result, "drawn rows", settings.compiled_parity_rtol)
            + f"; the row: {frame.iloc[max(result.worst_row, 0)].to_dict()}"
        )

    try:
        parity_holds()
    finally:
        record_gate(worst["diff"], settings.compiled_parity_rtol)
