"""Behavioural checks: what a model does on rows nobody sampled, searched with hypothesis.

Pure library, no pytest. `gates/model/test_behaviour.py` runs these searches
on the candidate; `tests/unit/test_behaviour.py` runs the same checks on models
built to break them. The rows come from `mlgate.behaviour.schema`, the
declared expectations from `mlgate.behaviour.spec`.

* Generic claims hold for any model and any row the data suite accepts:
  valid probabilities and known labels (a regressor: one finite number per
  row); the same answer alone as in a batch, in any row order, and when asked
  twice. A classifier's answer is its probabilities, a regressor's its prediction.
* Declared claims perturb the holdout within a spec entry's bounds
  (`mlgate.behaviour.declared`, re-exported here).
* A check returns what it measured or raises `BehaviourViolation`, whose
  first line names the claim, the number and the offending row: that line is
  what the gate report shows. `search` runs several claims on one stream of
  hypothesis draws, so each call to the model serves all of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from mlgate.behaviour.declared import (
    Measurement,
    check_declared,
    declared_draws,
    measure,
    perturbations,
    violation_message,
)
from mlgate.behaviour.schema import describe_row, plain
from mlgate.behaviour.violation import BehaviourViolation, first_line

__all__ = [
    "ANSWER_ATOL",
    "GENERIC_CLAIMS",
    "PROBABILITY_SUM_ATOL",
    "BehaviourViolation",
    "Measurement",
    "check_batch_independent",
    "check_finite_predictions",
    "check_declared",
    "check_generic",
    "check_labels_known",
    "check_order_independent",
    "check_repeatable",
    "check_valid_output",
    "check_valid_probabilities",
    "declared_draws",
    "first_line",
    "measure",
    "perturbations",
    "violation_message",
]

# Two answers for the same row are "the same" within this (probabilities are in [0, 1]) ...
ANSWER_ATOL = 1e-9
# ... plus this share of their size (a regressor's prediction is in the target's unit).
ANSWER_RTOL = 1e-9
# A row's probabilities may sum to 1 within this.
PROBABILITY_SUM_ATOL = 1e-6

# --- the generic claims: any model, any row of the schema ------------------------------

GENERIC_CLAIMS = ("valid_output", "batch_independent", "order_independent", "repeatable")


def _proba(model, frame: pd.DataFrame) -> np.ndarray:
    return np.asarray(model.predict_proba(frame), dtype=float)


def _predictions(model, frame: pd.DataFrame) -> np.ndarray:
    """A regressor's answer, as the generic claims compare answers: one row of numbers per input row."""
    predicted = np.asarray(model.predict(frame), dtype=float)
    return predicted.reshape(len(predicted), -1) if predicted.ndim else predicted


def answer_of(regressor: bool):
    """What the generic claims compare for a model: a regressor's predictions, a classifier's probabilities."""
    return _predictions if regressor else _proba


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=ANSWER_RTOL, atol=ANSWER_ATOL, equal_nan=True))


def _where(frame: pd.DataFrame, i: int) -> str:
    return f"row {i} of a {len(frame)}-row batch {describe_row(frame, i)}"


def check_valid_probabilities(model, frame: pd.DataFrame, labels: Sequence[Any], proba: np.ndarray | None = None) -> int:
    """Probabilities in [0, 1] summing to 1, one column per class, every class a known label."""
    proba = _proba(model, frame) if proba is None else proba
    rows = len(frame)
    known = {plain(v) for v in labels}
    classes = [plain(c) for c in getattr(model, "classes_", [])]
    if proba.ndim != 2 or proba.shape[0] != rows or (classes and proba.shape[1] != len(classes)):
        raise BehaviourViolation(
            f"predict_proba returned shape {proba.shape} for {rows} row(s) and {len(classes)} classes"
        )
    unknown = [c for c in classes if c not in known]
    if unknown:
        raise BehaviourViolation(f"the model's classes {unknown} are not in the label set {sorted(known, key=str)}")
    for i, p in enumerate(proba):
        if not np.all(np.isfinite(p)) or np.any(p < -ANSWER_ATOL) or np.any(p > 1 + ANSWER_ATOL):
            raise BehaviourViolation(f"probabilities {np.round(p, 6).tolist()} outside [0, 1] for {_where(frame, i)}")
        if abs(float(p.sum()) - 1.0) > PROBABILITY_SUM_ATOL:
            raise BehaviourViolation(
                f"probabilities {np.round(p, 6).tolist()} sum to {p.sum():.6g}, not 1, for {_where(frame, i)}"
            )
    return rows


def check_labels_known(model, frames: Sequence[pd.DataFrame], labels: Sequence[Any]) -> int:
    """Every row of every batch is predicted a known label; all batches in one call to predict."""
    known = {plain(v) for v in labels}
    predicted = np.asarray(model.predict(pd.concat(frames, ignore_index=True)))
    rows = sum(len(f) for f in frames)
    if predicted.ndim != 1 or len(predicted) != rows:
        raise BehaviourViolation(f"predict returned shape {predicted.shape} for {rows} row(s)")
    offset = 0
    for frame in frames:
        for i, label in enumerate(predicted[offset : offset + len(frame)]):
            if plain(label) not in known:
                raise BehaviourViolation(
                    f"predicted label {plain(label)!r} is not in the label set {sorted(known, key=str)} "
                    f"for {_where(frame, i)}"
                )
        offset += len(frame)
    return rows


def check_valid_output(model, frame: pd.DataFrame, labels: Sequence[Any], proba: np.ndarray | None = None) -> int:
    """Valid probabilities and known labels for one batch."""
    check_valid_probabilities(model, frame, labels, proba)
    return check_labels_known(model, [frame], labels)


def check_batch_independent(model, frame: pd.DataFrame, subset, proba: np.ndarray | None = None, answer=_proba) -> int:
    """The rows `subset` (an index, or indices) get the same answers in that sub-batch as inside `frame`."""
    proba = answer(model, frame) if proba is None else proba
    subset = [int(subset)] if isinstance(subset, (int, np.integer)) else list(subset)
    apart = answer(model, frame.iloc[subset])
    for position, index in enumerate(subset):
        if not _same(proba[[index]], apart[[position]]):
            where = "alone" if len(subset) == 1 else f"in a {len(subset)}-row sub-batch of rows {subset[:8]}"
            raise BehaviourViolation(
                f"{_where(frame, index)} gets {np.round(proba[index], 6).tolist()} in the batch but "
                f"{np.round(apart[position], 6).tolist()} {where}"
            )
    return len(frame)


def check_order_independent(model, frame: pd.DataFrame, order: Sequence[int], proba: np.ndarray | None = None, answer=_proba) -> int:
    """Reordering a batch reorders its answers, nothing else."""
    proba = answer(model, frame) if proba is None else proba
    order = list(order)
    shuffled = answer(model, frame.iloc[order].reset_index(drop=True))
    for position, source in enumerate(order):
        if not _same(proba[[source]], shuffled[[position]]):
            raise BehaviourViolation(
                f"{_where(frame, source)} gets {np.round(proba[source], 6).tolist()} in row order "
                f"{list(range(len(frame)))} but {np.round(shuffled[position], 6).tolist()} in order {order}"
            )
    return len(frame)


def check_repeatable(model, frame: pd.DataFrame, proba: np.ndarray | None = None, answer=_proba) -> int:
    """The same batch twice gets the same answers."""
    first = answer(model, frame) if proba is None else proba
    second = answer(model, frame)
    for i in range(len(frame)):
        if not _same(first[[i]], second[[i]]):
            raise BehaviourViolation(
                f"{_where(frame, i)} gets {np.round(first[i], 6).tolist()} the first time and "
                f"{np.round(second[i], 6).tolist()} the second"
            )
    return len(frame)


def check_finite_predictions(model, frame: pd.DataFrame, predicted: np.ndarray | None = None) -> int:
    """A regressor's answer: one finite number for every row, no NaN, no infinity."""
    predicted = _predictions(model, frame) if predicted is None else predicted
    rows = len(frame)
    if predicted.ndim != 2 or predicted.shape != (rows, 1):
        raise BehaviourViolation(f"predict returned shape {predicted.shape} for {rows} row(s); a regressor gives one number per row")
    bad = np.flatnonzero(~np.isfinite(predicted[:, 0]))
    if bad.size:
        i = int(bad[0])
        raise BehaviourViolation(f"prediction {predicted[i, 0]} is not a finite number for {_where(frame, i)}")
    return rows


def check_generic(model, labels: Sequence[Any], drawn, claims: Sequence[str] = GENERIC_CLAIMS, regressor: bool = False) -> dict[str, float]:
    """The generic claims on one draw of `schema_batches`, sharing the batch's first answer.

    A model that raises on a schema row breaks the claim being checked: the
    error becomes a BehaviourViolation like any other wrong answer.
    """
    frame, index, order = drawn
    measured: dict[str, float] = {}
    claim = claims[0] if "valid_output" not in claims else "valid_output"
    answer = answer_of(regressor)
    try:
        first = answer(model, frame)
        for claim in claims:
            if claim == "valid_output" and regressor:
                measured[claim] = check_finite_predictions(model, frame, first)
            elif claim == "valid_output":  # its labels are checked once per search: search_generic
                measured[claim] = check_valid_probabilities(model, frame, labels, first)
            elif claim == "batch_independent":
                measured[claim] = check_batch_independent(model, frame, index, first, answer)
            elif claim == "order_independent":
                measured[claim] = check_order_independent(model, frame, order, first, answer)
            elif claim == "repeatable":
                measured[claim] = check_repeatable(model, frame, first, answer)
            else:
                raise ValueError(f"unknown generic claim {claim!r}; use one of {GENERIC_CLAIMS}")
    except BehaviourViolation as violation:
        violation.claim = claim
        raise
    except (ValueError, TypeError, ArithmeticError, IndexError, KeyError) as error:
        raise BehaviourViolation(
            f"the model raised {type(error).__name__}: {first_line(error)} on {_crashing_row(model, frame, regressor)}",
            claim=claim,
        ) from error
    return measured


def _crashing_row(model, frame: pd.DataFrame, regressor: bool = False) -> str:
    """The first row the model cannot answer alone, or the batch when each row alone is fine."""
    for i in range(len(frame)):
        try:
            if not regressor:
                model.predict_proba(frame.iloc[[i]])
            model.predict(frame.iloc[[i]])
        except Exception:  # noqa: BLE001 - any error names the row
            return _where(frame, i)
    return f"a {len(frame)}-row batch (each row alone is answered) {describe_row(frame, 0)}"
