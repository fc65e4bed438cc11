"""The champion comparison for classifiers: paired correctness and paired Brier score, together.

Why both: paired correctness is blind on a small holdout. On breast cancer's 105-row stable
holdout a depth-1 stump loses 6 rows to the forest champion and wins 1; no exact test can call
that worse at 5 % (McNemar p = 0.0625), while its probabilities are clearly worse. So the gate
also compares a proper score per row, and refuses when either paired decision shows the
candidate worse beyond its margin, Holm-adjusted (verdict.py) so that an equally good candidate
is refused at most `alpha` of the time.

Why Brier by default, not log loss: a forest's probabilities are vote shares, so a confident
miss has probability 0 and a clipped log loss of 34.5 nats; a few such rows swamp the paired
t-test. Brier per row is bounded (0..2). In benchmarks/evidence_tests.py (40 trials, 114-row
breast cancer holdout) accuracy + Brier refused a stump in 98 % and a forest on 20 % flipped
labels in 100 % of trials, accuracy + log loss in 92 % and 75 %, and neither refused a reseeded
forest or a data refresh.
"""

from __future__ import annotations

from mlgate.evaluation.paired import ClassifierRows, non_inferiority
from mlgate.evaluation.verdict import Verdict, holm

PROPER_SCORES = ("brier", "log_loss")


def compare_to_champion(
    candidate: ClassifierRows,
    champion: ClassifierRows,
    accuracy_margin: float,
    score_margin: float,
    alpha: float,
    proper_scores: tuple[str, ...] = ("brier",),
) -> Verdict:
    """Refuse when accuracy or a proper score shows the candidate worse beyond its margin.

    `accuracy_margin` is in accuracy points (champion_tolerance), `score_margin` in each proper
    score's units per row (Brier summed over classes, or nats for log loss).
    """
    unknown = set(proper_scores) - set(PROPER_SCORES)
    if unknown:
        raise ValueError(f"proper scores {sorted(unknown)} are not among {PROPER_SCORES}")
    decisions = (
        non_inferiority(candidate.correctness, champion.correctness, accuracy_margin, alpha,
                        "correctness"),
        *(non_inferiority(getattr(candidate, score), getattr(champion, score), score_margin,
                          alpha, score) for score in proper_scores),
    )
    return holm("champion comparison", decisions, alpha)
