"""A classifier's valid answer for any row of the schema: probabilities in [0, 1] summing to 1, known labels.

The search and the other generic claims are in mlgate.gates.model.behaviour; a
regressor's valid answer is in behaviour_regressor.
"""

from __future__ import annotations

import pytest

from mlgate.gates.model.behaviour import gate_outcome

pytestmark = pytest.mark.model_gate
# The task these gates exist for; the other task drops them at collection (mlgate.plugin.task_gates).
GATE_TASK = "classification"


def test_probabilities_valid_and_labels_known_for_any_schema_row(generic_outcomes, record_gate):
    gate_outcome(generic_outcomes["valid_output"], record_gate)
