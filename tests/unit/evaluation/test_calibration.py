"""Calibration: ECE and the reliability diagram as evidence, the calibration gate as a decision."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import RandomForestClassifier

from mlgate.evaluation import intervals
from mlgate.evaluation.calibration import (
    calibration_decision,
    expected_calibration_error,
    overconfidence,
    prior_rows,
    reliability,
    write_reliability_diagram,
)
from mlgate.evaluation.paired import classifier_rows


@pytest.fixture(scope="module")
def holdout_scores(cancer_split):
    """Fits a model on breast cancer's stable 80 % and returns (proba, labels, rows, classes)."""
    x_train, y_train, x_test, y_test = cancer_split
    y = y_test.to_numpy()

    def score(model):
        model.fit(x_train, y_train)
        proba = model.predict_proba(x_test)
        labels = model.classes_[proba.argmax(axis=1)]
        return proba, labels, classifier_rows(y, labels, proba, model.classes_), model.classes_

    score.y, score.y_train = y, y_train.to_numpy()
    return score


@pytest.fixture(scope="module")
def champion(holdout_scores):
    """The default estimator as champion: the model a sharpened copy is compared with."""
    return holdout_scores(RandomForestClassifier(random_state=42))


def _sharpened(proba: np.ndarray, power: float = 10) -> np.ndarray:
    """The same argmax, probabilities pushed toward 0 and 1."""
    sharp = proba**power
    return sharp / sharp.sum(axis=1, keepdims=True)


def test_sharpened_probabilities_are_refused_while_every_threshold_passes(
    holdout_scores, champion
) -> None:
    proba, labels, champion_rows, classes = champion
    y = holdout_scores.y
    sharp = _sharpened(proba)
    assert (classes[sharp.argmax(axis=1)] == labels).all()
    candidate = classifier_rows(y, labels, sharp, classes)
    assert candidate.log_loss.mean() > champion_rows.log_loss.mean()
    baseline = prior_rows(holdout_scores.y_train, y, classes)
    verdict = calibration_decision(y, sharp, classes, candidate, champion_rows, baseline,
                                   0.02, 0.05)
    assert verdict.refused, verdict.explain()
    assert "top-label error rate" in verdict.explain()
    checks = [
        intervals.accuracy_check(y, labels, 0.90),
        intervals.macro_f1_check(y, labels, 0.90),
        intervals.roc_auc_check(y, sharp, classes, 0.95),
        *intervals.class_recall_checks(y, labels, 0.85),
    ]
    assert [c.decision for c in checks] == ["pass"] * len(checks), [c.why for c in checks]


def test_a_reseeded_forest_passes_the_calibration_gate(holdout_scores, champion) -> None:
    proba, _, candidate, classes = holdout_scores(RandomForestClassifier(random_state=7))
    baseline = prior_rows(holdout_scores.y_train, holdout_scores.y, classes)
    verdict = calibration_decision(holdout_scores.y, proba, classes, candidate, champion[2],
                                   baseline, 0.02, 0.05)
    assert not verdict.refused, verdict.explain()


def test_a_first_champion_must_beat_the_class_shares(holdout_scores, champion) -> None:
    proba, _, rows, classes = champion
    baseline = prior_rows(holdout_scores.y_train, holdout_scores.y, classes)
    verdict = calibration_decision(holdout_scores.y, proba, classes, rows, None, baseline,
                                   0.02, 0.05)
    assert not verdict.refused, verdict.explain()
    assert "better than the class-share baseline" in verdict.explain()


def test_a_first_champion_that_predicts_the_class_shares_is_refused(holdout_scores) -> None:
    proba, _, rows, classes = holdout_scores(DummyClassifier(strategy="prior"))
    baseline = prior_rows(holdout_scores.y_train, holdout_scores.y, classes)
    verdict = calibration_decision(holdout_scores.y, proba, classes, rows, None, baseline,
                                   0.02, 0.05)
    assert verdict.refused
    assert "do not show it better" in verdict.explain()


def test_a_calibrated_model_is_not_called_overconfident() -> None:
    rng = np.random.default_rng(0)
    p1 = rng.uniform(0, 1, 5000)
    y = (rng.uniform(size=5000) < p1).astype(int)
    proba = np.column_stack([1 - p1, p1])
    assert not overconfidence(y, proba, np.array([0, 1]), 0.05).refused
    assert expected_calibration_error(y, proba, np.array([0, 1])) < 0.03
    assert overconfidence(y, _sharpened(proba, 4), np.array([0, 1]), 0.05).refused


def test_ece_is_the_weighted_gap_of_top_label_bins() -> None:
    # Two rows at confidence 0.95 (one right), two at 0.65 (both right): bins 10 and 7.
    proba = np.array([[0.95, 0.05], [0.95, 0.05], [0.35, 0.65], [0.35, 0.65]])
    y = np.array([0, 1, 1, 1])
    bins = reliability(y, proba, np.array([0, 1]))
    np.testing.assert_allclose(bins.confidence, [0.65, 0.95])
    np.testing.assert_allclose(bins.accuracy, [1.0, 0.5])
    assert bins.ece == pytest.approx(0.5 * 0.35 + 0.5 * 0.45)


def test_the_reliability_diagram_is_written(tmp_path, champion, holdout_scores) -> None:
    proba, _, _, classes = champion
    curves = {
        "champion": reliability(holdout_scores.y, proba, classes),
        "sharpened": reliability(holdout_scores.y, _sharpened(proba), classes),
    }
    path = write_reliability_diagram(tmp_path / "calibration" / "reliability.png", curves)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
