"""Behavioural gates: what the candidate does on rows nobody sampled, searched with hypothesis.

Four claims hold for any model and any row the data suite accepts: a valid
answer (a classifier's probabilities and labels, gated in behaviour_classifier;
a regressor's one finite number per row, in behaviour_regressor) independent of
the batch, of row order, and of asking twice. A classifier's answer is its
probabilities, a regressor's its prediction. The expectations a user declares in
`<expectations_dir>/<dataset>.behaviour.toml` are each their own test, and
each is checked against the champion: one the champion met and the
candidate breaks is a regression. A dataset without a spec has no declared
gates at all (gates/conftest.py drops a gate marked `mlgate_not_declared`; a skip would
block promotion for a dataset that simply declares nothing).

Hypothesis runs the `gate` profile: `behaviour_max_examples` examples,
derandomized and without an example database, so a session's verdict is
reproducible. A falsifying example is the first line of the failure, which
is what the gate report shows.
"""

from __future__ import annotations

import pytest

from mlgate.plugin.stash import SETTINGS_KEY
from mlgate.behaviour import search as behaviour
from mlgate.behaviour.search import ClaimOutcome
from mlgate.behaviour.spec import BehaviourSpec, BehaviourSpecError, read_spec, spec_path

pytestmark = pytest.mark.model_gate
# No GATE_TASK: these gates exist for both tasks; the spec says which claims fit which (mlgate.behaviour.spec).

SPEC_INVALID = "spec-invalid"
DECLARED_TESTS = {
    "test_invariance_under_declared_noise": "invariance",
    "test_directional_effect_as_declared": "directional",
    "test_no_behavioural_regression_vs_champion": None,  # every declared expectation
}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "declared" not in metafunc.fixturenames:
        return
    settings = metafunc.config.stash[SETTINGS_KEY]
    path = spec_path(settings.expectations_dir, settings.dataset_name)
    kind = DECLARED_TESTS[metafunc.function.__name__]
    if not path.is_file():
        names: list[str] = []
    else:
        try:
            spec = read_spec(path)  # its shape only: the data is read later, once
        except BehaviourSpecError:
            names = [SPEC_INVALID]  # the test fails with the parse error
        else:
            names = [e.name for e in spec.expectations if kind is None or e.kind == kind]
    if not names:  # no spec: the gate does not exist for this dataset (dropped, not skipped)
        metafunc.parametrize("declared", [pytest.param(None, marks=pytest.mark.mlgate_not_declared)])
        return
    metafunc.parametrize("declared", names)


# --- fixtures --------------------------------------------------------------------------


# Not named after a gate module: importing mlgate.gates.model.behaviour_regressor would shadow it there.
@pytest.fixture(scope="session")
def regression_task(settings) -> bool:
    """Whether the candidate predicts a number: its answer is then its prediction, not probabilities."""
    from mlgate.task import task_of

    return task_of(settings).is_regression


@pytest.fixture(scope="session")
def behaviour_spec(settings, behaviour_schema, regression_task):
    """The declared expectations, checked against the schema and the task (None without a spec file)."""
    path = spec_path(settings.expectations_dir, settings.dataset_name)
    if not path.is_file():
        return None
    try:
        return read_spec(path, behaviour_schema, "regression" if regression_task else "classification")
    except BehaviourSpecError as error:
        return error


@pytest.fixture(scope="session")
def generic_outcomes(trained_model, behaviour_schema, gate_hypothesis, regression_task) -> dict[str, ClaimOutcome]:
    """The four generic claims, searched once on one stream of batches; each test reads one."""
    return behaviour.search_generic(trained_model, behaviour_schema, gate_hypothesis, regression_task)


@pytest.fixture(scope="session")
def declared_outcomes(trained_model, holdout_frame, behaviour_spec, gate_hypothesis) -> dict[str, ClaimOutcome]:
    """Every declared expectation, searched once on the holdout; draws kept for the champion."""
    if not isinstance(behaviour_spec, BehaviourSpec):
        return {}
    return behaviour.search_declared(trained_model, behaviour_spec, holdout_frame, gate_hypothesis)


@pytest.fixture(scope="session")
def champion_replay(champion, holdout_frame, behaviour_spec, declared_outcomes):
    """The champion's answers to the very draws the candidate was searched on (None: no champion)."""
    if champion is None or not declared_outcomes:
        return None
    return behaviour.replay(champion.model, behaviour_spec, holdout_frame, declared_outcomes)


def _expectation(spec, declared: str):
    if isinstance(spec, BehaviourSpecError):
        pytest.fail(str(spec), pytrace=False)
    if spec is None or declared == SPEC_INVALID:
        pytest.fail(f"the behaviour spec could not be read for '{declared}'", pytrace=False)
    return spec.named(declared)


def gate_outcome(outcome: ClaimOutcome, record_gate, value=None, threshold=None) -> None:
    """Record the gate's row; fail with hypothesis' falsifying example as the first line."""
    record_gate(f"{outcome.examples} examples" if value is None else value, threshold)
    if not outcome.held:
        pytest.fail(f"{outcome.violation} (falsified within {outcome.examples} examples)", pytrace=False)


# --- any model, any row of the schema --------------------------------------------------


def test_answer_independent_of_batch(generic_outcomes, record_gate):
    gate_outcome(generic_outcomes["batch_independent"], record_gate)


def test_answer_independent_of_row_order(generic_outcomes, record_gate):
    gate_outcome(generic_outcomes["order_independent"], record_gate)


def test_same_input_same_answer(generic_outcomes, record_gate):
    gate_outcome(generic_outcomes["repeatable"], record_gate)


# --- what the user declared ------------------------------------------------------------


def _declared_gate(declared, behaviour_spec, declared_outcomes, record_gate) -> None:
    expectation = _expectation(behaviour_spec, declared)
    outcome = declared_outcomes[expectation.name]
    gate_outcome(outcome, record_gate, value=outcome.worst, threshold=expectation.limit)


def test_invariance_under_declared_noise(declared, behaviour_spec, declared_outcomes, record_gate):
    _declared_gate(declared, behaviour_spec, declared_outcomes, record_gate)


def test_directional_effect_as_declared(declared, behaviour_spec, declared_outcomes, record_gate):
    _declared_gate(declared, behaviour_spec, declared_outcomes, record_gate)


def test_no_behavioural_regression_vs_champion(
    declared, champion, behaviour_spec, declared_outcomes, champion_replay, record_gate
):
    expectation = _expectation(behaviour_spec, declared)
    if champion is None:
        record_gate("first champion")
        return
    candidate = declared_outcomes[expectation.name]
    on_champion = champion_replay[expectation.name]
    record_gate(candidate.worst, max((m.value for m in on_champion), default=None))
    if behaviour.regressed(candidate, on_champion):
        pytest.fail(
            f"behavioural regression vs champion version {champion.version}: it meets "
            f"'{expectation.name}' on all {len(on_champion)} draws, the candidate does not: "
            f"{candidate.violation}",
            pytrace=False,
        )
