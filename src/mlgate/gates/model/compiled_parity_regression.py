"""The parity gate for a compiled regressor: its values equal scikit-learn's within a relative tolerance.

Every holdout row, and rows hypothesis draws at the schema's edges: the largest
|compiled - scikit-learn| / |scikit-learn| at most `compiled_parity_rtol`. A
regressor that did not compile is served by scikit-learn; the gates say so and
pass. A classification task drops these gates (its own parity gates hold).
"""

from __future__ import annotations

import pytest

from mlgate.gates.model.parity_support import check_edge_rows, check_holdout, rule_for

pytestmark = pytest.mark.model_gate
# The task these gates exist for; the other task drops them at collection (mlgate.plugin.task_gates).
GATE_TASK = "regression"


def test_compiled_regressor_matches_on_every_holdout_row(compilation, trained_model, holdout_frame, settings, record_gate):
    check_holdout(compilation, holdout_frame, record_gate, rule_for(GATE_TASK, compilation, trained_model, settings.compiled_parity_rtol))


def test_compiled_regressor_matches_on_edge_rows(compilation, trained_model, behaviour_schema, gate_hypothesis, settings, record_gate):
    check_edge_rows(compilation, behaviour_schema, gate_hypothesis, record_gate, rule_for(GATE_TASK, compilation, trained_model, settings.compiled_parity_rtol))
