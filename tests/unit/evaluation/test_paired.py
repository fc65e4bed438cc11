"""The paired comparison engine: per-row outcomes and the non-inferiority decision."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import brier_score_loss, log_loss
from sklearn.tree import DecisionTreeClassifier

from mlgate.evaluation.paired import (
    ComparisonError,
    classifier_rows,
    non_inferiority,
    regressor_rows,
)


def _rows(model, cancer_split):
    x_train, y_train, x_test, y_test = cancer_split
    model.fit(x_train, y_train)
    return classifier_rows(y_test, model.predict(x_test), model.predict_proba(x_test),
                           model.classes_)


def test_row_means_are_sklearns_metrics() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    proba1 = rng.uniform(0.01, 0.99, 200)
    proba = np.column_stack([1 - proba1, proba1])
    rows = classifier_rows(y, (proba1 > 0.5).astype(int), proba, np.array([0, 1]))
    assert rows.log_loss.mean() == pytest.approx(log_loss(y, proba))
    # Binary Brier summed over both classes is twice sklearn's positive-class Brier.
    assert rows.brier.mean() == pytest.approx(2 * brier_score_loss(y, proba1))
    assert rows.correctness.mean() == pytest.approx(((proba1 > 0.5) == y).mean())


def test_probability_columns_follow_the_models_classes_order() -> None:
    y = np.array(["b", "a", "c"])
    proba = np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.2, 0.2, 0.6]])
    forward = classifier_rows(y, y, proba, np.array(["b", "a", "c"]))
    np.testing.assert_allclose(forward.log_loss, -np.log([0.7, 0.8, 0.6]))
    shuffled = classifier_rows(y, y, proba[:, [2, 0, 1]], np.array(["c", "b", "a"]))
    np.testing.assert_allclose(shuffled.log_loss, forward.log_loss)


def test_a_class_the_model_never_saw_costs_the_clipped_loss() -> None:
    rows = classifier_rows(np.array([2]), np.array([0]), np.array([[0.5, 0.5]]), np.array([0, 1]))
    assert rows.log_loss[0] == pytest.approx(-np.log(1e-15))


def test_refuses_a_candidate_that_loses_ten_rows_and_wins_one() -> None:
    champion = np.r_[np.ones(110), np.zeros(4)]
    candidate = champion.copy()
    candidate[:10], candidate[-1] = 0, 1
    decision = non_inferiority(candidate, champion, 0.01, 0.05, "correctness")
    assert decision.refused, decision.explain()
    assert decision.difference == pytest.approx(-9 / 114) and decision.high < -0.01
    assert "refused" in decision.explain()


def test_correctness_alone_cannot_refuse_the_stump_on_the_default_holdout(cancer_split) -> None:
    """Why the champion gate adds log loss (champion.py): 6 rows lost, 1 won, McNemar p 0.06."""
    champion = _rows(RandomForestClassifier(random_state=42), cancer_split)
    stump = _rows(DecisionTreeClassifier(max_depth=1, random_state=0), cancer_split)
    accuracy = non_inferiority(stump.correctness, champion.correctness, 0.01, 0.05, "correctness")
    assert not accuracy.refused and accuracy.difference < -0.04
    loss = non_inferiority(stump.log_loss, champion.log_loss, 0.02, 0.05, "log_loss")
    assert loss.refused and loss.p_value < 0.001, loss.explain()


def test_a_reseeded_forest_is_not_refused(cancer_split) -> None:
    champion = _rows(RandomForestClassifier(random_state=42), cancer_split)
    candidate = _rows(RandomForestClassifier(random_state=7), cancer_split)
    for kind in ("correctness", "log_loss", "brier"):
        decision = non_inferiority(
            getattr(candidate, kind), getattr(champion, kind), 0.01, 0.05, kind
        )
        assert not decision.refused, decision.explain()
        assert decision.low <= decision.difference <= decision.high


def test_three_lost_rows_of_114_are_not_evidence() -> None:
    """The t-test alone refuses this (p = 0.04); McNemar's exact test does not (p = 0.125)."""
    champion = np.ones(114)
    candidate = champion.copy()
    candidate[:3] = 0
    decision = non_inferiority(candidate, champion, 0.0, 0.05, "correctness")
    assert not decision.refused
    assert decision.p_value == pytest.approx(0.125)


def test_equal_outcomes_pass_and_say_nothing_differs() -> None:
    outcome = np.r_[np.ones(100), np.zeros(14)]
    decision = non_inferiority(outcome, outcome, 0.01, 0.05, "correctness")
    assert not decision.refused and decision.difference == 0
    assert decision.note == "no row differs"
    assert 0.01 < decision.detectable_drop < 0.2


def test_one_row_cannot_refuse() -> None:
    decision = non_inferiority([0.0], [1.0], 0.01, 0.05, "correctness")
    assert not decision.refused and "cannot show" in decision.explain()


def test_lower_loss_is_a_negative_difference_and_passes() -> None:
    rng = np.random.default_rng(3)
    champion = rng.exponential(0.3, 300)
    decision = non_inferiority(champion * 0.5, champion, 0.02, 0.05, "log_loss")
    assert decision.difference < 0 and not decision.refused
    worse = non_inferiority(champion * 2, champion, 0.02, 0.05, "log_loss")
    assert worse.difference > 0.02 and worse.refused and worse.low > 0.02


def test_a_clearly_worse_regressor_is_refused_and_an_equal_one_is_not() -> None:
    rng = np.random.default_rng(4)
    y = rng.normal(size=200)
    champion = regressor_rows(y, y + rng.normal(scale=0.3, size=200))
    twin = regressor_rows(y, y + rng.normal(scale=0.3, size=200))
    bad = regressor_rows(y, y + rng.normal(scale=0.8, size=200))
    for kind in ("squared_error", "absolute_error"):
        champ = getattr(champion, kind)
        assert non_inferiority(getattr(bad, kind), champ, 0.01, 0.05, kind).refused
        assert not non_inferiority(getattr(twin, kind), champ, 0.01, 0.05, kind).refused


def test_detectable_drop_shrinks_with_more_rows() -> None:
    rng = np.random.default_rng(5)
    small, large = (rng.integers(0, 2, (2, n)).astype(float) for n in (114, 2000))
    d_small = non_inferiority(small[0], small[1], 0.01, 0.05, "correctness")
    d_large = non_inferiority(large[0], large[1], 0.01, 0.05, "correctness")
    assert d_large.detectable_drop < d_small.detectable_drop


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (([1.0, 0.0], [1.0], 0.01, 0.05, "correctness"), "same rows"),
        (([1.0], [1.0], 0.01, 0.05, "accuracy"), "unknown outcome kind"),
        (([1.0], [1.0], -0.1, 0.05, "correctness"), "margin >= 0"),
    ],
)
def test_bad_comparisons_get_one_clear_message(args, words: str) -> None:
    with pytest.raises(ComparisonError, match=words):
        non_inferiority(*args)


def test_probabilities_of_the_wrong_shape_get_one_clear_message() -> None:
    with pytest.raises(ComparisonError, match="predict_proba's output and the model's classes_"):
        classifier_rows([0, 1], [0, 1], np.ones((2, 3)), np.array([0, 1]))


def test_two_rows_worse_by_the_same_amount_are_not_evidence() -> None:
    """No spread means no t statistic; the exact sign test (p = 0.25) decides instead."""
    decision = non_inferiority([1.0, 1.0], [0.0, 0.0], 0.01, 0.05, "squared_error")
    assert not decision.refused and decision.test == "exact sign test"
    many = non_inferiority(np.ones(8), np.zeros(8), 0.01, 0.05, "squared_error")
    assert many.refused and many.p_value == pytest.approx(0.5**8)
