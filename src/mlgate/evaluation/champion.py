"""The champion comparison for classifiers: paired correctness and a proper score, together.

Why both: paired correctness is blind on a small holdout. On breast cancer's 105-row stable
holdout a depth-1 stump loses 6 rows to the forest champion and wins 1; no exact test can call
that worse at 5 % (McNemar p = 0.0625), while the stump's per-row log loss is worse by 0.21 nats
(p = 0.0003). So the gate refuses when either paired decision shows the candidate worse beyond
its margin, and Holm's step-down (statsmodels multipletests) keeps the chance that an equally
good candidate is refused by either at most `alpha`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from statsmodels.stats.multitest import multipletests

from mlgate.evaluation.paired import ClassifierRows, Decision, non_inferiority


@dataclass(frozen=True)
class ChampionVerdict:
    """Both paired decisions (p-values Holm-adjusted) and the gate's verdict."""

    decisions: tuple[Decision, ...]
    refused: bool

    def explain(self) -> str:
        lines = [d.explain() for d in self.decisions]
        head = "refused" if self.refused else "passes"
        return f"champion comparison {head} (Holm-adjusted p-values):\n  " + "\n  ".join(lines)


def compare_to_champion(
    candidate: ClassifierRows,
    champion: ClassifierRows,
    accuracy_margin: float,
    score_margin: float,
    alpha: float,
    proper_score: str = "log_loss",
) -> ChampionVerdict:
    """Refuse when accuracy or the proper score shows the candidate worse beyond its margin.

    `accuracy_margin` is in accuracy points (champion_tolerance), `score_margin` in the proper
    score's units per row (nats for log loss); `proper_score` is "log_loss" or "brier".
    """
    raw = (
        non_inferiority(candidate.correctness, champion.correctness, accuracy_margin, alpha,
                        "correctness"),
        non_inferiority(getattr(candidate, proper_score), getattr(champion, proper_score),
                        score_margin, alpha, proper_score),
    )
    rejected, adjusted, _, _ = multipletests([d.p_value for d in raw], alpha=alpha, method="holm")
    decisions = tuple(
        replace(d, p_value=float(p), refused=bool(r), test=d.test + ", Holm-adjusted")
        for d, p, r in zip(raw, adjusted, rejected, strict=True)
    )
    return ChampionVerdict(decisions=decisions, refused=any(d.refused for d in decisions))
