"""Comparing data with a drift profile: PSI per feature and the bins that moved most.

The profile (mlgate.monitoring.drift) holds the training shares; these
functions count other rows into its bins and say how far they moved.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mlgate.monitoring.drift import SHARE_FLOOR, FeatureProfile, Profile

# How many bins a red gate or a report names for a feature.
MOVED_BINS_SHOWN = 3


def psi_terms(expected, actual) -> np.ndarray:
    """Each bin's PSI term for two share vectors (or count vectors: each is normalised)."""
    e = np.asarray(expected, dtype=np.float64)
    a = np.asarray(actual, dtype=np.float64)
    e = np.maximum(e / e.sum(axis=-1, keepdims=True), SHARE_FLOOR)
    a = np.maximum(a / a.sum(axis=-1, keepdims=True), SHARE_FLOOR)
    return (a - e) * np.log(a / e)


def psi(expected, actual) -> float:
    """Population stability index of `actual` against `expected` (shares or counts over the same bins)."""
    return float(psi_terms(expected, actual).sum())


@dataclass(frozen=True)
class MovedBin:
    bin: str
    expected: float  # the reference share
    actual: float  # the share in the data judged

    def describe(self) -> str:
        return f"{self.bin} {self.expected:.1%} -> {self.actual:.1%}"


@dataclass(frozen=True)
class FeatureDrift:
    feature: str
    psi: float
    moved: tuple[MovedBin, ...]  # the bins with the largest PSI terms, largest first

    def describe(self) -> str:
        bins = ", ".join(m.describe() for m in self.moved) or "no bin moved"
        return f"'{self.feature}' PSI {self.psi:.3f} ({bins})"


def feature_drift(reference: FeatureProfile, values) -> FeatureDrift:
    return drift_of_counts(reference, np.bincount(reference.bin_ids(values), minlength=len(reference.bins)))


def drift_of_counts(reference: FeatureProfile, counts) -> FeatureDrift:
    """The drift of rows counted per bin of `reference`: what chunked scoring adds up chunk by chunk."""
    counts = np.asarray(counts, dtype=np.float64)
    actual = counts / counts.sum() if counts.sum() else counts
    terms = psi_terms(reference.shares, counts) if counts.sum() else np.full(len(reference.bins), math.nan)
    order = np.argsort(-np.nan_to_num(terms, nan=0.0), kind="stable")[:MOVED_BINS_SHOWN]
    # Only bins that moved: identical data names none.
    moved = tuple(MovedBin(reference.bins[i], reference.shares[i], float(actual[i])) for i in order if terms[i] > 1e-12)
    return FeatureDrift(reference.name, float(terms.sum()), moved)


def training_drift(reference: Profile, features: pd.DataFrame) -> list[FeatureDrift]:
    """Every profiled feature of `features` against `reference`, largest PSI first.

    A profiled feature the table no longer has counts as all missing; a new
    column has no reference and is not judged.
    """
    rows = len(features)
    drifts = [
        feature_drift(f, features[f.name].to_numpy() if f.name in features.columns else np.full(rows, np.nan))
        for f in reference.features
    ]
    return sorted(drifts, key=lambda d: -d.psi)


def drift_table(drifts: Sequence[FeatureDrift]) -> list[dict[str, Any]]:
    """The drifts as plain rows, for the gate report's JSON."""
    return [
        {"feature": d.feature, "psi": d.psi, "moved_bins": [vars(m) for m in d.moved]}
        for d in drifts
    ]
