"""The champion comparison for classifiers: paired correctness and proper scores, together.

Why not correctness alone: it is blind on a small holdout. On breast cancer's 105-row stable
holdout a depth-1 stump loses 6 rows to the forest champion and wins 1; no exact test can call
that worse at 5 % (McNemar p = 0.0625), while its probabilities are clearly worse. So the gate
also compares proper scores per row, and refuses when any paired decision shows the candidate
worse beyond its margin, Holm-adjusted (verdict.py) so that an equally good candidate is
refused at most `alpha` of the time.

Why both Brier and log loss by default: each misses what the other sees. A forest's
probabilities are vote shares, so a confident miss has probability 0 and a clipped log loss of
34.5 nats, and a few such rows swamp the paired t-test; Brier per row is bounded (0..2) but
moves little when a 3-class model's probabilities blur. benchmarks/evidence_tests.py, 40 trials
each, refusal rates (stump / 20 % flipped labels; breast cancer, 114-row holdout | wine, 36):
accuracy + log loss 92 / 75 | 100 / 100 %, accuracy + Brier 98 / 100 | 100 / 92 %, all three
98 / 100 | 100 / 100 %; a reseeded forest and a data refresh: 0 % for every combination.
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
    proper_scores: tuple[str, ...] = ("brier", "log_loss"),
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
