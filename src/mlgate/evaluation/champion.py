"""The champion comparison for classifiers: paired correctness and a proper score, together.

Why both: paired correctness is blind on a small holdout. On breast cancer's 105-row stable
holdout a depth-1 stump loses 6 rows to the forest champion and wins 1; no exact test can call
that worse at 5 % (McNemar p = 0.0625), while the stump's per-row log loss is worse by 0.21 nats
(p = 0.0003). So the gate refuses when either paired decision shows the candidate worse beyond
its margin, Holm-adjusted (verdict.py) so an equally good candidate is refused at most `alpha`.
"""

from __future__ import annotations

from mlgate.evaluation.paired import ClassifierRows, non_inferiority
from mlgate.evaluation.verdict import Verdict, holm


def compare_to_champion(
    candidate: ClassifierRows,
    champion: ClassifierRows,
    accuracy_margin: float,
    score_margin: float,
    alpha: float,
    proper_score: str = "log_loss",
) -> Verdict:
    """Refuse when accuracy or the proper score shows the candidate worse beyond its margin.

    `accuracy_margin` is in accuracy points (champion_tolerance), `score_margin` in the proper
    score's units per row (nats for log loss); `proper_score` is "log_loss" or "brier".
    """
    decisions = (
        non_inferiority(candidate.correctness, champion.correctness, accuracy_margin, alpha,
                        "correctness"),
        non_inferiority(getattr(candidate, proper_score), getattr(champion, proper_score),
                        score_margin, alpha, proper_score),
    )
    return holm("champion comparison", decisions, alpha)
