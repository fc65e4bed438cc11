"""The parity gate: the compiled model the server will run answers as the scikit-learn model does.

Every holdout row, and rows hypothesis draws at the schema's edges (missing
values in any column, categories training never saw): identical labels and
|probability difference| within `compiled_parity_atol`. A candidate that did
not compile is served by scikit-learn, and these gates say so and pass: a
missing optimisation does not block promotion.
"""

from __future__ import annotations

import pytest

from mlgate.gates.model.parity_support import check_edge_rows, not_compiled
from mlgate.serving.compiled import parity

pytestmark = pytest.mark.model_gate
# The task these gates exist for; the other task drops them at collection (mlgate.plugin.task_gates).
GATE_TASK = "classification"


def _explain(result, where: str, atol: float) -> str:
    return (
        f"the compiled model disagrees with scikit-learn on {where}: {result.label_mismatches} of {result.rows} "
        f"label(s) differ, max |probability difference| {result.max_abs_proba_diff:.3g} (row {result.worst_row}) "
        f"over compiled_parity_atol {atol:g}; the compiled graph does not compute this model"
    )


def test_compiled_model_matches_on_every_holdout_row(compilation, trained_model, holdout_frame, settings, record_gate):
    if not_compiled(compilation, record_gate):
        return
    result = parity(trained_model, compilation.compiled, holdout_frame)
    record_gate(result.max_abs_proba_diff, settings.compiled_parity_atol)
    assert result.within(settings.compiled_parity_atol), _explain(result, "the holdout", settings.compiled_parity_atol)


def test_compiled_model_matches_on_edge_rows(compilation, trained_model, behaviour_schema, gate_hypothesis, settings, record_gate):
    check_edge_rows(
        compilation,
        behaviour_schema,
        gate_hypothesis,
        record_gate,
        compare=lambda frame: parity(trained_model, compilation.compiled, frame),
        gap=lambda result: result.max_abs_proba_diff,
        tolerance=settings.compiled_parity_atol,
        explain=_explain,
    )
