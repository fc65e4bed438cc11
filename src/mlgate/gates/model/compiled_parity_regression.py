"""The parity gate for a compiled regressor: its values equal scikit-learn's within a relative tolerance.

Every holdout row, and rows hypothesis draws at the schema's edges: the largest
|compiled - scikit-learn| / |scikit-learn| at most `compiled_parity_rtol`. A
regressor that did not compile is served by scikit-learn; the gates say so and
pass. A classification task drops these gates (its own parity gates hold).
"""

from __future__ import annotations

import pytest

from mlgate.evaluation.regression import value_parity
from mlgate.gates.model.parity_support import check_edge_rows, not_compiled

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
    if not_compiled(compilation, record_gate):
        return
    result = value_parity(trained_model, compilation.compiled, holdout_frame)
    record_gate(result.max_rel_diff, settings.compiled_parity_rtol)
    assert result.within(settings.compiled_parity_rtol), _explain(result, "the holdout", settings.compiled_parity_rtol)


def test_compiled_regressor_matches_on_edge_rows(compilation, trained_model, behaviour_schema, gate_hypothesis, settings, record_gate):
    check_edge_rows(
        compilation,
        behaviour_schema,
        gate_hypothesis,
        record_gate,
        compare=lambda frame: value_parity(trained_model, compilation.compiled, frame),
        gap=lambda result: result.max_rel_diff,
        tolerance=settings.compiled_parity_rtol,
        explain=_explain,
    )
