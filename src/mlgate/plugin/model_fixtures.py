"""Fixtures the model gates share: the schema hypothesis draws rows from, its settings, the drift profile."""

from __future__ import annotations

import pytest

from mlgate.behaviour.schema import hypothesis_profile, schema_for


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
