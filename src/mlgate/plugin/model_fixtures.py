"""Fixtures the model gates share: holdout predictions, the schema hypothesis draws rows from, its settings, the drift profile."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from mlgate.behaviour.schema import hypothesis_profile, schema_for


@dataclass(frozen=True)
class HoldoutPredictions:
    """The candidate's labels and probabilities on the holdout, beside the truth."""

    truth: np.ndarray
    labels: np.ndarray
    proba: np.ndarray
    classes: np.ndarray


@pytest.fixture(scope="session")
def holdout_predictions(trained_model, split, holdout_frame) -> HoldoutPredictions:
    """Predicted once: every threshold and calibration gate decides on the same predictions."""
    return HoldoutPredictions(
        truth=split.holdout.labels.to_numpy(),
        labels=np.asarray(trained_model.predict(holdout_frame)),
        proba=np.asarray(trained_model.predict_proba(holdout_frame), dtype=float),
        classes=np.asarray(trained_model.classes_),
    )


@pytest.fixture(scope="session")
def behaviour_schema(settings, dataset, holdout_frame):
    """The rows the data suite accepts, in the model's column order: what hypothesis draws from."""
    from mlgate.expectations import read_suite

    suite = read_suite(settings.suite_path) if settings.suite_path.is_file() else None
    labels = sorted(dataset.labels.dropna().unique().tolist(), key=str)
    return schema_for(suite, holdout_frame, labels, settings.target)


@pytest.fixture(scope="session")
def gate_hypothesis(settings):
    """Hypothesis settings for a gate session: bounded, reproducible, no example database."""
    return hypothesis_profile("gate", settings.behaviour_max_examples)


@pytest.fixture(scope="session")
def candidate_drift_profile(gate_run, drift_profile):
    """Every session that gates a model builds its drift profile: promotion registers it with the model.

    The perf gates build it too (they serve the candidate with drift tracking on);
    a gate set without the perf family must still be able to promote. The run is
    asked for first: a session whose data cannot be read still opens its run, and
    the run records that it failed.
    """
    return drift_profile
