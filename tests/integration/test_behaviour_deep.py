"""The behavioural claims hold deeply: the deep hypothesis profile, and the real default RandomForest.

The same searches as tests/unit/test_behaviour.py, at the depth a release
check wants; seconds each, so apart from the unit tests.
"""

from __future__ import annotations

import json

from hypothesis import given, settings

from mlgate.behaviour import schema as behaviour_schema
from mlgate.behaviour import spec as behaviour_spec
from mlgate.behaviour.checks import GENERIC_CLAIMS
from tests.support.behaviour import (
    DEEP,
    SPEC,
    SUITE,
    declared,
    generic,
)


def test_drawn_rows_stay_inside_the_suite(schema):
    suite = json.loads(SUITE.read_text())
    bounds = {
        e["kwargs"]["column"]: (e["kwargs"]["min_value"], e["kwargs"]["max_value"])
        for e in suite["expectations"]
        if e["type"] == "expect_column_values_to_be_between"
    }

    @DEEP
    @given(behaviour_schema.schema_rows(schema))
    def inside(frame):
        assert list(frame.columns) == schema.names
        assert 1 <= len(frame) <= behaviour_schema.MAX_BATCH_ROWS
        for column, (low, high) in bounds.items():
            assert frame[column].between(low, high).all(), column

    inside()

    @settings(DEEP, max_examples=60)  # each example is a whole frame of 32-64 rows
    @given(behaviour_schema.schema_batches(schema))
    def whole_frames_inside(drawn):
        frame, subset, order = drawn
        assert list(frame.columns) == schema.names
        assert behaviour_schema.FRAME_ROWS[0] <= len(frame) <= behaviour_schema.FRAME_ROWS[1]
        assert set(subset) <= set(range(len(frame))) and sorted(order) == list(range(len(frame)))
        for column, (low, high) in bounds.items():
            assert frame[column].between(low, high).all(), column

    whole_frames_inside()



def test_a_well_behaved_model_holds_every_generic_claim_deeply(linear, schema):
    outcomes = generic(linear, schema, DEEP)
    assert {c: o.held for c, o in outcomes.items()} == dict.fromkeys(GENERIC_CLAIMS, True)
    # DEEP's depth in whole frames: as many rows as its small batches (2-5 rows each) held, or more.
    assert all(o.rows >= DEEP.max_examples * 3.5 for o in outcomes.values())


def test_the_default_forest_holds_every_generic_claim(forest, schema):
    outcomes = generic(forest, schema, behaviour_schema.hypothesis_profile("deep", 120))
    assert all(o.held for o in outcomes.values()), {c: o.violation for c, o in outcomes.items()}


def test_the_shipped_spec_holds_for_the_default_forest_deeply(forest, schema, holdout):
    """The claims in breast_cancer.behaviour.toml are true of the model they gate."""
    spec = behaviour_spec.read_spec(SPEC, schema)
    outcomes = declared(forest, spec, holdout, behaviour_schema.hypothesis_profile("deep", 200))
    assert all(o.held for o in outcomes.values()), {n: o.violation for n, o in outcomes.items()}
    assert all(o.examples == 200 for o in outcomes.values())

