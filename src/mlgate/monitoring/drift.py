"""The drift core: a reference profile of the training data, bins, and PSI. Pure numpy and pandas.

One profile, built once from the training split by the gate session, is
judged against in two places: the training-drift gate (a candidate's training
data against the champion's profile) and the serving window
(`mlgate.monitoring.drift_window`, the rows a server scores against the served
model's profile). Both bin with `Profile.bin_ids`, so a row lands in the same
bin in the gate, in the server and in the profile's own shares. The comparing,
PSI and the bins that moved, is `mlgate.monitoring.drift_compare`.

- Numeric feature: `bins` quantile bins of the training values, the outer two
  open-ended ((-inf, q1] and (q_last, inf)), plus a `missing` bin. Edges are
  fixed at training time: a window's PSI does not move because the window
  does (Evidently's old exporter re-binned reference and current together).
  Bins are closed on the right: a value equal to an edge falls in the lower bin.
- Categorical feature: the `max_categories` most frequent training values,
  `other` (any value not among them, unseen ones included) and `missing`.
- Predicted labels: the share of each label the model predicts on the holdout.

PSI = sum over bins of (actual - expected) * ln(actual / expected), both
shares floored at SHARE_FLOOR so an empty bin costs a large, finite amount
instead of infinity. 0.1 is conventionally "a small shift", 0.25 "significant".
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mlgate.settings import Settings

PROFILE_FORMAT = 1
PROFILE_FILE = "drift_profile.json"
MISSING = "missing"
OTHER = "other"
# An empty bin's share, for the logarithm: a bin the window never fills costs
# about share * ln(share / 1e-4), ~0.9 for a 10% bin; never infinity.
SHARE_FLOOR = 1e-4
DEFAULT_MAX_CATEGORIES = 20


class ProfileError(ValueError):
    """A profile file mlgate cannot read; the message says which and why."""


@dataclass(frozen=True)
class FeatureProfile:
    name: str
    kind: str  # "numeric" or "categorical"
    bins: tuple[str, ...]  # each bin's label, `missing` last
    shares: tuple[float, ...]  # training share of each bin, summing to 1
    edges: tuple[float, ...] = ()  # numeric: the inner edges, ascending
    categories: tuple[str, ...] = ()  # categorical: the kept values, as text

    @property
    def numeric(self) -> bool:
        return self.kind == "numeric"

    def bin_ids(self, values) -> np.ndarray:
        """Each value's bin index (0..len(bins)-1): the one binning the profile, gate and server share."""
        if self.numeric:
            numbers = pd.to_numeric(pd.Series(np.asarray(values, dtype=object) if _textual(values) else values),
                                    errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
            ids = np.searchsorted(np.asarray(self.edges, dtype=np.float64), numbers, side="left")
            return np.where(np.isnan(numbers), len(self.bins) - 1, ids)
        index = {category: i for i, category in enumerate(self.categories)}
        other, missing = len(self.categories), len(self.categories) + 1
        return np.fromiter(
            (missing if is_missing(v) else index.get(str(v), other) for v in values),
            dtype=np.int64,
            count=len(values),
        )


def _textual(values) -> bool:
    return getattr(values, "dtype", None) is not None and values.dtype.kind in "OUS"


def is_missing(value) -> bool:
    """None, NaN, pandas' NA or NaT: a value for the `missing` bin."""
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA or value is pd.NaT


@dataclass(frozen=True)
class Profile:
    features: tuple[FeatureProfile, ...]
    labels: tuple[str, ...]  # predicted labels on the holdout, as text
    label_shares: tuple[float, ...]
    rows: int  # training rows profiled
    holdout_rows: int
    # A regressor's: the inner edges of its holdout predictions' quantile bins; `labels` then name those bins.
    prediction_edges: tuple[float, ...] = ()

    def feature(self, name: str) -> FeatureProfile | None:
        return next((f for f in self.features if f.name == name), None)

    @property
    def prediction_bins(self) -> FeatureProfile | None:
        """A regressor's predictions binned as a numeric feature; None for a classifier (labels are labels)."""
        if not self.prediction_edges:
            return None
        return FeatureProfile("prediction", "numeric", self.labels, self.label_shares, edges=self.prediction_edges)

    def to_json(self) -> str:
        document = {
            "format": PROFILE_FORMAT,
            "what": "mlgate reference profile: training share per bin of each feature, "
            "predicted-label shares on the holdout (see README, Drift)",
            "training_rows": self.rows,
            "holdout_rows": self.holdout_rows,
            "predicted_label_shares": dict(zip(self.labels, self.label_shares, strict=True)),
            **({"prediction_edges": list(self.prediction_edges)} if self.prediction_edges else {}),
            "features": [
                {
                    "name": f.name,
                    "kind": f.kind,
                    **({"edges": list(f.edges)} if f.numeric else {"categories": list(f.categories)}),
                    "shares": dict(zip(f.bins, f.shares, strict=True)),
                }
                for f in self.features
            ],
        }
        return json.dumps(document, indent=1) + "\n"

    @classmethod
    def from_json(cls, text: str, where: str = "the profile") -> Profile:
        try:
            document = json.loads(text)
            if document.get("format") != PROFILE_FORMAT:
                raise ProfileError(f"{where} has format {document.get('format')!r}; this mlgate reads {PROFILE_FORMAT}")
            features = []
            for f in document["features"]:
                shares = f["shares"]
                features.append(
                    FeatureProfile(
                        name=str(f["name"]),
                        kind=f["kind"],
                        bins=tuple(shares),
                        shares=tuple(float(s) for s in shares.values()),
                        edges=tuple(float(e) for e in f.get("edges", ())),
                        categories=tuple(str(c) for c in f.get("categories", ())),
                    )
                )
            labels = document["predicted_label_shares"]
            return cls(
                features=tuple(features),
                labels=tuple(labels),
                label_shares=tuple(float(s) for s in labels.values()),
                rows=int(document["training_rows"]),
                holdout_rows=int(document["holdout_rows"]),
                prediction_edges=tuple(float(e) for e in document.get("prediction_edges", ())),
            )
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            if isinstance(error, ProfileError):
                raise
            raise ProfileError(f"{where} is not an mlgate drift profile ({type(error).__name__}: {error})") from None


# --- building --------------------------------------------------------------------------------


def _numeric_edges(values: np.ndarray, bins: int) -> tuple[float, ...]:
    present = values[~np.isnan(values)]
    if present.size == 0:
        return ()
    inner = np.quantile(present, np.linspace(0, 1, bins + 1)[1:-1])
    return tuple(float(e) for e in np.unique(inner))


def _shares(ids: np.ndarray, size: int) -> tuple[float, ...]:
    counts = np.bincount(ids, minlength=size).astype(np.float64)
    total = counts.sum()
    return tuple(float(c) for c in (counts / total if total else counts))


def _numeric_labels(edges: Sequence[float]) -> tuple[str, ...]:
    bounds = ["-inf", *(f"{e:.6g}" for e in edges), "inf"]
    return (*(f"({lo}, {hi}{')' if hi == 'inf' else ']'}" for lo, hi in itertools.pairwise(bounds)), MISSING)


def profile_feature(name: str, column: pd.Series, bins: int = Settings.drift_profile_bins,
                    max_categories: int = DEFAULT_MAX_CATEGORIES) -> FeatureProfile:
    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        values = column.to_numpy(dtype=np.float64, na_value=np.nan)
        edges = _numeric_edges(values, bins)
        labels = _numeric_labels(edges)
        shaped = FeatureProfile(name, "numeric", labels, (0.0,) * len(labels), edges=edges)
    else:
        text = column.dropna().map(str)
        kept = tuple(text.value_counts(sort=True).index[:max_categories])
        labels = (*kept, OTHER, MISSING)
        shaped = FeatureProfile(name, "categorical", labels, (0.0,) * len(labels), categories=kept)
    shares = _shares(shaped.bin_ids(column.to_numpy()), len(shaped.bins))
    return FeatureProfile(shaped.name, shaped.kind, shaped.bins, shares, shaped.edges, shaped.categories)


def build_profile(features: pd.DataFrame, holdout_predictions, bins: int = Settings.drift_profile_bins,
                  max_categories: int = DEFAULT_MAX_CATEGORIES, holdout_rows: int | None = None,
                  values: bool = False) -> Profile:
    """The reference profile of a training table and what a model predicts on its holdout.

    A classifier's predicted labels are shared out as they are; a regressor's
    (`values`) by quantile bins of its holdout predictions, as a numeric feature.
    """
    if values:
        binned = profile_feature("prediction", pd.Series(np.asarray(holdout_predictions, dtype=np.float64)), bins)
        labels, shares, edges = binned.bins, binned.shares, binned.edges
    else:
        predicted = pd.Series(np.asarray(holdout_predictions)).map(str)
        counts = predicted.value_counts(sort=False).sort_index()
        labels, shares, edges = tuple(counts.index), tuple(float(c) for c in counts / counts.sum()), ()
    return Profile(
        features=tuple(profile_feature(str(n), features[n], bins, max_categories) for n in features.columns),
        labels=labels,
        label_shares=shares,
        rows=len(features),
        holdout_rows=len(holdout_predictions) if holdout_rows is None else holdout_rows,
        prediction_edges=edges,
    )
