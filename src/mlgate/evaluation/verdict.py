"""Several paired decisions behind one gate, with Holm's step-down over their p-values.

A gate that refuses when any of its k tests refuses would refuse an equal candidate up to k
times as often; Holm's adjustment (statsmodels multipletests, method="holm") keeps the chance
that any of them refuses an equally good candidate at most `alpha`, and is never less powerful
than Bonferroni's alpha / k.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from statsmodels.stats.multitest import multipletests

from mlgate.evaluation.paired import Decision


@dataclass(frozen=True)
class Verdict:
    """A gate's decisions (p-values Holm-adjusted) and whether it refuses."""

    gate: str
    decisions: tuple[Decision, ...]
    refused: bool

    def explain(self) -> str:
        head = "refused" if self.refused else "passes"
        lines = "\n  ".join(d.explain() for d in self.decisions)
        return f"{self.gate} {head}:\n  {lines}"


def holm(gate: str, decisions: tuple[Decision, ...], alpha: float) -> Verdict:
    """Adjust the p-values of the decisions that refuse on evidence; each then refuses on p < alpha.

    A superiority decision (claim "better") refuses when it lacks evidence, so adjusting it would
    only make passing harder: it is left as it is.
    """
    on_evidence = [i for i, d in enumerate(decisions) if d.claim != "better"]
    adjusted = list(decisions)
    if len(on_evidence) > 1:
        p_values = [decisions[i].p_value for i in on_evidence]
        rejected, corrected, _, _ = multipletests(p_values, alpha=alpha, method="holm")
        for i, p, r in zip(on_evidence, corrected, rejected, strict=True):
            adjusted[i] = replace(decisions[i], p_value=float(p), refused=bool(r),
                                  test=decisions[i].test + ", Holm-adjusted")
    return Verdict(gate, tuple(adjusted), any(d.refused for d in adjusted))
