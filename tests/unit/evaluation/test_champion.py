"""The champion comparison: a stump is refused, a reseeded forest is not (issue #21)."""

from __future__ import annotations

import pytest
from sklearn.ensemble import RandomForestClassifier
from sklearn.tree import DecisionTreeClassifier

from mlgate.evaluation.champion import compare_to_champion
from mlgate.evaluation.paired import classifier_rows


@pytest.fixture(scope="module")
def fit_rows(cancer_split):
    """Fits a model on breast cancer's stable 80 % and scores it per row on the 20 % holdout."""
    x_train, y_train, x, y = cancer_split

    def fit(model):
        model.fit(x_train, y_train)
        return classifier_rows(y, model.predict(x), model.predict_proba(x), model.classes_)

    return fit


@pytest.fixture(scope="module")
def champion(fit_rows):
    """The default pipeline's estimator, as the champion every candidate is compared with."""
    return fit_rows(RandomForestClassifier(random_state=42))


def test_refuses_a_stump_against_the_forest_champion(fit_rows, champion) -> None:
    stump = fit_rows(DecisionTreeClassifier(max_depth=1, random_state=0))
    verdict = compare_to_champion(stump, champion, 0.01, 0.02, 0.05)
    assert verdict.refused, verdict.explain()
    accuracy, brier, log_loss = verdict.decisions
    assert brier.refused and log_loss.refused and not accuracy.refused
    assert "Brier score" in verdict.explain() and "refused" in verdict.explain()


def test_refuses_a_stump_with_log_loss_as_the_proper_score(fit_rows, champion) -> None:
    stump = fit_rows(DecisionTreeClassifier(max_depth=1, random_state=0))
    verdict = compare_to_champion(stump, champion, 0.01, 0.02, 0.05, proper_scores=("log_loss",))
    assert verdict.refused, verdict.explain()


@pytest.mark.parametrize("seed", [0, 7, 2024])
@pytest.mark.parametrize("score", [("brier",), ("log_loss",), ("brier", "log_loss")])
def test_passes_a_forest_with_another_seed(fit_rows, champion, seed: int, score: tuple) -> None:
    verdict = compare_to_champion(fit_rows(RandomForestClassifier(random_state=seed)), champion,
                                  0.01, 0.02, 0.05, proper_scores=score)
    assert not verdict.refused, verdict.explain()


def test_holm_adjusts_both_p_values_upwards(fit_rows, champion) -> None:
    stump = fit_rows(DecisionTreeClassifier(max_depth=1, random_state=0))
    verdict = compare_to_champion(stump, champion, 0.01, 0.02, 0.05)
    accuracy, brier, log_loss = verdict.decisions
    assert accuracy.p_value >= 0.0625 and brier.p_value < 0.05 and log_loss.p_value < 0.05
    assert all("Holm" in d.test for d in verdict.decisions)
