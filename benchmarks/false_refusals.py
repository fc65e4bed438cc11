"""How often the model gates refuse equally good candidates, and clearly worse ones (`make bench-false-refusals`).

Everything a gate session does to decide is done here with the session's own code: the split is
mlgate.data.split_holdout (the stable hash split, keyed by a per-trial random row id so that each
trial draws another holdout), every model is trained by mlgate.training.train_model through the
project's pipeline (model/pipeline.py), and every verdict comes from the very functions the gates
call: mlgate.evaluation.intervals (accuracy, macro F1, ROC AUC, per-class recall), the champion
gate's champion_holdout + compare_to_champion, the calibration gate's calibration_decision, and
the discovered-slice gate's discover_regressions on per-row 0/1 errors, at the default settings. Only pytest, MLflow and serving are left out.

Per dataset and trial, a forest champion is trained on the training split, then candidates:
- equally good: (a) refresh: the champion trained on the first 80 % of rows to arrive, the
  candidate (same configuration) on all of them; (b) reseeded: another random_seed;
- clearly worse: a depth-1 stump (sklearn.tree.DecisionTreeClassifier, max_depth=1), the forest on
  20 % flipped training labels, the forest without the champion's most important column.
Datasets: breast cancer, wine, and a synthetic table (600 rows, numbers and categories, 10 % gaps).
The table printed is refusal rates per gate, in %, as Markdown, and the mean paired differences
(candidate minus champion) in accuracy and log loss: how much worse a "worse" candidate really is.

    PYTHONPATH=src:. python benchmarks/false_refusals.py [--trials 40] [--trees 50]
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from collections import defaultdict

import numpy as np
import pandas as pd
from sklearn import datasets

from mlgate.data import Dataset, split_holdout
from mlgate.evaluation import intervals
from mlgate.evaluation.calibration import calibration_decision, prior_rows
from mlgate.evaluation.champion import compare_to_champion
from mlgate.evaluation.slices import discover_regressions
from mlgate.plugin.evidence import champion_holdout, outcomes
from mlgate.settings import Settings
from mlgate.training import as_model_input, train_model

KEY = "row_id"
FLIPPED_SHARE = 0.2
SCENARIOS = ("refresh", "reseeded", "stump", "flipped", "dropped")
GATES = ("accuracy", "macro F1", "ROC AUC", "class recall", "champion", "calibration", "slices", "any")
# Mean paired differences, candidate minus champion, on the compared rows: how much worse it is.
DELTAS = ("Δ accuracy", "Δ log loss")


def _synthetic(rows: int = 600, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    colour = rng.choice(["red", "green", "blue", "grey"], rows)
    size = rng.choice(["S", "M", "L"], rows)
    x = rng.normal(size=(rows, 4))
    score = 2.0 * x[:, 1] - 1.5 * x[:, 3] + np.where(colour == "red", 2.5, 0) - np.where(size == "S", 2.0, 0) - 0.6
    frame = pd.DataFrame({f"x{i}": x[:, i] for i in range(4)} | {"colour": colour, "size": size})
    frame["target"] = (score + rng.normal(scale=0.3, size=rows) > 0).astype(int)
    for column in ("x0", "x2", "size"):  # gaps the pipeline's imputers fill
        frame.loc[rng.random(rows) < 0.1, column] = None
    return frame


def _load(name: str) -> pd.DataFrame:
    if name == "synthetic":
        return _synthetic()
    return getattr(datasets, f"load_{name}")(as_frame=True).frame


def _fit(train: Dataset, settings: Settings, drop: str | None = None):
    frame = train.frame.drop(columns=[KEY] + ([drop] if drop else []))
    return train_model(Dataset(frame, train.target), settings)


def _top_column(model, columns: list[str]) -> str:
    """The input column behind the forest's largest importance (one-hot columns summed back)."""
    names = model[:-1].get_feature_names_out() if hasattr(model, "__getitem__") else columns
    importance = defaultdict(float)
    for name, value in zip(names, model[-1].feature_importances_, strict=True):
        plain = name.split("__", 1)[-1]
        importance[next((c for c in sorted(columns, key=len, reverse=True) if plain.startswith(c)), plain)] += value
    return max(importance, key=importance.get)


def _verdicts(model, champion, split, settings: Settings, drop: str | None = None) -> dict[str, float]:
    """Each gate's verdict on `model` against `champion`, as the session's gates decide it."""
    holdout = split.holdout
    features = as_model_input(holdout.features.drop(columns=[KEY] + ([drop] if drop else [])))
    truth, labels = holdout.labels.to_numpy(), np.asarray(model.predict(features))
    proba, classes = np.asarray(model.predict_proba(features), float), np.asarray(model.classes_)
    rule = {"alpha": 1 - settings.threshold_confidence_level, "straddle": settings.threshold_straddle}
    verdicts = {
        "accuracy": intervals.accuracy_check(truth, labels, settings.min_holdout_accuracy, **rule).refused,
        "macro F1": intervals.macro_f1_check(truth, labels, settings.min_macro_f1, **rule).refused,
        "ROC AUC": intervals.roc_auc_check(truth, proba, classes, settings.min_roc_auc, **rule).refused,
        "class recall": any(c.refused for c in intervals.class_recall_checks(
            truth, labels, settings.min_class_recall, **rule)),
    }
    compared, _ = champion_holdout(split, champion.split_definition)
    mine = _outcomes(model, compared, drop)
    theirs = _outcomes(champion.model, compared, champion.drop)
    verdicts["Δ accuracy"] = float((mine.correctness - theirs.correctness).mean())
    verdicts["Δ log loss"] = float((mine.log_loss - theirs.log_loss).mean())
    verdicts["champion"] = compare_to_champion(
        mine, theirs, settings.champion_tolerance, settings.champion_score_tolerance,
        settings.champion_significance_level).refused
    baseline = prior_rows(split.train.labels.to_numpy(), truth, classes)
    verdicts["calibration"] = calibration_decision(
        truth, proba, classes, _outcomes(model, holdout, drop), _outcomes(champion.model, holdout, champion.drop),
        baseline, settings.calibration_tolerance_nats, settings.champion_significance_level).refused
    verdicts["slices"] = _slices_refused(_outcomes(model, holdout, drop), _outcomes(champion.model, holdout, champion.drop),
                                         holdout, settings)
    verdicts["any"] = any(verdicts[gate] for gate in GATES[:-1])
    return verdicts


def _slices_refused(mine, theirs, holdout: Dataset, settings: Settings) -> bool:
    """The discovered-slice gate: any segment confirmed worse than the champion's beyond slice_tolerance."""
    discovery = discover_regressions(
        holdout.features.drop(columns=[KEY]).reset_index(drop=True), 1.0 - mine.correctness, 1.0 - theirs.correctness,
        min_rows=settings.slice_min_rows, tolerance=settings.slice_tolerance, alpha=settings.slice_significance_level,
        bins=settings.slice_bins, candidates=settings.slice_candidates, loss_name="error",
    )
    return bool(discovery.red)


def _outcomes(model, holdout: Dataset, drop: str | None):
    return outcomes(model, Dataset(holdout.frame.drop(columns=[KEY] + ([drop] if drop else [])), holdout.target))


@dataclasses.dataclass(frozen=True)
class Champion:
    model: object
    split_definition: str
    drop: str | None = None


def _flip(train: Dataset, rng: np.random.Generator) -> Dataset:
    labels = np.sort(train.labels.unique())
    flip = rng.random(len(train.frame)) < FLIPPED_SHARE
    position = np.searchsorted(labels, train.labels.to_numpy())
    shifted = labels[(position + rng.integers(1, len(labels), len(position))) % len(labels)]
    return Dataset(train.frame.assign(**{train.target: np.where(flip, shifted, train.labels)}), train.target)


def _trial(frame: pd.DataFrame, seed: int, settings: Settings) -> dict[str, dict[str, bool]]:
    rng = np.random.default_rng(seed)
    frame = frame.assign(**{KEY: rng.permutation(len(frame))}).iloc[rng.permutation(len(frame))]
    frame = frame.reset_index(drop=True)
    ours = dataclasses.replace(settings, random_seed=seed)
    split = split_holdout(Dataset(frame, "target"), settings.holdout_fraction, key=KEY)
    early = split_holdout(Dataset(frame.iloc[: int(0.8 * len(frame))], "target"), settings.holdout_fraction, key=KEY)
    forest = _fit(split.train, ours)
    champion = Champion(forest, split.definition)
    top = _top_column(forest, [c for c in frame.columns if c not in ("target", KEY)])
    stump = dataclasses.replace(ours, estimator="sklearn.tree.DecisionTreeClassifier", estimator_params={"max_depth": 1})
    return {
        "refresh": _verdicts(forest, Champion(_fit(early.train, ours), early.definition), split, ours),
        "reseeded": _verdicts(_fit(split.train, dataclasses.replace(ours, random_seed=seed + 10_000)), champion,
                              split, ours),
        "stump": _verdicts(_fit(split.train, stump), champion, split, ours),
        "flipped": _verdicts(_fit(_flip(split.train, rng), ours), champion, split, ours),
        "dropped": _verdicts(_fit(split.train, ours, drop=top), champion, split, ours, drop=top),
    }


def _table(name: str, trials: int, settings: Settings) -> list[str]:
    frame = _load(name)
    refused: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    started = time.perf_counter()
    for seed in range(trials):
        for scenario, verdicts in _trial(frame, seed, settings).items():
            for gate, verdict in verdicts.items():
                refused[scenario][gate] += verdict
    lines = [f"### {name} ({len(frame)} rows, {trials} trials, {time.perf_counter() - started:.0f} s)", "",
             "| candidate | " + " | ".join(GATES + DELTAS) + " |", "| --- |" + " --- |" * len(GATES + DELTAS)]
    for scenario in SCENARIOS:
        cells = [f"{100 * refused[scenario][g] / trials:.0f}" for g in GATES]
        cells += [f"{refused[scenario][d] / trials:+.3f}" for d in DELTAS]
        lines.append(f"| {scenario} | {' | '.join(cells)} |")
    return lines + [""]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--trees", type=int, default=50, help="forest size (the default pipeline has 100)")
    parser.add_argument("--datasets", nargs="+", default=["breast_cancer", "wine", "synthetic"])
    args = parser.parse_args()
    settings = Settings(estimator_params={"n_estimators": args.trees})
    print(f"Refusal rates in % per gate (default settings, forests of {args.trees} trees); "
          "refresh and reseeded are equally good candidates, the rest meant to be worse.\n")
    for name in args.datasets:
        print("\n".join(_table(name, args.trials, settings)), flush=True)


if __name__ == "__main__":
    main()
