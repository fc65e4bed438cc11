"""A synthetic loans table and two models' per-row 0/1 losses on its holdout (issue #22).

The label depends mostly on income and debt, so a candidate whose feature code loses them
for phone applications (about 1.2 % of rows) is much worse on phone rows and barely worse
overall. Used by the slice tests and by benchmarks/slices.py.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import train_test_split

REGIONS = ["north", "south", "east", "west", "centre"]
CHANNELS = ["branch", "online", "phone"]
CHANNEL_SHARES = [0.55, 0.438, 0.012]


def loans_table(rows: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    region = rng.choice(REGIONS, rows)
    channel = rng.choice(CHANNELS, rows, p=CHANNEL_SHARES)
    income = rng.lognormal(10.3, 0.5, rows).round(-1)
    debt = (income * rng.beta(2, 5, rows) * 2).round(-1)
    age = rng.integers(20, 70, rows).astype(float)
    score = 2.2 * (np.log(income) - 10.3) / 0.5 - 4.0 * (debt / income - 0.57) / 0.32 * 0.5
    score += 0.3 * (region == "north") - 0.2 * (age < 25)
    label = (score + rng.logistic(0, 0.6, rows) > 0).astype(int)
    frame = pd.DataFrame({"region": region, "channel": channel, "income": income,
                          "debt": debt, "age": age})
    frame.loc[rng.random(rows) < 0.03, "income"] = np.nan  # gaps, as in real applications
    frame.loc[rng.random(rows) < 0.03, "debt"] = np.nan
    return frame, label


def categorical(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for column in ("region", "channel"):
        out[column] = out[column].astype("category")
    return out


def without_phone_income(frame: pd.DataFrame) -> pd.DataFrame:
    """The candidate's feature code: income and debt lost for phone applications."""
    out = frame.copy()
    out.loc[out["channel"] == "phone", ["income", "debt"]] = np.nan
    return out


def fit_losses(train: pd.DataFrame, label: np.ndarray, holdout: pd.DataFrame,
               truth: np.ndarray, seed: int) -> np.ndarray:
    warnings.filterwarnings("ignore", message=".*sklearn.utils.parallel.delayed.*")
    model = HistGradientBoostingClassifier(max_iter=60, random_state=seed,
                                           categorical_features="from_dtype")
    model.fit(categorical(train), label)
    return (model.predict(categorical(holdout)) != truth).astype(float)


@dataclass(frozen=True)
class Holdout:
    features: pd.DataFrame
    champion_losses: np.ndarray
    candidate_losses: np.ndarray


def phone_regression(rows: int = 30_000, seed: int = 0) -> Holdout:
    """The champion uses income and debt everywhere; the candidate loses them for phone rows."""
    frame, label = loans_table(rows, seed)
    train, test, y_train, y_test = train_test_split(frame, label, test_size=0.2, random_state=seed)
    champion = fit_losses(train, y_train, test, y_test, seed)
    candidate = fit_losses(without_phone_income(train), y_train,
                           without_phone_income(test), y_test, seed)
    return Holdout(test.reset_index(drop=True), champion, candidate)


def equally_good(rows: int = 30_000, seed: int = 0) -> Holdout:
    """Two models of the same recipe: different seeds and different 90 % of the training rows."""
    frame, label = loans_table(rows, seed)
    train, test, y_train, y_test = train_test_split(frame, label, test_size=0.2, random_state=seed)
    rng = np.random.default_rng(seed + 1)
    losses = []
    for model_seed in (seed, seed + 1000):
        rows_used = rng.random(len(train)) < 0.9
        losses.append(fit_losses(train[rows_used], y_train[rows_used], test, y_test, model_seed))
    return Holdout(test.reset_index(drop=True), losses[0], losses[1])
