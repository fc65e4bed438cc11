"""The data gate: every expectation of the dataset's suite is its own test.

The suite is validated once (the `data_validation` fixture); each test reads
one expectation's outcome, so a red gate names the expectation, its column
and a few offending values.
"""

from __future__ import annotations

import pytest

from mlgate.plugin.stash import SETTINGS_KEY
from mlgate.expectations import expectation_id, read_suite

pytestmark = pytest.mark.data_gate

NO_SUITE = "suite-missing"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "expectation" not in metafunc.fixturenames:
        return
    settings = metafunc.config.stash[SETTINGS_KEY]
    path = settings.suite_path
    ids = [expectation_id(e) for e in read_suite(path)["expectations"]] if path.is_file() else [NO_SUITE]
    metafunc.parametrize("expectation", ids)


def test_expectation_holds(expectation, data_validation, settings, record_gate):
    if expectation == NO_SUITE:
        pytest.fail(
            f"no data suite for dataset '{settings.dataset_name}' at {settings.suite_path}; "
            f"draft one with: mlgate expectations --dataset {settings.dataset_shown} "
            f"--target {settings.target}",
            pytrace=False,
        )
    outcome = data_validation.outcomes[expectation]
    record_gate(outcome.unexpected_count if outcome.unexpected_count is not None else outcome.observed)
    if not outcome.success:
        pytest.fail(outcome.explain(), pytrace=False)
