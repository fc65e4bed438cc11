"""The parity gate: the compiled model the server will run answers as the scikit-learn model does.

Every holdout row, and rows hypothesis draws at the schema's edges (missing
values in any column, categories training never saw): identical labels and
|probability difference| within `compiled_parity_atol`. A candidate that did
not compile is served by scikit-learn, and these gates say so and pass: a
missing optimisation does not block promotion.
"""

from __future__ import annotations

import pytest

from mlgate.behaviour.schema import EXAMPLES_PER_FRAME, edge_frames
from mlgate.serving.compiled import parity

pytestmark = pytest.mark.model_gate
# The task these gates exist for; the other task drops them at collection (mlgate.plugin.task_gates).
GATE_TASK = "classification"


def _not_compiled(compilation, record_gate) -> bool:
    if compilation.compiled is None:
        record_gate(f"not compiled, serves scikit-learn: {compilation.skipped_because}")
        return True
    return False


def _explain(result, where: str, atol: float) -> str:
    return (
        f"the compiled model disagrees with scikit-learn on {where}: {result.label_mismatches} of {result.rows} "
        f"label(s) differ, max |probability difference| {result.max_abs_proba_diff:.3g} (row {result.worst_row}) "
        f"over compiled_parity_atol {atol:g}; the compiled graph does not compute this model"
    )


def test_compiled_model_matches_on_every_holdout_row(
    compilation, trained_model, holdout_frame, holdout_answers, settings, record_gate
):
    if _not_compiled(compilation, record_gate):
        return
    result = parity(trained_model, compilation.compiled, holdout_frame, (holdout_answers.labels, holdout_answers.proba))
    record_gate(result.max_abs_proba_diff, settings.compiled_parity_atol)
    assert result.within(settings.compiled_parity_atol), _explain(result, "the holdout", settings.compiled_parity_atol)


def test_compiled_model_matches_on_edge_rows(compilation, trained_model, behaviour_schema, gate_hypothesis, settings, record_gate):
    if _not_compiled(compilation, record_gate):
        return
    from hypothesis import given
    from hypothesis import settings as hypothesis_settings

    worst = {"diff": 0.0, "examples": 0}
    # Whole frames of 32-64 edge rows: the rows of behaviour_max_examples small batches, in an eighth of the calls.
    frames = hypothesis_settings(gate_hypothesis, max_examples=max(1, -(-gate_hypothesis.max_examples // EXAMPLES_PER_FRAME)))

    @frames
    @given(edge_frames(behaviour_schema))
    def parity_holds(frame):
        result = parity(trained_model, compilation.compiled, frame)
        worst["diff"] = max(worst["diff"], result.max_abs_proba_diff)
        worst["examples"] += 1
        assert result.within(settings.compiled_parity_atol), (
            _explain(result, "drawn rows", settings.compiled_parity_atol)
            + f"; the row: {frame.iloc[max(result.worst_row, 0)].to_dict()}"
        )

    try:
        parity_holds()
    finally:
        record_gate(worst["diff"], settings.compiled_parity_atol)
