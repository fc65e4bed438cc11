"""A regressor's behavioural gates can go red: each claim on a stand-in regressor that breaks it, and one that meets it.

The claims are the classifier's, put to the predicted number (mlgate.behaviour):
one finite number per row of the schema, the same answer in any batch, declared
noise moving a prediction by at most `max_change`, and a declared direction
("the price rises with the area") never broken by more than `tolerance`.
The stand-ins are numpy formulas on a small house-price table, so the searches stay cheap.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlgate.behaviour import checks, search
from mlgate.behaviour import schema as behaviour_schema
from mlgate.behaviour import spec as behaviour_spec
from mlgate.behaviour.spec import BehaviourSpec, BehaviourSpecError, Directional, Invariance
from mlgate.training import as_model_input
from tests.support.behaviour import QUICK

SPEC = Path("houses.behaviour.toml")
AREA_BOUNDS = (30.0, 250.0)


class Price:
    """price = 2000 x area + 5000 x rooms - 300 x age + 50000, in the target's unit (a currency)."""

    def __init__(self, area: float = 2000.0, rooms: float = 5000.0, age: float = -300.0):
        self.weights = np.array([area, rooms, age])

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        x = frame[["area", "rooms", "age"]].to_numpy(dtype=float)
        return np.nan_to_num(x, nan=0.0) @ self.weights + 50_000.0


class Stepped(Price):
    """A forest's shape: the area counts in whole 20 m² steps, flat in between (not decreasing, not strictly rising)."""

    def predict(self, frame):
        stepped = frame.assign(area=np.floor(frame["area"].to_numpy(dtype=float) / 20.0) * 20.0)
        return super().predict(stepped)


class NanAtTheLargestArea(Price):
    """No answer at the suite's upper bound of the area, as a log of a clipped feature gone wrong gives."""

    def predict(self, frame):
        predicted = super().predict(frame)
        return np.where(frame["area"].to_numpy(dtype=float) >= AREA_BOUNDS[1], np.nan, predicted)


class TwoNumbersPerRow(Price):
    def predict(self, frame):
        predicted = super().predict(frame)
        return np.column_stack([predicted, predicted])


class BatchCentred(Price):
    """Centres the area on each batch's own mean: a row's price depends on its neighbours."""

    def predict(self, frame):
        area = frame["area"].to_numpy(dtype=float)
        return super().predict(frame.assign(area=area - area.mean() + 100.0))


@pytest.fixture(scope="module")
def houses() -> pd.DataFrame:
    """A seeded house-price table: area, rooms, age (with gaps) and a categorical district."""
    rng = np.random.default_rng(3)
    rows = 300
    frame = pd.DataFrame({
        "area": rng.uniform(*AREA_BOUNDS, rows),
        "rooms": rng.integers(1, 7, rows).astype(float),
        "age": rng.uniform(0, 80, rows),
        "district": rng.choice(["north", "south"], rows).astype(object),
    })
    frame.loc[rng.random(rows) < 0.1, "age"] = np.nan
    frame.loc[[0, 1], "area"] = AREA_BOUNDS  # the bounds themselves, as the schema takes them from the data
    return as_model_input(frame)


@pytest.fixture(scope="module")
def house_schema(houses):
    """The rows a house-price suite would accept (no suite: bounds from the data)."""
    return behaviour_schema.schema_for(None, houses, [], "price")


def _area_rises(tolerance: float = 0.0, effect: str = "not_lower") -> Directional:
    return Directional("price_rises_with_area", "a larger house is not cheaper", "area", 40.0, None, effect, tolerance)


def _age_noise(max_change: float | None = None, relative: float | None = None, fraction: float = 0.0) -> Invariance:
    return Invariance("age_is_approximate", "the age is known to a year", {"age": 1.0}, fraction, max_change, relative)


def _declared(model, expectation, houses):
    spec = BehaviourSpec(SPEC, **{expectation.kind: (expectation,)})
    return search.search_declared(model, spec, houses, QUICK)[expectation.name]


# --- any row of the schema ------------------------------------------------------------------


def test_a_regressor_meets_every_generic_claim(houses, house_schema):
    outcomes = search.search_generic(Price(), house_schema, QUICK, regressor=True)
    assert all(o.held for o in outcomes.values()), {c: o.violation for c, o in outcomes.items()}
    assert outcomes["valid_output"].rows >= QUICK.max_examples * 3.5


@pytest.mark.parametrize(
    ("broken", "claim", "message"),
    [
        (NanAtTheLargestArea, "valid_output", r"^prediction nan is not a finite number for row \d+ of a \d+-row batch \{area=250,"),
        (TwoNumbersPerRow, "valid_output", r"^predict returned shape \(\d+, 2\) for \d+ row\(s\); a regressor gives one number per row"),
        (BatchCentred, "batch_independent", r"gets \[[\d.e+]+\] in the batch but \[[\d.e+]+\]"),
    ],
)
def test_each_generic_claim_goes_red_on_a_regressor_that_breaks_it(house_schema, broken, claim, message):
    outcomes = search.search_generic(broken(), house_schema, QUICK, regressor=True)
    assert not outcomes[claim].held
    assert re.search(message, outcomes[claim].violation), outcomes[claim].violation


def test_finite_check_goes_red_on_infinity_and_green_on_numbers(houses):
    batch = houses.head(4).reset_index(drop=True)
    assert checks.check_finite_predictions(Price(), batch) == 4
    with pytest.raises(checks.BehaviourViolation, match="prediction inf is not a finite number for row 2"):
        checks.check_finite_predictions(Price(), batch, np.array([[1.0], [2.0], [np.inf], [3.0]]))


# --- declared: invariance within max_change -----------------------------------------------------


def test_invariance_holds_when_noise_moves_the_prediction_less_than_max_change(houses):
    # One year of age moves the price by at most 300.
    assert _declared(Price(), _age_noise(max_change=300.0), houses).held
    assert _declared(Price(), _age_noise(relative=0.01), houses).held  # every price here is above 30,000


def test_invariance_goes_red_when_noise_moves_the_prediction_further(houses):
    outcome = _declared(Price(age=-5000.0), _age_noise(max_change=300.0), houses)
    assert not outcome.held
    assert outcome.violation.startswith(
        "invariance 'age_is_approximate' broken: noise within 'age' ±1 moves the prediction by more than 300 on "
    ), outcome.violation
    assert re.search(r"e\.g\. holdout row \d+ \{.*\}: the prediction moves -?[\d.e+]+ -> -?[\d.e+]+ with age [+-]", outcome.violation)
    relative = _declared(Price(age=-5000.0), _age_noise(relative=0.01), houses)
    assert not relative.held and "by more than 1.0% of itself" in relative.violation


def test_invariance_allows_the_declared_share_of_rows_to_move(houses):
    # Rows without an age do not move at all (the stand-in reads a missing age as 0): about 10 % of them.
    assert _declared(Price(age=-5000.0), _age_noise(max_change=300.0, fraction=0.95), houses).held


# --- declared: a monotonic direction ---------------------------------------------------------------


def test_directional_holds_when_the_price_rises_with_the_area(houses):
    assert _declared(Price(), _area_rises(), houses).held


def test_directional_holds_for_a_step_function_that_never_falls(houses):
    """A forest is flat between its thresholds: not decreasing is the claim, so flat steps meet it."""
    assert _declared(Stepped(), _area_rises(), houses).held


def test_directional_goes_red_when_the_sign_on_the_area_is_flipped(houses):
    outcome = _declared(Price(area=-2000.0), _area_rises(), houses)
    assert not outcome.held
    assert outcome.violation.startswith(
        "directional 'price_rises_with_area' broken: raising 'area' by up to 40 lowers the prediction by more than 0 on "
    ), outcome.violation
    assert re.search(r"'area' \+[\d.]+ moves the prediction -?[\d.e+]+ -> -?[\d.e+]+", outcome.violation)
    # The same model meets the opposite claim, and a tolerance wider than any move it makes.
    assert _declared(Price(area=-2000.0), _area_rises(effect="not_higher"), houses).held
    assert _declared(Price(area=-2000.0), _area_rises(tolerance=80_001.0), houses).held


def test_a_regressor_that_breaks_what_the_champion_met_is_a_behavioural_regression(houses):
    spec = BehaviourSpec(SPEC, directional=(_area_rises(),))
    broken = search.search_declared(Price(area=-2000.0), spec, houses, QUICK)
    on_champion = search.replay(Price(), spec, houses, broken)["price_rises_with_area"]
    assert on_champion and search.regressed(broken["price_rises_with_area"], on_champion)
    on_broken_champion = search.replay(Price(area=-1.0), spec, houses, broken)["price_rises_with_area"]
    assert not search.regressed(broken["price_rises_with_area"], on_broken_champion)


# --- the spec file for a regressor ---------------------------------------------------------------


REGRESSION_SPEC = """
[[invariance]]
name = "age_is_approximate"
claim = "the age is known to a year"
noise = { "age" = 1.0 }
max_change = 500.0

[[directional]]
name = "price_rises_with_area"
claim = "a larger house is not cheaper"
column = "area"
max_increase = 40.0
effect = "not_lower"
tolerance = 250.0
"""


def test_a_regression_spec_parses_into_claims_on_the_prediction(tmp_path, house_schema):
    path = tmp_path / "houses.behaviour.toml"
    path.write_text(REGRESSION_SPEC)
    spec = behaviour_spec.read_spec(path, house_schema, "regression")
    (noise,), (rises,) = spec.invariance, spec.directional
    assert noise.on_prediction and (noise.max_change, noise.max_flipped_fraction) == (500.0, 0.0)
    assert rises.on_prediction and (rises.label, rises.tolerance) == (None, 250.0)  # a tolerance in the target's unit


@pytest.mark.parametrize(
    ("text", "task", "message"),
    [
        (REGRESSION_SPEC, "classification", "'age_is_approximate': a claim on a predicted number, but the task is classification; drop 'max_change'"),
        (REGRESSION_SPEC.replace("max_change = 500.0", "max_flipped_fraction = 0.1"), "regression",
         "a claim on a label, but the task is regression .*; give 'max_change' or 'max_relative_change'"),
        (REGRESSION_SPEC.replace('effect = "not_lower"', 'effect = "not_lower"\nlabel = 1'), "regression",
         "'price_rises_with_area': a claim on a label, but the task is regression .*; drop 'label'"),
        (REGRESSION_SPEC.replace("max_change = 500.0", "max_change = 500.0\nmax_relative_change = 0.1"), None,
         "give 'max_change' .* or 'max_relative_change', not both"),
        (REGRESSION_SPEC.replace("max_change = 500.0", ""), None, "missing 'max_flipped_fraction' .* or, for a regressor, 'max_change'"),
        (REGRESSION_SPEC.replace("max_change = 500.0", "max_change = -1"), None, "'max_change' is -1; it must be at least 0"),
    ],
)
def test_a_regression_spec_that_does_not_fit_is_an_error_naming_the_fix(tmp_path, house_schema, text, task, message):
    path = tmp_path / "houses.behaviour.toml"
    path.write_text(text)
    with pytest.raises(BehaviourSpecError, match=message) as caught:
        behaviour_spec.read_spec(path, house_schema, task)
    assert str(path) in str(caught.value)
