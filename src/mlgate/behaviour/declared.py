"""Declared behavioural checks: perturbations of the holdout within a spec entry's bounds, many scored at once.

`declared_draws` gives hypothesis draws for every expectation of a spec,
`measure` scores (expectation, draw) pairs in one call per answer kind, and
`check_declared` raises a `BehaviourViolation` naming the worst row.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mlgate.behaviour.schema import EDGE_SHARE, describe_row, plain
from mlgate.behaviour.spec import BehaviourSpec, Directional, Expectation, Invariance
from mlgate.behaviour.violation import BehaviourViolation


def perturbations(expectation: Expectation, rows: int):
    """Hypothesis draws for one expectation: a noise matrix, or a raise per row.

    Drawn whole, from a seed: uniform within the declared bounds, with the bounds
    themselves (and no change) on a share of the rows, as hypothesis would favour them.
    """
    from hypothesis import strategies as st

    if isinstance(expectation, Invariance):
        scale = np.array(list(expectation.noise.values()))

        def noise(seed: int) -> np.ndarray:
            rng = np.random.default_rng(seed)
            unit = rng.uniform(-1.0, 1.0, (rows, len(scale)))
            pick = rng.random((rows, len(scale)))
            unit[pick < EDGE_SHARE] = -1.0
            unit[(pick >= EDGE_SHARE) & (pick < 2 * EDGE_SHARE)] = 1.0
            return unit * scale

        return st.integers(0, 2**32 - 1).map(noise)

    def raise_by(seed: int) -> np.ndarray:
        rng = np.random.default_rng(seed)
        step = rng.uniform(0.0, expectation.max_increase, rows)
        pick = rng.random(rows)
        step[pick < EDGE_SHARE] = expectation.max_increase
        step[(pick >= EDGE_SHARE) & (pick < 2 * EDGE_SHARE)] = 0.0
        return step

    return st.integers(0, 2**32 - 1).map(raise_by)


def declared_draws(spec: BehaviourSpec, rows: int, per_example: int = 1):
    """One draw for every declared expectation: {name: [perturbation, ...]}, `per_example` of each."""
    from hypothesis import strategies as st

    return st.fixed_dictionaries({
        e.name: st.lists(perturbations(e, rows), min_size=per_example, max_size=per_example) for e in spec.expectations
    })


@dataclass(frozen=True)
class Measurement:
    """One perturbation's result: the measured share of holdout rows against the limit."""

    value: float  # flipped (invariance) or violating (directional) fraction
    limit: float
    detail: str  # the worst row, for a message

    @property
    def met(self) -> bool:
        return self.value <= self.limit + 1e-12


def _perturbed(expectation: Expectation, base: pd.DataFrame, draw: np.ndarray) -> pd.DataFrame:
    frame = base.copy()
    if isinstance(expectation, Invariance):
        for j, column in enumerate(expectation.noise):
            frame[column] = frame[column].to_numpy(dtype=float) + draw[:, j]
    else:
        frame[expectation.column] = frame[expectation.column].to_numpy(dtype=float) + draw
    return frame


def measure(model, base: pd.DataFrame, pairs: Sequence[tuple[Expectation, np.ndarray]]) -> list[Measurement]:
    """Each (expectation, draw) applied to the holdout `base`; all scored in one call per answer kind.

    A classifier's invariance compares labels and its directional claims one
    label's probability; a regressor's claims (`on_prediction`) compare its
    predicted numbers. `predict` serves both labels and numbers.
    """
    if not pairs:
        return []
    rows = len(base)
    stacked = pd.concat([base] + [_perturbed(e, base, d) for e, d in pairs], ignore_index=True)
    wants_predict = any(isinstance(e, Invariance) or e.on_prediction for e, _ in pairs)
    predicted = np.asarray(model.predict(stacked)) if wants_predict else None
    wants_proba = any(isinstance(e, Directional) and not e.on_prediction for e, _ in pairs)
    proba = np.asarray(model.predict_proba(stacked), dtype=float) if wants_proba else None
    classes = [plain(c) for c in getattr(model, "classes_", [])]
    found = []
    for k, (expectation, draw) in enumerate(pairs, start=1):
        here = slice(k * rows, (k + 1) * rows)
        if isinstance(expectation, Invariance):
            if expectation.on_prediction:
                found.append(_moved(expectation, base, draw, _numbers(predicted[:rows]), _numbers(predicted[here])))
            else:
                found.append(_flipped(expectation, base, draw, predicted[:rows], predicted[here]))
        elif expectation.on_prediction:
            found.append(_wrong_way(expectation, base, draw, _numbers(predicted[:rows]), _numbers(predicted[here]), "the prediction"))
        elif expectation.label not in classes:
            # A label the model never learned has probability 0 everywhere: nothing can move it.
            found.append(Measurement(0.0, expectation.limit, ""))
        else:
            column = classes.index(expectation.label)
            found.append(_wrong_way(expectation, base, draw, proba[:rows, column], proba[here, column], f"P({expectation.label!r})"))
    return found


def _numbers(predicted: np.ndarray) -> np.ndarray:
    """A regressor's predictions as floats, one per row (a one-column answer flattened)."""
    return np.asarray(predicted, dtype=float).reshape(len(predicted), -1)[:, 0]


def _noise_text(expectation: Invariance, draw: np.ndarray, i: int) -> str:
    return ", ".join(f"{c} {draw[i, j]:+.4g}" for j, c in enumerate(expectation.noise))


def _flipped(expectation: Invariance, base: pd.DataFrame, draw: np.ndarray, before, after) -> Measurement:
    """A classifier's invariance: the share of rows whose label the noise changed."""
    flipped = np.flatnonzero(after != before)
    detail = ""
    if flipped.size:
        i = int(flipped[0])
        detail = (
            f"holdout row {i} {describe_row(base, i)} flips {plain(before[i])!r} -> "
            f"{plain(after[i])!r} with {_noise_text(expectation, draw, i)}"
        )
    return Measurement(flipped.size / len(base), expectation.limit, detail)


def _moved(expectation: Invariance, base: pd.DataFrame, draw: np.ndarray, before, after) -> Measurement:
    """A regressor's invariance: the share of rows whose prediction moved further than allowed.

    A prediction that is not a finite number moved without bound.
    """
    change = np.where(np.isfinite(before) & np.isfinite(after), np.abs(after - before), np.inf)
    excess = change - expectation.allowed_change(before)
    return _share_over(
        expectation,
        base,
        excess,
        0.0,
        lambda i: f"the prediction moves {before[i]:.6g} -> {after[i]:.6g} with {_noise_text(expectation, draw, i)}",
    )


def _wrong_way(expectation: Directional, base: pd.DataFrame, draw: np.ndarray, before, after, what: str) -> Measurement:
    """A directional claim: the share of rows whose answer (`what`) moved against the declared effect."""
    sign = 1.0 if expectation.effect == "not_lower" else -1.0
    wrong_way = np.nan_to_num(sign * (before - after), nan=np.inf)  # > 0: moved against the declared effect
    return _share_over(
        expectation,
        base,
        wrong_way,
        expectation.tolerance,
        lambda i: f"'{expectation.column}' {draw[i]:+.4g} moves {what} {before[i]:.6g} -> {after[i]:.6g}",
    )


def _share_over(expectation, base: pd.DataFrame, excess: np.ndarray, allowed: float, change_text) -> Measurement:
    """The share of rows whose `excess` is over `allowed`, the worst of them named with `change_text(row)`."""
    bad = np.flatnonzero(excess > allowed + 1e-12)
    detail = ""
    if bad.size:
        i = int(bad[np.argmax(excess[bad])])
        detail = f"holdout row {i} {describe_row(base, i)}: {change_text(i)}"
    return Measurement(bad.size / len(base), expectation.limit, detail)


def violation_message(expectation: Expectation, measurement: Measurement, rows: int) -> str:
    """The first line a failing declared gate shows."""
    share = f"{measurement.value:.1%} of {rows} holdout rows"
    if isinstance(expectation, Invariance):
        noise = ", ".join(f"'{c}' ±{v:g}" for c, v in expectation.noise.items())
        if expectation.max_change is not None:
            moved = f"moves the prediction by more than {expectation.max_change:g} on"
        elif expectation.max_relative_change is not None:
            moved = f"moves the prediction by more than {expectation.max_relative_change:.1%} of itself on"
        else:
            moved = "flips the label of"
        head = (
            f"invariance '{expectation.name}' broken: noise within {noise} {moved} {share} "
            f"(allowed {expectation.max_flipped_fraction:.1%})"
        )
    else:
        way = "lowers" if expectation.effect == "not_lower" else "raises"
        what = "the prediction" if expectation.on_prediction else f"P({expectation.label!r})"
        head = (
            f"directional '{expectation.name}' broken: raising '{expectation.column}' by up to "
            f"{expectation.max_increase:g} {way} {what} by more than "
            f"{expectation.tolerance:g} on {share} (allowed {expectation.max_violating_fraction:.1%})"
        )
    return f"{head}; e.g. {measurement.detail}. Claim: {expectation.claim}"


def check_declared(model, spec: BehaviourSpec, base: pd.DataFrame, drawn: Mapping[str, Sequence[np.ndarray]], claims: Sequence[str]) -> dict[str, float]:
    """The named expectations on one draw of `declared_draws` (every perturbation of each), scored together."""
    pairs = [(spec.named(name), draw) for name in claims for draw in drawn[name]]
    worst: dict[str, float] = {}
    for (expectation, _), measurement in zip(pairs, measure(model, base, pairs)):
        if not measurement.met:
            raise BehaviourViolation(
                violation_message(expectation, measurement, len(base)), claim=expectation.name, value=measurement.value
            )
        worst[expectation.name] = max(worst.get(expectation.name, measurement.value), measurement.value)
    return worst
