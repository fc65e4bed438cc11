"""The shipped model gates: a team's gates/model/test_model_gates.py takes them all with one import."""

from __future__ import annotations

from mlgate.gates.model.behaviour import *  # noqa: F403
from mlgate.gates.model.behaviour_classifier import *  # noqa: F403
from mlgate.gates.model.behaviour_regressor import *  # noqa: F403
from mlgate.gates.model.calibration import *  # noqa: F403
from mlgate.gates.model.champion import *  # noqa: F403
from mlgate.gates.model.compiled_parity import *  # noqa: F403
from mlgate.gates.model.compiled_parity_regression import *  # noqa: F403
from mlgate.gates.model.regression import *  # noqa: F403
from mlgate.gates.model.slices import *  # noqa: F403
from mlgate.gates.model.thresholds import *  # noqa: F403
