"""Batch scoring: a table file in, the champion's labels out, in chunks, with the batch's drift.

`score_file` reads the input a chunk at a time (mlgate.tables), predicts
each chunk with the model's compiled form (onnxruntime, no DataFrame on the
way) where it compiled, else with scikit-learn, writes labels (and class
probabilities on request) and counts each profiled feature's bins: at the
end the batch's PSI per feature against the model's reference profile, the
one the training-drift gate and the server's drift gauges judge against.
Memory is bounded by the chunk; the file's length only costs time.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from mlgate.monitoring.drift import FeatureProfile, Profile
from mlgate.monitoring.drift_compare import FeatureDrift, drift_of_counts
from mlgate.serving.predict import engine_of
from mlgate.tables import ChunkWriter, Progress, TableError, column_names, read_chunks, table_kind

LABEL_COLUMN = "prediction"
PROBABILITY_PREFIX = "probability_"
# Signature types read as numbers; "boolean" is a flag, anything else text.
NUMBER_TYPES = frozenset({"double", "float", "long", "integer"})


def _kind(mlflow_type: str) -> str:
    return "number" if mlflow_type in NUMBER_TYPES else "flag" if mlflow_type == "boolean" else "text"


@dataclass(frozen=True)
class Scored:
    """What one `score_file` did: rows, time, the engine, and the batch's drift."""

    rows: int
    seconds: float
    engine: str
    output: Path
    drifts: tuple[FeatureDrift, ...]  # largest PSI first; empty without a reference profile
    label_drift: FeatureDrift | None  # the predicted labels' shares against the holdout's
    profiled: bool = field(default=False)

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else math.inf


class DriftCounts:
    """Per-bin counts of each profiled feature and of the predicted labels, added chunk by chunk."""

    def __init__(self, profile: Profile) -> None:
        self.profile = profile
        self.features = [f for f in profile.features]
        self.counts = [np.zeros(len(f.bins), dtype=np.int64) for f in self.features]
        labels = FeatureProfile("predicted labels", "categorical", (*profile.labels, "other", "missing"),
                                (*profile.label_shares, 0.0, 0.0), categories=profile.labels)
        self.labels = labels
        self.label_counts = np.zeros(len(labels.bins), dtype=np.int64)

    def add(self, chunk: pd.DataFrame, predicted: np.ndarray) -> None:
        for feature, counts in zip(self.features, self.counts, strict=True):
            values = chunk[feature.name].to_numpy() if feature.name in chunk.columns else np.full(len(chunk), np.nan)
            counts += np.bincount(feature.bin_ids(values), minlength=len(feature.bins))
        self.label_counts += np.bincount(self.labels.bin_ids(predicted), minlength=len(self.labels.bins))

    def drifts(self) -> tuple[FeatureDrift, ...]:
        found = [drift_of_counts(f, c) for f, c in zip(self.features, self.counts, strict=True)]
        return tuple(sorted(found, key=lambda d: -d.psi if not math.isnan(d.psi) else 0.0))

    def label_drift(self) -> FeatureDrift:
        return drift_of_counts(self.labels, self.label_counts)


class ChunkPredictor:
    """Labels (and probabilities) for a chunk, from the compiled model where there is one."""

    def __init__(self, servable) -> None:
        self.compiled = servable.compiled
        self.model = servable.model
        self.classes = self.compiled.classes_ if self.compiled is not None else self.model.classes_

    def __call__(self, chunk: pd.DataFrame, probabilities: bool) -> tuple[np.ndarray, np.ndarray | None]:
        try:
            return self._predict(chunk, probabilities)
        except ValueError as error:  # e.g. an infinity, which the imputer (and so the graph) refuses
            raise TableError(f"the model cannot score rows of the input ({error}); fix or blank those cells") from None

    def _predict(self, chunk: pd.DataFrame, probabilities: bool) -> tuple[np.ndarray, np.ndarray | None]:
        if self.compiled is not None:
            proba = self.compiled.predict_proba_columns(self.compiled.frame_columns(chunk))
            return self.classes.take(proba.argmax(axis=1)), proba
        # scikit-learn's own predict, so the labels are pyfunc's to the row.
        labels = np.asarray(self.model.predict(chunk))
        return labels, (np.asarray(self.model.predict_proba(chunk)) if probabilities else None)


def output_frame(labels: np.ndarray, proba: np.ndarray | None, classes: Sequence) -> pd.DataFrame:
    frame = pd.DataFrame({LABEL_COLUMN: labels})
    if proba is not None:
        for j, label in enumerate(classes):
            frame[f"{PROBABILITY_PREFIX}{label}"] = proba[:, j]
    return frame


def input_columns(servable, source: Path, kind: str) -> dict[str, str]:
    """The model's columns as the chunk reader takes them; a required column the input lacks is an error."""
    present = set(column_names(source, kind))
    missing = [n for n, _ in servable.input_schema if n in servable.required and n not in present]
    if missing:
        raise TableError(
            f"the input {source} lacks column(s) {missing} the model needs; it takes: "
            + ", ".join(f"{n} ({t})" for n, t in servable.input_schema)
        )
    return {name: _kind(mlflow_type) for name, mlflow_type in servable.input_schema}


def score_file(
    servable, source: Path, target: Path, *, chunk_rows: int, probabilities: bool = False,
    progress: Progress = lambda rows, share: None,
) -> Scored:
    """Score `source` into `target` chunk by chunk; the batch's drift when the model has a profile."""
    kind, out_kind = table_kind(source, "input"), table_kind(target, "output")
    if target.resolve() == source.resolve():
        raise TableError(f"the output {target} is the input; write the predictions to another file")
    columns = input_columns(servable, source, kind)
    predict = ChunkPredictor(servable)
    counts = DriftCounts(servable.drift_profile) if servable.drift_profile is not None else None
    writer = ChunkWriter(target, out_kind)
    started, rows = time.perf_counter(), 0
    progress(0, 0.0)
    try:
        for chunk in read_chunks(source, kind, columns, chunk_rows, progress):
            labels, proba = predict(chunk, probabilities)
            writer.write(output_frame(labels, proba if probabilities else None, predict.classes))
            if counts is not None:
                counts.add(chunk, labels)
            rows += len(chunk)
        if rows == 0:  # a header without rows: an output with its header and no rows
            empty = np.empty(0, dtype=predict.classes.dtype)
            writer.write(output_frame(empty, np.empty((0, len(predict.classes))) if probabilities else None, predict.classes))
        writer.commit()
    except BaseException:
        writer.abort()
        raise
    return Scored(
        rows, time.perf_counter() - started, engine_of(servable), target,
        counts.drifts() if counts is not None else (), counts.label_drift() if counts is not None else None,
        profiled=counts is not None,
    )
