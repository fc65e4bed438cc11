"""A regressor's valid answer for any row of the schema: one finite number per row, no NaN, no infinity.

The rows are the ones hypothesis draws from the data suite's schema, bounds and
missing values included, as for a classifier (mlgate.gates.model.behaviour runs
the search and the other generic claims; declared claims on predictions are in
the behaviour spec: `max_change` invariance, directional entries without a label).
"""

from __future__ import annotations

import pytest

from mlgate.gates.model.behaviour import gate_outcome

pytestmark = pytest.mark.model_gate
# The task these gates exist for; the other task drops them at collection (mlgate.plugin.task_gates).
GATE_TASK = "regression"


def test_predictions_finite_for_any_schema_row(generic_outcomes, record_gate):
    gate_outcome(generic_outcomes["valid_output"], record_gate)
