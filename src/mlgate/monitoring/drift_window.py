"""The serving side of drift: scored rows folded into time-decayed bin counts, PSI computed at scrape.

    window = DriftWindow(profile, column_names, half_life_seconds=600, min_rows=200)
    window.fold(arrays, block, labels)          # per /invocations request, after predicting
    registry.register(DriftCollector(window))   # mlgate_feature_drift_psi{feature} ... at scrape

Decisions:

- The window is exponentially time-decayed counts, not the last N rows: a row
  scored `age` seconds ago weighs 2^(-age / half_life_seconds). Memory is one
  float per bin (features x bins + labels), whatever the traffic; there is no
  ring of past rows. With `--workers N` the windows of all workers simply add
  up, as they decay on the same clock: the sum *is* the decayed window of all
  the server's traffic, whichever worker scored which row.
- Folding costs a handful of numpy calls per request, never a Python loop over
  numeric features: all numeric columns are binned with one comparison against
  padded edges. Categorical columns cost a dict lookup per value.
- Rather than decaying every count on every request, a row is added with the
  weight 2^((now - t0) / half_life) and a reader multiplies by
  2^((t0 - now) / half_life). When the weights grow past 2^REBASE_HALF_LIVES the
  counts are scaled down and t0 moved: every ~64 half-lives, ~11 hours at 600 s.
- With PROMETHEUS_MULTIPROC_DIR set, the counts live in a file per worker
  (`drift_<pid>.npy`, a memory map written in place); the collector of
  whichever worker answers /metrics sums the files of live workers. A worker
  that stops cleanly removes its file (`forget`); a crashed one's file is
  skipped once its pid is gone.
- PSI, shares and the window size are computed only when scraped. Until the
  decayed window holds `min_rows`, PSI and shares read NaN: the PSI of a few
  rows is noise (about (bins - 1) / rows for data that has not moved).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from mlgate.monitoring.drift import Profile, is_missing
from mlgate.monitoring.drift_compare import psi as psi_of
from mlgate.monitoring.drift_compare import psi_terms

FILE_PREFIX = "drift_"
# Two header cells: t0 (the time weights are relative to) and the decayed row count.
HEADER = 2
REBASE_HALF_LIVES = 64.0
OTHER_LABEL = "__other__"


class DriftWindow:
    """One process's decayed counts of the rows it scored, binned as the profile bins them."""

    def __init__(self, profile: Profile, column_names: Sequence[str], half_life_seconds: float, min_rows: float,
                 folder: str | None = None, clock=time.time) -> None:
        self.profile = profile
        self.half_life_seconds = half_life_seconds
        self.min_rows = min_rows
        self.folder = folder
        self.clock = clock
        positions = {name: i for i, name in enumerate(column_names)}
        # Each feature's bins, then the labels' (the profile's, then OTHER_LABEL), in one flat array.
        sizes = [len(f.bins) for f in profile.features] + [len(profile.labels) + 1]
        self.offsets = np.concatenate([[0], np.cumsum(sizes)])
        served = [(i, f) for i, f in enumerate(profile.features) if f.name in positions]
        numeric = [(i, f) for i, f in served if f.numeric]
        self.numeric_columns = np.array([positions[f.name] for _, f in numeric], dtype=np.intp)
        # An all-double model whose columns are all profiled, in order: the block is the matrix, no copy.
        self.block_is_matrix = self.numeric_columns.tolist() == list(range(len(column_names)))
        width = max((len(f.edges) for _, f in numeric), default=0)
        # Edges padded with +inf: no value is above a padded edge, so it never moves a bin id.
        self.edges = np.full((len(numeric), max(width, 1)), np.inf)
        for row, (_, f) in enumerate(numeric):
            self.edges[row, : len(f.edges)] = f.edges
        self.numeric_offsets = np.array([self.offsets[i] for i, _ in numeric], dtype=np.int64)
        self.numeric_missing = np.array([self.offsets[i] + len(f.bins) - 1 for i, f in numeric], dtype=np.int64)
        self.categorical = [
            (positions[f.name], {c: self.offsets[i] + k for k, c in enumerate(f.categories)},
             self.offsets[i] + len(f.categories), self.offsets[i] + len(f.categories) + 1)
            for i, f in served if not f.numeric
        ]
        self.label_index = {label: self.offsets[-2] + k for k, label in enumerate(profile.labels)}
        self.label_other = int(self.offsets[-1] - 1)
        self.size = int(self.offsets[-1])
        # Every feature's bins as one padded matrix, so a scrape computes all PSIs in one pass:
        # padding reads a zero count against a zero share, a term of 0.
        width = max((len(f.bins) for f in profile.features), default=1)
        self.gather = np.full((len(profile.features), width), self.size)
        self.expected = np.zeros((len(profile.features), width))
        for i, f in enumerate(profile.features):
            self.gather[i, : len(f.bins)] = np.arange(self.offsets[i], self.offsets[i + 1])
            self.expected[i, : len(f.bins)] = f.shares
        self.path: Path | None = None
        if folder:
            self.path = Path(folder) / f"{FILE_PREFIX}{os.getpid()}.npy"
            self.state = np.lib.format.open_memmap(self.path, mode="w+", dtype=np.float64, shape=(HEADER + self.size,))
        else:
            self.state = np.zeros(HEADER + self.size)
        self.state[0] = clock()

    # --- the request path -------------------------------------------------------------------

    def fold(self, arrays: Sequence[np.ndarray], block: np.ndarray | None, labels) -> None:
        """One request's scored rows: `arrays` its columns in `column_names` order, `block` them as a float matrix."""
        state = self.state
        now = self.clock()
        exponent = (now - state[0]) / self.half_life_seconds
        if exponent > REBASE_HALF_LIVES:
            state[1:] *= 2.0 ** -exponent
            state[0] = now
            exponent = 0.0
        ids = [self._label_ids(labels)]
        if len(self.numeric_columns):
            if block is None:
                matrix = np.column_stack([np.asarray(arrays[c], dtype=np.float64) for c in self.numeric_columns])
            else:
                matrix = block if self.block_is_matrix else block[:, self.numeric_columns]
            binned = (matrix[:, :, None] > self.edges).sum(axis=2) + self.numeric_offsets
            missing = np.isnan(matrix)
            ids.append((np.where(missing, self.numeric_missing, binned) if missing.any() else binned).ravel())
        for column, index, other, missing in self.categorical:
            ids.append(np.fromiter(
                (missing if is_missing(v) else index.get(str(v), other) for v in arrays[column].tolist()),
                dtype=np.int64, count=len(arrays[column]),
            ))
        weight = 2.0 ** exponent
        state[HEADER:] += np.bincount(np.concatenate(ids), minlength=self.size) * weight
        state[1] += len(ids[0]) * weight

    def _label_ids(self, labels) -> np.ndarray:
        bins = self.profile.prediction_bins
        if bins is not None:  # a regressor: each value's quantile bin of the holdout predictions
            return bins.bin_ids(np.asarray(labels, dtype=np.float64)) + self.offsets[-2]
        index, other = self.label_index, self.label_other
        values = labels.tolist() if hasattr(labels, "tolist") else labels
        return np.fromiter((index.get(str(v), other) for v in values), dtype=np.int64, count=len(values))

    # --- reading, at scrape time ------------------------------------------------------------

    def decayed(self) -> np.ndarray:
        """Rows in the window followed by every bin's count, decayed to now; all live workers summed."""
        now = self.clock()
        states = [self.state] if self.path is None else list(_live_states(Path(self.folder)))
        total = np.zeros(1 + self.size)
        for state in states:
            if len(state) == HEADER + self.size:  # a file of another model's layout is not ours to add
                total += state[1:] * 2.0 ** ((state[0] - now) / self.half_life_seconds)
        return total

    def forget(self) -> None:
        """This worker stops: its counts leave the sums (a clean shutdown; see the module docstring)."""
        if self.path is not None:
            self.path.unlink(missing_ok=True)


def _live_states(folder: Path):
    for path in folder.glob(f"{FILE_PREFIX}*.npy"):
        pid = path.stem.removeprefix(FILE_PREFIX)
        if not pid.isdigit() or not _alive(int(pid)):
            continue
        try:
            yield np.load(path, mmap_mode="r").copy()
        except (OSError, ValueError):  # being created or removed right now
            continue


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class DriftCollector(Collector):
    """mlgate_feature_drift_psi, mlgate_prediction_share and mlgate_drift_window_rows, computed when scraped."""

    def __init__(self, window: DriftWindow) -> None:
        self.window = window

    def collect(self):
        window, profile = self.window, self.window.profile
        totals = window.decayed()
        rows, counts = float(totals[0]), totals[1:]
        enough = rows >= window.min_rows and rows > 0
        size = GaugeMetricFamily(
            "mlgate_drift_window_rows",
            f"Rows in the drift window, each weighing 2^(-age / {window.half_life_seconds:g} s); all workers summed.",
        )
        size.add_metric([], rows)
        psi = GaugeMetricFamily(
            "mlgate_feature_drift_psi",
            "PSI of the window's rows against the served model's training profile, by feature; "
            f"NaN below {window.min_rows:g} rows.",
            labels=["feature"],
        )
        offsets = window.offsets
        with np.errstate(invalid="ignore", divide="ignore"):  # a feature no request carried: 0/0, NaN
            values = psi_terms(window.expected, np.append(counts, 0.0)[window.gather]).sum(axis=1)
        for feature, value in zip(profile.features, values.tolist(), strict=True):
            psi.add_metric([feature.name], value if enough else math.nan)
        shares = GaugeMetricFamily(
            "mlgate_prediction_share",
            f"Share of each predicted label in the drift window ({OTHER_LABEL}: a label the holdout never got); "
            f"NaN below {window.min_rows:g} rows.",
            labels=["label"],
        )
        reference = GaugeMetricFamily(
            "mlgate_prediction_reference_share",
            "Share of each label the served model predicted on its holdout, from its profile.",
            labels=["label"],
        )
        predicted = counts[offsets[-2] : offsets[-1]]
        for k, label in enumerate((*profile.labels, OTHER_LABEL)):
            shares.add_metric([label], float(predicted[k] / rows) if enough else math.nan)
            reference.add_metric([label], profile.label_shares[k] if k < len(profile.labels) else 0.0)
        drift = GaugeMetricFamily(
            "mlgate_prediction_drift_psi",
            "PSI of the window's predictions (labels; a regressor's value bins) against the served model's holdout "
            f"predictions; NaN below {window.min_rows:g} rows.",
        )
        with np.errstate(invalid="ignore", divide="ignore"):
            value = psi_of(np.append(profile.label_shares, 0.0), predicted) if enough else math.nan
        drift.add_metric([], value)
        yield from (size, psi, shares, reference, drift)
