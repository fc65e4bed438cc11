"""The behavioural gates can go red: each check, run on a model built to break it.

The gates in gates/model/test_behaviour.py call `mlgate.behaviour`; these tests
call the very same functions on small stand-in models (numpy, no
scikit-learn, so the `deep` hypothesis profile stays cheap) the real default
RandomForest and the deep profile are in tests/integration/test_behaviour_deep.py.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given

from mlgate.behaviour import checks, search
from mlgate.behaviour import schema as behaviour_schema
from mlgate.behaviour import spec as behaviour_spec
from mlgate.behaviour.spec import (
    BehaviourSpec,
    BehaviourSpecError,
    Directional,
    Invariance,
)
from mlgate.training import as_model_input
from tests.support.behaviour import (
    DEEP,
    QUICK,
    SPEC,
    Linear,
    declared,
    generic,
)


class Broken:
    """A wrapper that keeps `classes_` and breaks one thing; subclasses say which."""

    def __init__(self, inner):
        self.inner = inner
        self.classes_ = inner.classes_

    def predict_proba(self, frame):
        return self.inner.predict_proba(frame)

    def predict(self, frame):
        return self.classes_[np.argmax(self.predict_proba(frame), axis=1)]


class Unnormalised(Broken):
    def predict_proba(self, frame):
        return super().predict_proba(frame) * 0.9


class NegativeProbability(Broken):
    def predict_proba(self, frame):
        p = super().predict_proba(frame)
        return np.column_stack([p[:, 0] + 0.5, p[:, 1] - 0.5])


class UnknownLabel(Broken):
    def predict(self, frame):
        return np.where(super().predict(frame) == 1, 7, 0)


class Crashes(Broken):
    """Raises on a large 'mean radius', as a model with a bad feature transform might."""

    def predict_proba(self, frame):
        if (frame["mean radius"] > 25).any():
            raise ValueError("math domain error in feature 'mean radius'")
        return super().predict_proba(frame)


class BatchNormalised(Broken):
    """Standardises each batch by its own mean: a row's answer depends on its neighbours."""

    def predict_proba(self, frame):
        shifted = frame.copy()
        shifted[self.inner.columns] = frame[self.inner.columns] - frame[self.inner.columns].mean() + self.inner.centre
        return self.inner.predict_proba(shifted)


class PositionDependent(Broken):
    """Leaks the row position into the score, as an accidental `cumsum` would."""

    def predict_proba(self, frame):
        z = self.inner.log_odds(frame) + 0.1 * np.arange(len(frame))
        p0 = 1.0 / (1.0 + np.exp(-z))
        return np.column_stack([p0, 1.0 - p0])


class Stateful(Broken):
    """Drifts a little with every call, as a model updating itself online would."""

    calls = 0

    def predict_proba(self, frame):
        self.calls += 1
        p = super().predict_proba(frame)
        drift = min(0.4, 1e-3 * self.calls)
        return np.column_stack([p[:, 0] * (1 - drift), 1 - p[:, 0] * (1 - drift)])



# --- the schema and the profiles -------------------------------------------------------


def test_schema_follows_the_suite_and_the_model_column_order(schema, holdout):
    assert schema.names == list(holdout.columns)
    radius = schema.column("mean radius")
    assert (radius.low, radius.high, radius.numeric, radius.nullable) == (4.8681, 30.2229, True, False)
    assert schema.labels == (0, 1)


def test_schema_draws_categories_and_nulls_and_falls_back_to_the_data():
    reference = pd.DataFrame({"size": [1.0, 5.0, 3.0], "colour": ["red", "blue", "red"], "y": [0, 1, 0]})
    features = as_model_input(reference.drop(columns=["y"]))
    suite = {
        "expectations": [
            {"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "colour", "value_set": ["red", "blue", "green"]}},
            {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "colour", "mostly": 0.9}},
            {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "size"}},
            {"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "y", "value_set": [0, 1]}},
        ]
    }
    schema = behaviour_schema.schema_for(suite, features, [0, 1], "y")
    size, colour = schema.columns
    assert (size.low, size.high, size.nullable) == (1.0, 5.0, False)  # no range in the suite: the data's
    assert colour.categories == ("red", "blue", "green") and colour.nullable

    seen = set()

    @DEEP
    @given(behaviour_schema.schema_rows(schema))
    def drawn(frame):
        assert frame["colour"].dtype == object
        seen.update(frame["colour"].tolist())
        assert frame["size"].between(1.0, 5.0).all()

    drawn()
    assert seen == {"red", "blue", "green", None}
    # Without a suite: every bound from the data, labels as seen.
    bare = behaviour_schema.schema_for(None, features, ["b", "a"], "y")
    assert bare.column("colour").categories == ("blue", "red") and bare.labels == ("b", "a")
    assert bare.column("colour").nullable  # no not-null expectation: nulls are valid input


def test_profiles_are_reproducible_and_bounded():
    gate = behaviour_schema.hypothesis_profile("gate", 25)
    assert (gate.max_examples, gate.derandomize, gate.database, gate.deadline) == (25, True, None, None)
    assert behaviour_schema.hypothesis_profile("deep").max_examples > gate.max_examples
    with pytest.raises(ValueError, match="unknown hypothesis profile"):
        behaviour_schema.hypothesis_profile("fast")


def test_a_search_draws_the_same_examples_every_time(linear, holdout):
    spec = BehaviourSpec(SPEC, invariance=(Invariance("noise", "c", {"mean texture": 1.0}, 0.5),))
    first = declared(linear, spec, holdout)["noise"].draws
    second = declared(linear, spec, holdout)["noise"].draws
    # 60 draws' depth, drawn 8 to an example and scored together: at least as many draws.
    assert len(first) == len(second) >= 60
    assert all(np.array_equal(a, b) for a, b in zip(first, second))


# --- generic claims: green on good models, red on each broken one --------------------




@pytest.mark.parametrize(
    ("broken", "claim", "message"),
    [
        (Unnormalised, "valid_output", r"sum to 0\.9, not 1, for row 0 of a \d+-row batch \{mean radius=\S+, mean texture="),
        (NegativeProbability, "valid_output", r"outside \[0, 1\] for row \d+ of a \d+-row batch \{mean radius="),
        (UnknownLabel, "valid_output", r"predicted label 7 is not in the label set \[0, 1\]"),
        (Crashes, "valid_output", r"the model raised ValueError: math domain error in feature 'mean radius'"),
        (BatchNormalised, "batch_independent", r"^row \d+ of a \d+-row batch \{.*\} gets \[.*\] in the batch but \[.*\] (alone|in a \d+-row sub-batch of rows \[[\d, ]+\])$"),
        (PositionDependent, "order_independent", r"gets \[.*\] in row order \[0, 1, .*\] but \[.*\] in order \[\d"),
        (Stateful, "repeatable", r"the first time and .* the second"),
    ],
)
def test_each_generic_claim_goes_red_on_a_model_that_breaks_it(linear, schema, broken, claim, message):
    outcomes = generic(broken(linear), schema)
    assert not outcomes[claim].held
    # The message is what the gate report shows: it names the claim's evidence, row included.
    assert re.search(message, outcomes[claim].violation), outcomes[claim].violation


def test_a_broken_claim_does_not_hide_the_others(linear, schema):
    """Batch-normalising breaks only the batch claim; the rest still get their full search."""
    outcomes = generic(BatchNormalised(linear), schema)
    assert [c for c, o in outcomes.items() if not o.held] == ["batch_independent"]
    # The whole search depth: as many rows as QUICK's small batches (2-5 rows each) held, or more.
    assert outcomes["repeatable"].rows >= QUICK.max_examples * 3.5


def test_each_check_function_goes_red_on_its_own(linear, holdout):
    batch = holdout.head(3).reset_index(drop=True)
    with pytest.raises(checks.BehaviourViolation, match="sum to"):
        checks.check_valid_output(Unnormalised(linear), batch, [0, 1])
    with pytest.raises(checks.BehaviourViolation, match="alone"):
        checks.check_batch_independent(BatchNormalised(linear), batch, 1)
    with pytest.raises(checks.BehaviourViolation, match="in order"):
        checks.check_order_independent(PositionDependent(linear), batch, [2, 0, 1])
    with pytest.raises(checks.BehaviourViolation, match="the second"):
        checks.check_repeatable(Stateful(linear), batch)
    # and the good model passes all four on the same batch
    assert checks.check_valid_output(linear, batch, [0, 1]) == 3
    assert checks.check_batch_independent(linear, batch, 1) == 3
    assert checks.check_order_independent(linear, batch, [2, 0, 1]) == 3
    assert checks.check_repeatable(linear, batch) == 3


# --- declared expectations -------------------------------------------------------------


def test_the_shipped_breast_cancer_spec_parses_against_the_schema(schema):
    spec = behaviour_spec.read_spec(SPEC, schema)
    assert [e.name for e in spec.invariance] == ["texture_measurement_noise", "symmetry_and_fractal_dimension_noise"]
    assert len(spec.directional) == 3 and all(d.label == 0 and d.effect == "not_lower" for d in spec.directional)



def test_invariance_goes_red_when_noise_flips_too_many_answers(linear, holdout):
    spec = BehaviourSpec(SPEC, invariance=(Invariance("radius_noise", "radius is noisy", {"worst radius": 3.0}, 0.01),))
    outcome = declared(linear, spec, holdout)["radius_noise"]
    assert not outcome.held
    assert outcome.violation.startswith("invariance 'radius_noise' broken: noise within 'worst radius' ±3 flips the label of ")
    assert "e.g. holdout row " in outcome.violation and "Claim: radius is noisy" in outcome.violation
    assert outcome.worst > 0.01  # the failing draw's share is what the gate row shows


def test_invariance_holds_for_noise_on_a_column_the_model_ignores(linear, holdout):
    spec = BehaviourSpec(SPEC, invariance=(Invariance("ignored", "c", {"mean smoothness": 0.05}, 0.0),))
    outcome = declared(linear, spec, holdout)["ignored"]
    assert outcome.held and outcome.worst == 0.0


def _larger_radius(effect="not_lower", tolerance=0.0, fraction=0.0) -> Directional:
    return Directional("larger_radius", "bigger is not more benign", "worst radius", 5.0, 0, effect, tolerance, fraction)


def test_directional_holds_when_the_model_moves_the_declared_way(linear, holdout):
    spec = BehaviourSpec(SPEC, directional=(_larger_radius(),))
    assert declared(linear, spec, holdout)["larger_radius"].held


def test_directional_goes_red_when_the_model_moves_the_wrong_way(holdout):
    backwards = Linear(holdout, {"worst radius": -2.0})
    spec = BehaviourSpec(SPEC, directional=(_larger_radius(),))
    outcome = declared(backwards, spec, holdout)["larger_radius"]
    assert not outcome.held
    assert outcome.violation.startswith(
        "directional 'larger_radius' broken: raising 'worst radius' by up to 5 lowers P(0) by more than 0 on "
    )
    # The same model meets the opposite claim.
    opposite = BehaviourSpec(SPEC, directional=(_larger_radius("not_higher"),))
    assert declared(backwards, opposite, holdout)["larger_radius"].held


def test_a_regression_is_an_expectation_the_champion_met_and_the_candidate_breaks(linear, holdout):
    spec = BehaviourSpec(SPEC, directional=(_larger_radius(),))
    backwards = Linear(holdout, {"worst radius": -2.0})
    broken_candidate = declared(backwards, spec, holdout)
    good_candidate = declared(linear, spec, holdout)

    on_good_champion = search.replay(linear, spec, holdout, broken_candidate)["larger_radius"]
    assert len(on_good_champion) == len(broken_candidate["larger_radius"].draws) > 0
    assert search.regressed(broken_candidate["larger_radius"], on_good_champion)
    # A champion that broke it too: the candidate is red on the claim, but it is no regression.
    on_bad_champion = search.replay(backwards, spec, holdout, broken_candidate)["larger_radius"]
    assert not search.regressed(broken_candidate["larger_radius"], on_bad_champion)
    # A candidate that meets it never regresses.
    on_champion = search.replay(backwards, spec, holdout, good_candidate)["larger_radius"]
    assert not search.regressed(good_candidate["larger_radius"], on_champion)


# --- the spec file -----------------------------------------------------------------------


GOOD_ENTRY = """
[[directional]]
name = "bigger_not_benign"
claim = "size"
column = "worst radius"
max_increase = 1.0
label = 0
effect = "not_lower"
"""


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[invariance]\n", "is not valid TOML"),
        ("[[monotone]]\nname='x'\n", r"unknown table\(s\) \['monotone'\]"),
        (GOOD_ENTRY.replace('effect = "not_lower"', ""), r"missing \['effect'\]"),
        (GOOD_ENTRY + "colour = 1\n", r"unknown \['colour'\]"),
        (GOOD_ENTRY.replace("bigger_not_benign", "Bigger Not Benign"), "must be lower_snake_case"),
        (GOOD_ENTRY + GOOD_ENTRY, "'bigger_not_benign' is used twice"),
        (GOOD_ENTRY.replace("worst radius", "worst radiu"), "column 'worst radiu' is not a model input"),
        (GOOD_ENTRY.replace("label = 0", "label = 2"), r"label 2 is not in the label set \[0, 1\]"),
        (GOOD_ENTRY.replace('"not_lower"', '"up"'), "effect 'up' must be one of"),
        (GOOD_ENTRY.replace("max_increase = 1.0", "max_increase = 0"), "'max_increase' is 0; it must be above 0"),
        (GOOD_ENTRY + "tolerance = 1.5\n", "'tolerance' is 1.5; it must be at least 0 and at most 1"),
        (GOOD_ENTRY.replace('claim = "size"', 'claim = ""'), "'claim' must be a sentence"),
        (
            '[[invariance]]\nname="n"\nclaim="c"\nnoise={ "worst radius" = -1 }\nmax_flipped_fraction=0.1\n',
            r"'noise.worst radius' is -1; it must be above 0",
        ),
        ('[[invariance]]\nname="n"\nclaim="c"\nnoise=1.0\nmax_flipped_fraction=0.1\n', "'noise' must be a table"),
    ],
)
def test_a_bad_spec_is_an_error_naming_what_to_fix(tmp_path, schema, text, message):
    path = tmp_path / "breast_cancer.behaviour.toml"
    path.write_text(text)
    with pytest.raises(BehaviourSpecError, match=message) as caught:
        behaviour_spec.read_spec(path, schema)
    assert str(path) in str(caught.value)


def test_a_categorical_column_cannot_take_noise(tmp_path):
    frame = as_model_input(pd.DataFrame({"colour": ["red", "blue"], "size": [1.0, 2.0]}))
    schema = behaviour_schema.schema_for(None, frame, [0, 1], "y")
    path = tmp_path / "s.behaviour.toml"
    path.write_text('[[invariance]]\nname="n"\nclaim="c"\nnoise={ colour = 1.0 }\nmax_flipped_fraction=0.1\n')
    with pytest.raises(BehaviourSpecError, match="column 'colour' is categorical"):
        behaviour_spec.read_spec(path, schema)


def test_without_a_schema_only_the_shape_of_the_spec_is_checked(tmp_path):
    path = tmp_path / "s.behaviour.toml"
    path.write_text(GOOD_ENTRY.replace("worst radius", "no such column"))
    assert behaviour_spec.read_spec(path).directional[0].column == "no such column"
    assert behaviour_spec.spec_path("gates/expectations", "iris") == Path("gates/expectations/iris.behaviour.toml")


# --- a whole gate session ------------------------------------------------------------------
