"""Segments: how columns become codes, and that the bincount table counts what masks count."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlgate.evaluation.segments import describe_segment, encode_column, encode_frame
from mlgate.evaluation.segments import segment_mask, segment_table


@pytest.mark.parametrize(
    ("column", "bins", "names", "counts"),
    [
        pytest.param(
            pd.Series(np.arange(1000, dtype=float) * 10, name="income"),
            4,
            ["income < 2500", "income in [2500, 5000)", "income in [5000, 7490)", "income >= 7490"],
            [250, 250, 249, 251],
            id="a_numeric_column_is_cut_in_quantile_bins_shown_as_half_open_intervals",
        ),
        pytest.param(
            pd.Series(["branch"] * 60 + ["online"] * 40 + ["fax"] * 3 + ["telex"] * 2 + [None] * 25, name="channel"),
            5,
            ["channel = branch", "channel = online", "channel in {fax, telex}", "channel is missing"],
            [60, 40, 5, 25],
            id="rare_categories_are_merged_into_one_segment_and_missing_kept_apart",
        ),
    ],
)
def test_a_column_becomes_named_segments_counting_their_rows(column, bins, names, counts):
    encoded = encode_column(column, bins=bins, min_rows=20)
    assert [condition.describe() for condition in encoded.conditions] == names
    assert np.bincount(encoded.codes).tolist() == counts


def test_missing_values_are_a_segment_of_their_own():
    income = pd.Series([np.nan] * 30 + list(range(300)), name="income", dtype=float)
    encoded = encode_column(income, bins=3, min_rows=20)
    assert encoded.conditions[-1].describe() == "income is missing"
    assert (encoded.codes == len(encoded.conditions) - 1).sum() == 30
    assert segment_mask(pd.DataFrame({"income": income}), (encoded.conditions[-1],)).sum() == 30


def test_a_numeric_column_with_few_values_is_split_by_value():
    children = pd.Series([0, 1, 2] * 50, name="children")
    encoded = encode_column(children, bins=5, min_rows=10)
    assert [c.describe() for c in encoded.conditions] == ["children = 0", "children = 1",
                                                         "children = 2"]


def test_the_table_counts_every_segment_and_pair_as_boolean_masks_would():
    rng = np.random.default_rng(7)
    frame = pd.DataFrame({"region": rng.choice(list("abcd"), 500),
                          "income": rng.normal(size=500), "flag": rng.random(500) < 0.3})
    frame.loc[rng.random(500) < 0.1, "income"] = np.nan
    values = rng.normal(size=500)
    used = rng.random(500) < 0.5
    table = segment_table(encode_frame(frame, bins=4, min_rows=10), values, used)
    assert len(table.rows) > 40
    for k in range(len(table.rows)):
        mask = segment_mask(frame, table.conditions(k)) & used
        assert table.rows[k] == mask.sum(), describe_segment(table.conditions(k))
        assert np.isclose(table.sums[k], values[mask].sum())
        assert np.array_equal(table.mask(k) & used, mask)
