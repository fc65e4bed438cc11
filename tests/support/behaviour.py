"""The default project's data, a fast stand-in model, and the searches, as the behaviour tests use them.

The fixtures built from these (split, holdout, schema, linear, forest) are in
tests/conftest.py: the unit tests (stand-in models) and the integration tests
(the real forest, the deep profile) read the same ones.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mlgate.behaviour import schema as behaviour_schema
from mlgate.behaviour import search
from mlgate.behaviour.spec import BehaviourSpec
from tests.support.project import ROOT

SUITE = ROOT / "gates" / "expectations" / "breast_cancer.json"
SPEC = ROOT / "gates" / "expectations" / "breast_cancer.behaviour.toml"
DEEP = behaviour_schema.hypothesis_profile("deep")
QUICK = behaviour_schema.hypothesis_profile("gate", 60)


# --- stand-in models -------------------------------------------------------------------


class Linear:
    """P(label 0) = sigmoid(sum of weight * standardised column): fast and well behaved."""

    classes_ = np.array([0, 1])

    def __init__(self, reference: pd.DataFrame, weights: dict[str, float]):
        self.columns = list(weights)
        self.weights = np.array(list(weights.values()))
        self.centre = reference[self.columns].mean().to_numpy()
        self.scale = reference[self.columns].std().to_numpy()

    def log_odds(self, frame: pd.DataFrame) -> np.ndarray:
        x = frame[self.columns].to_numpy(dtype=float)
        return ((x - self.centre) / self.scale) @ self.weights

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        p0 = 1.0 / (1.0 + np.exp(-self.log_odds(frame)))
        return np.column_stack([p0, 1.0 - p0])

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(frame), axis=1)]



def generic(model, schema, settings=QUICK):
    return search.search_generic(model, schema, settings)


def declared(model, spec: BehaviourSpec, holdout, settings=QUICK):
    return search.search_declared(model, spec, holdout, settings)


