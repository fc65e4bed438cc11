"""How often the evidence-based model decisions refuse equal and clearly worse candidates.

A simulation of the decisions in mlgate.evaluation, without gate sessions (that benchmark is
`make bench-false-refusals`). Each trial gives every row a random id (as a table's key would)
and a random arrival order, splits by the id's hash (stable_split with key=), and fits the
champion, a RandomForest, on the training rows. Candidates, all compared on the same holdout:
- equal: reseeded (another random_state) and refresh (the champion trained on the first 80 % of
  arrivals only, the candidate, same configuration, on all of them: rows were appended);
- clearly worse: a depth-1 stump, the forest on 20 % flipped training labels, and the forest
  without the champion's most important feature.
Per candidate it records each decision's verdict: paired accuracy (t-test alone, McNemar alone,
both as in paired.py), paired log loss and Brier, the champion comparison (accuracy with log
loss, with Brier, or with both: "champ 3"; Holm), the calibration gate, and the old rule
(accuracy delta below -tolerance or McNemar p below alpha) for contrast.

`--synthetic` instead draws paired 0/1 outcomes on 114 rows (both right, only the candidate
right, only the champion right, both wrong) and prints how often each accuracy test refuses: at
equal accuracy, at the margin's boundary (the worst case the level must hold for), and for a
clearly worse candidate. It is why paired.py asks both the t-test and McNemar.

    PYTHONPATH=src python benchmarks/evidence_tests.py [--trials 40] [--datasets breast_cancer wine]
    PYTHONPATH=src python benchmarks/evidence_tests.py --synthetic
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict

import numpy as np
import pandas as pd
from scipy import stats
from sklearn import datasets
from sklearn.ensemble import RandomForestClassifier
from sklearn.tree import DecisionTreeClassifier

from mlgate.evaluation.calibration import calibration_decision, prior_rows
from mlgate.evaluation.champion import compare_to_champion
from mlgate.evaluation.paired import classifier_rows, non_inferiority
from mlgate.evaluation.split import stable_split

ACCURACY_MARGIN = 0.01
LOSS_MARGIN = 0.02
# Brier here is the multiclass sum over classes (0..2), as paired.py computes it.
BRIER_MARGIN = 0.02
ALPHA = 0.05
FLIPPED_SHARE = 0.2
FOREST_TREES = 50
GATES = ("acc t", "acc McN", "acc both", "log loss", "Brier", "champ LL", "champ Br",
         "champ 3", "calibration", "old rule")
SCENARIOS = ("reseeded", "refresh", "stump", "flipped", "dropped")


def _load(name: str) -> pd.DataFrame:
    return getattr(datasets, f"load_{name}")(as_frame=True).frame


def _forest(seed: int) -> RandomForestClassifier:
    # 50 trees, not the pipeline's 100, to fit 2 x 40 trials in 2 minutes; fewer trees vary
    # more between seeds, so the equal-candidate rates are if anything pessimistic.
    return RandomForestClassifier(n_estimators=FOREST_TREES, random_state=seed)


def _scored(model, train: pd.DataFrame, holdout: pd.DataFrame, features: list[str]):
    model.fit(train[features], train["target"])
    proba = model.predict_proba(holdout[features])
    labels = model.classes_[proba.argmax(axis=1)]
    return proba, classifier_rows(holdout["target"], labels, proba, model.classes_), model


def _verdicts(candidate, champion, holdout, baseline) -> dict[str, float]:
    proba, cand_rows, model = candidate
    champ_rows = champion[1]
    gain = cand_rows.correctness - champ_rows.correctness
    lost, discordant = int((gain < 0).sum()), int((gain != 0).sum())
    mcnemar = (stats.binomtest(lost, discordant, 0.5, alternative="greater").pvalue
               if discordant else 1.0)
    t_alone = (stats.ttest_1samp(gain, -ACCURACY_MARGIN, alternative="less").pvalue
               if gain.std() > 0 else 1.0)
    both = non_inferiority(cand_rows.correctness, champ_rows.correctness, ACCURACY_MARGIN, ALPHA,
                           "correctness")
    return {
        "delta acc": float(gain.mean()),
        "delta loss": float((cand_rows.log_loss - champ_rows.log_loss).mean()),
        "acc t": t_alone < ALPHA,
        "acc McN": mcnemar < ALPHA,
        "acc both": both.refused,
        "log loss": non_inferiority(cand_rows.log_loss, champ_rows.log_loss, LOSS_MARGIN, ALPHA,
                                    "log_loss").refused,
        "Brier": non_inferiority(cand_rows.brier, champ_rows.brier, BRIER_MARGIN, ALPHA,
                                 "brier").refused,
        "champ LL": compare_to_champion(cand_rows, champ_rows, ACCURACY_MARGIN, LOSS_MARGIN,
                                        ALPHA, proper_scores=("log_loss",)).refused,
        "champ Br": compare_to_champion(cand_rows, champ_rows, ACCURACY_MARGIN, BRIER_MARGIN,
                                        ALPHA, proper_scores=("brier",)).refused,
        "champ 3": compare_to_champion(cand_rows, champ_rows, ACCURACY_MARGIN, BRIER_MARGIN,
                                       ALPHA, proper_scores=("brier", "log_loss")).refused,
        "calibration": calibration_decision(holdout["target"], proba, model.classes_, cand_rows,
                                            champ_rows, baseline, LOSS_MARGIN, ALPHA).refused,
        "old rule": gain.mean() < -ACCURACY_MARGIN or mcnemar < ALPHA,
    }


def _flipped(train: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    labels = np.sort(train["target"].unique())
    flip = rng.random(len(train)) < FLIPPED_SHARE
    shifted = rng.integers(1, len(labels), len(train))
    position = np.searchsorted(labels, train["target"].to_numpy())
    noisy = np.where(flip, labels[(position + shifted) % len(labels)], train["target"])
    return train.assign(target=noisy)


def _trial(frame: pd.DataFrame, seed: int) -> dict[str, dict[str, float]]:
    rng = np.random.default_rng(seed)
    frame = frame.assign(row_id=rng.permutation(len(frame))).iloc[rng.permutation(len(frame))]
    features = [c for c in frame.columns if c not in ("target", "row_id")]
    train, holdout = stable_split(frame, "target", 0.2, key="row_id").apply(frame)
    early = frame.iloc[: int(0.8 * len(frame))]
    early_train, _ = stable_split(early, "target", 0.2, key="row_id").apply(early)
    assert not set(early_train["row_id"]) & set(holdout["row_id"]), "a refresh leaked rows"
    baseline = prior_rows(train["target"], holdout["target"], np.sort(frame["target"].unique()))
    champion = _scored(_forest(seed), train, holdout, features)
    top = features[int(np.argmax(champion[2].feature_importances_))]
    candidates = {
        "reseeded": (champion, _scored(_forest(seed + 10_000), train, holdout, features)),
        "refresh": (_scored(_forest(seed), early_train, holdout, features), champion),
        "stump": (champion, _scored(DecisionTreeClassifier(max_depth=1), train, holdout, features)),
        "flipped": (champion, _scored(_forest(seed), _flipped(train, rng), holdout, features)),
        "dropped": (champion, _scored(_forest(seed), train, holdout,
                                      [f for f in features if f != top])),
    }
    # refresh: the old model is the champion, the one trained on all rows the candidate.
    return {name: _verdicts(cand, champ, holdout, baseline)
            for name, (champ, cand) in candidates.items()}


def _table(name: str, frame: pd.DataFrame, trials: int) -> None:
    refusals: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    started = time.perf_counter()
    for seed in range(trials):
        for scenario, verdicts in _trial(frame, seed).items():
            for column, value in verdicts.items():
                refusals[scenario][column] += value
    print(f"\n{name}: {len(frame)} rows, holdout ~{round(0.2 * len(frame))}, {trials} trials, "
          f"{time.perf_counter() - started:.0f} s; refusals per gate (equal: want <= 5 %, "
          "worse: want >= 95 %)")
    print(f"{'candidate':<10}{'mean dAcc':>10}{'dLogLoss':>10}"
          + "".join(f"{g:>12}" for g in GATES))
    for scenario in SCENARIOS:
        row = refusals[scenario]
        deltas = f"{row['delta acc'] / trials:>+10.3f}{row['delta loss'] / trials:>+10.3f}"
        print(f"{scenario:<10}{deltas}"
              + "".join(f"{row[g] / trials:>12.0%}" for g in GATES))


def _synthetic_rates(lost: float, won: float, rows: int, trials: int, rng) -> list[float]:
    refused = np.zeros(3)
    for _ in range(trials):
        u = rng.random(rows)
        gain = np.where(u < lost, -1.0, np.where(u < lost + won, 1.0, 0.0))
        champion = np.ones(rows)
        both = non_inferiority(champion + np.minimum(gain, 0), champion - np.maximum(gain, 0),
                               ACCURACY_MARGIN, ALPHA, "correctness")
        discordant = int((gain != 0).sum())
        mcnemar = (stats.binomtest(int((gain < 0).sum()), discordant, 0.5,
                                   alternative="greater").pvalue if discordant else 1.0)
        t_alone = (stats.ttest_1samp(gain, -ACCURACY_MARGIN, alternative="less").pvalue
                   if gain.std() > 0 else 1.0)
        refused += [t_alone < ALPHA, mcnemar < ALPHA, both.refused]
    return list(refused / trials)


def _synthetic(trials: int = 2000, rows: int = 114) -> None:
    rng = np.random.default_rng(0)
    print(f"paired 0/1 outcomes, {rows} rows, {trials} draws; refusal rate of: t-test alone, "
          "McNemar alone, both (paired.py)")
    cases = [(f"equal, {q:.0%} of rows discordant each way", q, q) for q in (0.01, 0.02, 0.04)]
    cases += [(f"worse by the margin, {q:.0%} + 0.5 % lost", q + 0.005, q - 0.005)
              for q in (0.01, 0.02, 0.04, 0.08)]
    cases += [(f"worse by {d:.0%}, {w:.0%} won", w + d, w) for d in (0.05, 0.07) for w in (0, 0.02)]
    for label, lost, won in cases:
        rates = _synthetic_rates(lost, won, rows, trials, rng)
        print(f"  {label:<40}" + "".join(f"{r:>8.1%}" for r in rates))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--datasets", nargs="+", default=["breast_cancer", "wine"])
    parser.add_argument("--synthetic", action="store_true", help="the accuracy tests' own rates")
    args = parser.parse_args()
    if args.synthetic:
        _synthetic()
        return
    print(f"margins: accuracy {ACCURACY_MARGIN}, log loss {LOSS_MARGIN} nats; alpha {ALPHA}")
    for name in args.datasets:
        _table(name, _load(name), args.trials)


if __name__ == "__main__":
    main()
