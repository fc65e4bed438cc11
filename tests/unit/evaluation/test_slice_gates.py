"""The shipped slice gates, called as a session calls them, on the loans holdouts of tests/support/loans.py.

The gate functions read a `SliceLosses`, the settings and the findings; here they get them
directly, so each verdict (and what it leaves for the report) is checked without a session.
The equal-model trials are a few seeds; the full false-alarm rate is in benchmarks/slices.py.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from mlgate.gates.model.slices import test_declared_slices_hold as declared_gate
from mlgate.gates.model.slices import test_no_discovered_slice_regressed_against_the_champion as discovered_gate
from mlgate.plugin.candidate import Findings
from mlgate.plugin.slice_fixtures import SliceLosses
from mlgate.settings import Settings
from tests.support.loans import equally_good

EQUAL_SEEDS = (10, 11, 12, 13)


@dataclasses.dataclass(frozen=True)
class FakeChampion:
    """Only what the gates read of mlgate.tracking.Champion: its version and how messages name it."""

    version: str = "1"
    shown: str = "version 1"


def losses(holdout, with_champion: bool = True) -> SliceLosses:
    champion = holdout.champion_losses if with_champion else None
    return SliceLosses(holdout.features, holdout.candidate_losses, champion, "error",
                       FakeChampion() if with_champion else None)


def run(gate, slice_losses: SliceLosses, settings: Settings) -> tuple[Findings, list]:
    findings, recorded = Findings(), []
    gate(slice_losses, settings, findings, lambda value, threshold=None: recorded.append(value))
    return findings, recorded


@pytest.mark.parametrize("seed", EQUAL_SEEDS)
def test_an_equally_good_candidate_passes_both_slice_gates(seed):
    holdout = equally_good(rows=30_000, seed=seed)
    settings = Settings(slices=({"column": "channel"}, {"columns": ["region", "channel"]},
                                {"column": "income", "bins": [0, 20000, 40000, float("inf")]}))
    findings, recorded = run(discovered_gate, losses(holdout), settings)
    assert recorded == [0] and findings.slices["discovered"]["red"] == []
    findings, recorded = run(declared_gate, losses(holdout), settings)
    assert recorded == [0]
    assert {row["status"] for row in findings.slices["declared"]} <= {"ok", "too few rows"}


def test_refuses_the_phone_regression_with_every_red_slice_in_one_line(phone_holdout):
    with pytest.raises(pytest.fail.Exception) as failed:
        run(discovered_gate, losses(phone_holdout), Settings())
    message = str(failed.value)
    assert message.startswith("1 slice(s) regressed against champion version 1 beyond slice_tolerance 0.02")
    (line,) = message.splitlines()[1:]
    assert line.startswith("channel = phone: ") and "rows, champion 0." in line and "p=" in line


def test_a_first_champion_reports_its_weakest_segments_and_passes(phone_holdout):
    findings, recorded = run(discovered_gate, losses(phone_holdout, with_champion=False), Settings())
    assert recorded == ["first champion"]
    assert findings.slices["weakest"] and "discovered" not in findings.slices
    assert findings.slices["champion_version"] is None


def test_a_declared_slice_with_too_few_rows_is_reported_so_and_does_not_fail(phone_holdout):
    settings = Settings(slices=({"where": {"channel": "phone", "region": "north"}, "name": "north phone"},))
    findings, recorded = run(declared_gate, losses(phone_holdout), settings)
    (row,) = findings.slices["declared"]
    assert row["status"] == "too few rows" and row["line"].startswith("north phone: too few rows (n = ")
    assert recorded == [0]


def test_a_declared_slice_that_matches_no_row_fails_naming_it(phone_holdout):
    settings = Settings(slices=({"where": {"channel": "Phone"}},))
    with pytest.raises(pytest.fail.Exception, match="channel = Phone: matched no holdout row"):
        run(declared_gate, losses(phone_holdout), settings)


def test_a_declared_slice_below_its_minimum_or_worse_than_the_champion_fails(phone_holdout):
    settings = Settings(slice_min_rows=20, slices=({"column": "channel", "min_accuracy": 0.75},))
    with pytest.raises(pytest.fail.Exception) as failed:
        run(declared_gate, losses(phone_holdout), settings)
    (line,) = [text for text in str(failed.value).splitlines() if text.startswith("channel = phone")]
    assert "champion 0." in line and "below its minimum accuracy 0.75" in line


def test_a_declared_slice_on_a_column_the_holdout_lacks_fails_in_one_message(phone_holdout):
    settings = Settings(slices=({"column": "branch_code"},))
    with pytest.raises(pytest.fail.Exception, match="no column \\['branch_code'\\] in the holdout"):
        run(declared_gate, losses(phone_holdout), settings)


def test_a_regressor_is_judged_on_squared_errors_with_the_tolerance_a_share_of_the_champions_mse(phone_holdout):
    rng = np.random.default_rng(0)
    champion = rng.normal(0, 30.0, len(phone_holdout.features)) ** 2  # a target in the thousands: MSE ~900
    phone = (phone_holdout.features["channel"] == "phone").to_numpy()
    equal = SliceLosses(phone_holdout.features, champion * rng.uniform(0.9, 1.1, len(champion)), champion,
                        "squared error", FakeChampion())
    findings, recorded = run(discovered_gate, equal, Settings())
    assert recorded == [0] and findings.slices["tolerance"] == pytest.approx(0.02 * champion.mean())
    worse = SliceLosses(phone_holdout.features, np.where(phone, champion * 4, champion), champion,
                        "squared error", FakeChampion())
    with pytest.raises(pytest.fail.Exception, match=r"channel = phone: \d+ rows, champion [\d.]+ -> candidate"):
        run(discovered_gate, worse, Settings())
