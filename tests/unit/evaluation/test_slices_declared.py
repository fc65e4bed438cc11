"""Declared slices: the spec's shape, its errors, and the verdict per slice."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlgate.evaluation.declared_slices import SliceSpecError, parse_declared_slices
from mlgate.evaluation.declared_verdicts import judge_declared_slices
from mlgate.evaluation.slice_stats import paired_regression_p

SETTINGS = {"min_rows": 30, "tolerance": 0.0, "alpha": 0.05}


def small_holdout() -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(2)
    rows = 1000
    frame = pd.DataFrame({"channel": rng.choice(["branch", "online"], rows),
                          "income": rng.uniform(0, 90_000, rows)})
    frame.loc[:11, "channel"] = "fax"
    champion = (rng.random(rows) < 0.15).astype(float)
    return frame, champion.copy(), champion


def test_a_declared_slice_with_too_few_rows_is_reported_as_such():
    frame, candidate, champion = small_holdout()
    specs = parse_declared_slices([{"column": "channel"}])
    verdicts = judge_declared_slices(specs, frame, candidate, champion, **SETTINGS)
    fax = [verdict for verdict in verdicts if verdict.name == "channel = fax"]
    assert [verdict.status for verdict in fax] == ["too few rows"]
    assert fax[0].describe() == "channel = fax: too few rows (n = 12 < 30), not judged"
    assert {v.status for v in verdicts if v.name != "channel = fax"} == {"ok"}


def test_a_declared_slice_that_matches_no_row_is_reported_not_dropped():
    frame, candidate, champion = small_holdout()
    specs = parse_declared_slices([{"where": {"channel": "phone"}}])
    verdicts = judge_declared_slices(specs, frame, candidate, champion, **SETTINGS)
    assert [(v.name, v.rows, v.status) for v in verdicts] == [("channel = phone", 0, "too few rows")]


def test_bins_give_half_open_slices_with_wilson_intervals_for_accuracy():
    frame, candidate, _ = small_holdout()
    specs = parse_declared_slices([{"column": "income", "bins": [0, 30_000, float("inf")]}])
    verdicts = judge_declared_slices(specs, frame, candidate, **SETTINGS)
    assert [v.name for v in verdicts] == ["income in [0, 30000)", "income >= 30000"]
    assert sum(v.rows for v in verdicts) == len(frame)
    low = verdicts[0]
    assert low.candidate.metric == "accuracy"
    assert low.candidate.low < low.candidate.value < low.candidate.high
    assert low.champion is None and low.p_value is None


def test_a_slice_below_its_minimum_accuracy_is_red_only_when_its_interval_is():
    frame, candidate, _ = small_holdout()
    candidate[frame["channel"].to_numpy() == "online"] = 1.0  # every online row wrong
    specs = parse_declared_slices([{"column": "channel", "min_accuracy": 0.8}])
    verdicts = {v.name: v for v in judge_declared_slices(specs, frame, candidate, **SETTINGS)}
    assert verdicts["channel = online"].status == "red"
    assert "below its minimum accuracy 0.8" in verdicts["channel = online"].describe()
    assert verdicts["channel = branch"].status == "ok"


def test_a_slice_worse_than_the_champion_is_red_and_an_equal_one_is_not():
    frame, candidate, champion = small_holdout()
    online = frame["channel"].to_numpy() == "online"
    candidate[online & (np.arange(len(frame)) % 3 == 0)] = 1.0
    specs = parse_declared_slices([{"columns": ["channel", "income"],
                                    "bins": {"income": [0, 45_000, float("inf")]}}])
    verdicts = {v.name: v for v in judge_declared_slices(specs, frame, candidate, champion,
                                                         **SETTINGS)}
    assert verdicts["channel = online & income in [0, 45000)"].status == "red"
    assert verdicts["channel = branch & income >= 45000"].status == "ok"
    assert "BH-adjusted over 4 declared slices" in verdicts[
        "channel = online & income >= 45000"].describe()


def test_the_sign_test_without_tolerance_is_exact_mcnemar_and_the_margin_only_raises_p():
    champion = np.array([0.0] * 10 + [1.0] * 2 + [0.0] * 88)
    candidate = np.array([1.0] * 10 + [0.0] * 2 + [0.0] * 88)
    p_exact, test = paired_regression_p(candidate, champion, 0.0, zero_one=True)
    assert test == "sign test"
    assert p_exact == pytest.approx(0.01929, abs=1e-4)  # binomtest(10, 12, 0.5, "greater")
    p_margin, _ = paired_regression_p(candidate, champion, 0.02, zero_one=True)
    assert p_exact < p_margin < 1


@pytest.mark.parametrize(("entry", "message"), [
    ({"colum": "channel"}, r"slices\[0\] .*unknown key\(s\) \['colum'\]"),
    ({"column": "channel", "where": {"channel": "x"}}, "exactly one of column, columns or where"),
    ({"column": "income", "bins": [5, 1]}, "must increase strictly"),
    ({"columns": ["a", "b", "c"]}, "columns is a list of two different names"),
    ({"where": {"income": {"from": 9, "to": 1}}}, "is not a slice condition"),
    ({"column": "channel", "min_accuracy": 80}, "between 0 and 1"),
    ("channel", "each slice is a table"),
])
def test_a_bad_entry_gets_one_message_naming_it(entry, message):
    with pytest.raises(SliceSpecError, match=message):
        parse_declared_slices([entry])


def test_a_column_missing_from_the_holdout_is_named_with_the_columns_there_are():
    frame, candidate, _ = small_holdout()
    specs = parse_declared_slices([{"column": "channel"}, {"column": "regoin"}])
    with pytest.raises(SliceSpecError, match=r"slices\[1\] .*no column \['regoin'\].*'channel'"):
        judge_declared_slices(specs, frame, candidate, **SETTINGS)


def test_a_numeric_column_without_bins_is_refused_with_an_example():
    frame, candidate, _ = small_holdout()
    with pytest.raises(SliceSpecError, match="give bins, e.g. bins = "):
        judge_declared_slices(parse_declared_slices([{"column": "income"}]), frame, candidate,
                              **SETTINGS)


def test_min_accuracy_on_a_continuous_loss_is_refused():
    frame, _, _ = small_holdout()
    losses = np.linspace(0, 2, len(frame))
    specs = parse_declared_slices([{"column": "channel", "min_accuracy": 0.8}])
    with pytest.raises(SliceSpecError, match="min_accuracy needs 0/1 losses"):
        judge_declared_slices(specs, frame, losses, **SETTINGS)


def test_max_mean_loss_judges_a_regressor_slice_by_its_t_interval():
    frame, _, _ = small_holdout()
    losses = np.where(frame["channel"].to_numpy() == "online", 9.0, 1.0) + np.linspace(0, 1, 1000)
    specs = parse_declared_slices([{"column": "channel", "max_mean_loss": 5}])
    verdicts = {v.name: v for v in judge_declared_slices(specs, frame, losses, **SETTINGS)}
    assert verdicts["channel = online"].status == "red"
    assert verdicts["channel = branch"].status == "ok"
