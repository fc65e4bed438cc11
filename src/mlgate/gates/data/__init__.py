"""The shipped data gates: a team's gates/data/test_data_gates.py takes them all with one import."""

from __future__ import annotations

from mlgate.gates.data.expectations import *  # noqa: F403
from mlgate.gates.data.training_drift import *  # noqa: F403
