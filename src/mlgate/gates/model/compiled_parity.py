"""The parity gate: the compiled model the server will run answers as the scikit-learn model does.

Every holdout row, and rows hypothesis draws at the schema's edges (missing
values in any column, categories training never saw): identical labels and
|probability difference| within `compiled_parity_atol`. A candidate that did
not compile is served by scikit-learn, and these gates say so and pass: a
missing optimisation does not block promotion.
"""

from __future__ import annotations

import pytest

from mlgate.gates.model.parity_support import check_edge_rows, check_holdout, rule_for

pytestmark = pytest.mark.model_gate
# The task these gates exist for; the other task drops them at collection (mlgate.plugin.task_gates).
GATE_TASK = "classification"


def test_compiled_model_matches_on_every_holdout_row(
    compilation, trained_model, holdout_frame, holdout_answers, settings, record_gate
):
    # scikit-learn's answers on the holdout were computed once for the session (holdout_answers).
    known = (holdout_answers.labels, holdout_answers.proba)
    rule = rule_for(GATE_TASK, compilation, trained_model, settings.compiled_parity_atol, known)
    check_holdout(compilation, holdout_frame, record_gate, rule)


def test_compiled_model_matches_on_edge_rows(compilation, trained_model, behaviour_schema, gate_hypothesis, settings, record_gate):
    check_edge_rows(compilation, behaviour_schema, gate_hypothesis, record_gate, rule_for(GATE_TASK, compilation, trained_model, settings.compiled_parity_atol))
