"""The stable holdout: rows keep their side as data grows; tiny and stratified data still split."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlgate.evaluation.split import (
    SplitDefinition,
    SplitError,
    holdout_for_champion,
    row_positions,
    stable_split,
)


def _holdout_ids(frame: pd.DataFrame, ids: pd.Series) -> set:
    return set(ids[stable_split(frame, "target", 0.2).holdout])


def test_appending_a_fifth_more_rows_moves_no_existing_row(cancer: pd.DataFrame) -> None:
    cut = int(len(cancer) * 0.8)
    before, after = cancer.iloc[:cut], cancer
    ids = pd.Series(np.arange(len(cancer)))
    old = stable_split(before, "target", 0.2)
    new = stable_split(after, "target", 0.2)
    moved = int((old.holdout != new.holdout[:cut]).sum())
    assert moved == 0
    # The claim of issue #21, counted: no row of the new holdout was in the old training split.
    old_train = set(ids[:cut][~old.holdout])
    assert len(old_train & set(ids[new.holdout])) == 0
    assert new.forced == 0


def test_a_seeded_shuffle_would_have_moved_rows(cancer: pd.DataFrame) -> None:
    """The contrast that makes the test above able to fail: sklearn's split reshuffles."""
    from sklearn.model_selection import train_test_split

    cut = int(len(cancer) * 0.8)
    _, old = train_test_split(np.arange(cut), test_size=0.2, random_state=42)
    _, new = train_test_split(np.arange(len(cancer)), test_size=0.2, random_state=42)
    assert len(set(new) - set(old) - set(range(cut, len(cancer)))) > 20


def test_appending_rows_with_a_gap_keeps_every_side(cancer: pd.DataFrame) -> None:
    """A missing value turns an int column into floats; the canonical form keeps hashes."""
    frame = cancer.head(200).assign(count=np.arange(200))
    grown = pd.concat([frame, frame.tail(1).assign(count=np.nan)], ignore_index=True)
    assert grown["count"].dtype == np.float64
    np.testing.assert_array_equal(
        stable_split(frame, "target", 0.2).holdout, stable_split(grown, "target", 0.2).holdout[:200]
    )


def test_duplicate_rows_land_on_the_same_side(cancer: pd.DataFrame) -> None:
    doubled = pd.concat([cancer, cancer], ignore_index=True)
    holdout = stable_split(doubled, "target", 0.2).holdout
    np.testing.assert_array_equal(holdout[: len(cancer)], holdout[len(cancer) :])


def test_class_shares_in_the_holdout_follow_the_data(cancer: pd.DataFrame) -> None:
    split = stable_split(cancer, "target", 0.2)
    holdout = cancer["target"][split.holdout]
    assert abs(len(holdout) / len(cancer) - 0.2) < 0.03
    for label, share in cancer["target"].value_counts(normalize=True).items():
        assert abs((holdout == label).mean() - share) < 0.05, label
        assert abs((holdout == label).sum() / (cancer["target"] == label).sum() - 0.2) < 0.05


def test_twelve_rows_of_three_classes_give_each_class_both_sides() -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=12), "target": ["a", "b", "c"] * 4})
    split = stable_split(frame, "target", 0.2)
    for label in "abc":
        sides = split.holdout[frame["target"].to_numpy() == label]
        assert sides.any() and not sides.all(), label


def test_a_class_of_one_row_stays_in_training_and_others_still_split() -> None:
    frame = pd.DataFrame({"x": np.arange(9.0), "target": [0] * 4 + [1] * 4 + [2]})
    split = stable_split(frame, "target", 0.2)
    assert not split.holdout[8]
    for label in (0, 1):
        sides = split.holdout[frame["target"].to_numpy() == label]
        assert sides.any() and not sides.all()


def test_a_few_dozen_rows_split_near_the_fraction(cancer: pd.DataFrame) -> None:
    small = cancer.head(36)
    split = stable_split(small, "target", 0.2)
    assert 3 <= split.holdout.sum() <= 12


def test_key_column_decides_the_side_whatever_else_changes() -> None:
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(
        {"customer": np.repeat(np.arange(60), 3), "x": rng.normal(size=180), "target": 0}
    )
    frame.loc[::2, "target"] = 1
    split = stable_split(frame, "target", 0.25, key="customer", stratify=False)
    by_customer = pd.Series(split.holdout).groupby(frame["customer"]).nunique()
    assert (by_customer == 1).all()
    edited = frame.assign(x=frame["x"] + 1)
    assert (stable_split(edited, "target", 0.25, key="customer", stratify=False).holdout
            == split.holdout).all()
    assert split.definition.describe() == "hash:key:customer;fraction=0.25;stratify=none;v1"


def test_content_mode_moves_a_row_whose_content_changes(cancer: pd.DataFrame) -> None:
    """Content hashing is the row's identity; the key mode above exists for editable rows."""
    u = row_positions(cancer.head(50))
    edited = cancer.head(50).copy()
    edited.iloc[:, 0] += 1
    assert (row_positions(edited) != u).all()


def test_numeric_target_splits_without_strata() -> None:
    frame = pd.DataFrame({"x": np.arange(100.0), "target": np.linspace(0, 1, 100)})
    split = stable_split(frame, "target", 0.2)
    assert not split.definition.stratify
    assert 8 <= split.holdout.sum() <= 35


def test_definition_round_trips_and_compares() -> None:
    definition = SplitDefinition(fraction=0.2)
    assert definition.describe() == "hash:content;fraction=0.2;stratify=class;v1"
    assert SplitDefinition.parse(definition.describe()) == definition
    assert SplitDefinition.parse("hash:key:id;fraction=0.3;stratify=none;v1") != definition


@pytest.mark.parametrize(
    ("call", "words"),
    [
        (lambda f: stable_split(f, "label", 0.2), "target column 'label'"),
        (lambda f: stable_split(f, "target", 1.5), "strictly between 0 and 1"),
        (lambda f: stable_split(f, "target", 0.2, key="id"), "split key column 'id'"),
        (lambda f: SplitDefinition.parse("seeded:42"), "not a split definition"),
    ],
)
def test_bad_input_gets_one_clear_message(cancer: pd.DataFrame, call, words: str) -> None:
    with pytest.raises(SplitError, match=words):
        call(cancer)


def test_a_champion_under_the_same_split_is_compared_on_every_holdout_row(cancer) -> None:
    split = stable_split(cancer, "target", 0.2)
    same = holdout_for_champion(cancer, "target", split, split.definition.describe())
    assert same.excluded == 0 and len(same.rows) == split.holdout.sum()


def test_rows_a_champion_trained_on_under_another_split_are_left_out(cancer) -> None:
    split = stable_split(cancer, "target", 0.3)
    champion = stable_split(cancer, "target", 0.2)
    other = holdout_for_champion(cancer, "target", split, champion.definition.describe())
    assert other.excluded > 0
    assert champion.holdout[other.rows].all()
    assert f"{other.excluded} of {split.holdout.sum()} holdout rows" in other.note


def test_a_champion_from_a_seeded_split_is_named_and_all_rows_kept(cancer) -> None:
    split = stable_split(cancer, "target", 0.2)
    legacy = holdout_for_champion(cancer, "target", split, None)
    assert legacy.excluded == 0 and "not recorded" in legacy.note
