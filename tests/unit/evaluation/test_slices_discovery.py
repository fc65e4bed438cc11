"""Discovered slices: the search names a real regression and stays quiet on equal models."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlgate.evaluation.declared_slices import parse_declared_slices
from mlgate.evaluation.declared_verdicts import judge_declared_slices
from mlgate.evaluation.slices import discover_regressions, pin
from mlgate.evaluation.weak_segments import weakest_segments

SETTINGS = {"min_rows": 50, "tolerance": 0.02, "alpha": 0.05}


def test_names_channel_phone_while_overall_accuracy_moves_less_than_a_point(phone_holdout):
    holdout = phone_holdout
    overall_change = holdout.candidate_losses.mean() - holdout.champion_losses.mean()
    assert abs(overall_change) < 0.01
    found = discover_regressions(holdout.features, holdout.candidate_losses,
                                 holdout.champion_losses, **SETTINGS)
    assert [finding.name for finding in found.red] == ["channel = phone"]
    line = found.lines()[0]
    assert line.startswith("channel = phone: ") and "-> candidate" in line
    assert "sign test" in line and "BH-adjusted" in line
    assert found.red[0].candidate.value < found.red[0].champion.value - 0.2


def test_the_same_losses_without_the_phone_damage_confirm_nothing(phone_holdout):
    """The red finding comes from the phone rows, not from the search itself."""
    holdout = phone_holdout
    phone = (holdout.features["channel"] == "phone").to_numpy()
    repaired = np.where(phone, holdout.champion_losses, holdout.candidate_losses)
    found = discover_regressions(holdout.features, repaired, holdout.champion_losses, **SETTINGS)
    assert found.red == []


def test_two_equally_good_models_yield_no_confirmed_slice(equal_holdout):
    holdout = equal_holdout
    found = discover_regressions(holdout.features, holdout.candidate_losses,
                                 holdout.champion_losses, **SETTINGS)
    assert found.findings, "the search should still have tested its top segments"
    assert found.red == []


def test_a_pinned_finding_becomes_a_declared_slice_that_catches_it_again(phone_holdout):
    holdout = phone_holdout
    found = discover_regressions(holdout.features, holdout.candidate_losses,
                                 holdout.champion_losses, **SETTINGS)
    entry = pin(found.red[0])
    assert entry == {"name": "channel = phone", "where": {"channel": "phone"}}
    verdicts = judge_declared_slices(parse_declared_slices([entry]), holdout.features,
                                     holdout.candidate_losses, holdout.champion_losses, **SETTINGS)
    assert [(v.name, v.status) for v in verdicts] == [("channel = phone", "red")]


def test_pinned_ranges_and_missing_values_are_plain_toml_values():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"income": rng.normal(50, 10, 4000)})
    frame.loc[:399, "income"] = np.nan
    champion = (rng.random(4000) < 0.1).astype(float)
    candidate = champion.copy()
    candidate[:400] = 1.0  # the candidate fails every row with a missing income
    found = discover_regressions(frame, candidate, champion, **SETTINGS)
    assert [pin(finding) for finding in found.red] == [
        {"name": "income is missing", "where": {"income": {"missing": True}}}]


def test_squared_error_of_a_regressor_is_searched_with_a_t_test():
    rng = np.random.default_rng(1)
    rows = 6000
    frame = pd.DataFrame({"district": rng.choice(["a", "b", "c", "d"], rows),
                          "area": rng.uniform(20, 200, rows)})
    truth = frame["area"].to_numpy() * 3 + rng.normal(0, 10, rows)
    champion = (truth - frame["area"].to_numpy() * 3) ** 2
    shifted = np.where((frame["district"] == "d") & (frame["area"] > 150), 15.0, 0.0)
    candidate = (truth - frame["area"].to_numpy() * 3 - shifted) ** 2
    found = discover_regressions(frame, candidate, champion, min_rows=50, tolerance=5.0,
                                 alpha=0.05, loss_name="squared error")
    names = [finding.name for finding in found.red]
    assert any(name.startswith("district = d") for name in names)
    assert not any(f"district = {other}" in name for name in names for other in "abc")
    assert "paired t-test" in found.lines()[0] and "squared error" in found.lines()[0]


def test_a_first_champion_gets_its_weakest_segments_reported(phone_holdout):
    weak = weakest_segments(phone_holdout.features, phone_holdout.candidate_losses,
                            min_rows=50, alpha=0.05)
    assert weak and len(weak) <= 5
    overall = 1 - phone_holdout.candidate_losses.mean()
    assert all(segment.value.value < overall for segment in weak)
    assert "not gated" in weak[0].describe()
    names = [segment.describe() for segment in weak]
    assert any(name.startswith(("channel = phone", "income is missing")) for name in names)


@pytest.mark.parametrize(("settings", "message"), [
    ({"min_rows": 2, "tolerance": 0.0, "alpha": 0.05}, "min_rows is 2"),
    ({"min_rows": 50, "tolerance": -0.1, "alpha": 0.05}, "tolerance is -0.1"),
    ({"min_rows": 50, "tolerance": 0.0, "alpha": 1.5}, "alpha is 1.5"),
])
def test_bad_settings_get_one_message_naming_them(settings, message):
    frame = pd.DataFrame({"x": ["a", "b"] * 50})
    with pytest.raises(ValueError, match=message):
        discover_regressions(frame, np.zeros(100), np.zeros(100), **settings)


def test_losses_of_the_wrong_length_are_refused_with_the_row_count():
    frame = pd.DataFrame({"x": ["a", "b"] * 50})
    with pytest.raises(ValueError, match=r"one loss per holdout row \(100\)"):
        discover_regressions(frame, np.zeros(99), np.zeros(100), **SETTINGS)


def test_a_regression_only_in_a_conjunction_is_named_by_the_conjunction():
    rng = np.random.default_rng(5)
    rows = 8000
    frame = pd.DataFrame({"region": rng.choice(["north", "south", "east", "west", "centre"], rows),
                          "channel": rng.choice(["branch", "online"], rows)})
    champion = (rng.random(rows) < 0.15).astype(float)
    candidate = champion.copy()
    damaged = ((frame["region"] == "north") & (frame["channel"] == "online")).to_numpy()
    flips = damaged & (champion == 0) & (rng.random(rows) < 0.3)
    candidate[flips] = 1.0
    found = discover_regressions(frame, candidate, champion, **SETTINGS)
    assert [finding.name for finding in found.red] == ["region = north & channel = online"]
    assert {finding.name for finding in found.confirmed} >= {"region = north & channel = online"}


def test_a_shuffled_index_and_category_dtype_change_nothing(phone_holdout):
    holdout = phone_holdout
    shuffled = holdout.features.copy()
    shuffled.index = np.random.default_rng(0).permutation(len(shuffled)) + 10_000
    shuffled["channel"] = shuffled["channel"].astype("category")
    found = discover_regressions(shuffled, holdout.candidate_losses, holdout.champion_losses,
                                 **SETTINGS)
    assert [finding.name for finding in found.red] == ["channel = phone"]
