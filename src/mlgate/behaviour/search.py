"""Searching behavioural claims with hypothesis: several claims on one stream of draws.

`search` drives any set of checks from `mlgate.behaviour.checks`; `search_generic`
and `search_declared` are the two searches a gate session runs, and `replay`
puts the candidate's kept draws to the champion.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from mlgate.behaviour.checks import (
    GENERIC_CLAIMS,
    BehaviourViolation,
    Measurement,
    check_declared,
    check_generic,
    check_labels_known,
    declared_draws,
    first_line,
    measure,
)
from mlgate.behaviour.schema import EXAMPLES_PER_FRAME, Schema, schema_batches
from mlgate.behaviour.spec import BehaviourSpec

# --- searching claims with hypothesis ----------------------------------------------------

# Draws kept per claim for a replay on another model (the champion); the first ones,
# from hypothesis' generation phase, are the most varied.
KEPT_DRAWS = 200
# Perturbations of each declared expectation drawn per example, all scored in one call.
DRAWS_PER_EXAMPLE = 8


@dataclass
class ClaimOutcome:
    """What a search found for one claim."""

    examples: int = 0
    rows: int = 0  # rows of drawn frames examined (generic claims); 0 for declared ones
    worst: float | None = None
    violation: str | None = None  # the falsifying example's message; None if it held
    draws: list = field(default_factory=list, repr=False)

    @property
    def held(self) -> bool:
        return self.violation is None


def search(
    strategy,
    check: Callable[[Any, tuple[str, ...]], Mapping[str, float]],
    claims: Sequence[str],
    settings,
    keep_draws: bool = False,
    max_kept: int | None = KEPT_DRAWS,
) -> dict[str, ClaimOutcome]:
    """Search all `claims` with one stream of draws, so each call to the model serves all of them.

    `check(drawn, active)` returns {claim: measure} or raises a
    BehaviourViolation naming its claim. A falsified claim gets hypothesis'
    shrunk example and is set aside; the others are searched again without it,
    so every claim ends either falsified or held for the whole budget.
    """
    from hypothesis import given

    outcomes = {claim: ClaimOutcome() for claim in claims}
    remaining = list(claims)
    while remaining:
        active = tuple(remaining)
        for claim in active:
            outcomes[claim] = ClaimOutcome()

        @settings
        @given(strategy)
        def claims_hold(drawn):
            _count_draw(outcomes, active, drawn, max_kept if keep_draws else 0)
            _measure_draw(outcomes, check, drawn, active)

        try:
            claims_hold()
        except BaseException as error:  # noqa: BLE001 - only violations are handled, the rest re-raised
            violation = _violation_in(error)
            if violation is None or violation.claim not in remaining:
                raise
            outcomes[violation.claim].violation = str(violation)
            remaining.remove(violation.claim)
        else:
            break
    return outcomes


def _count_draw(outcomes: dict[str, ClaimOutcome], active: tuple[str, ...], drawn, max_kept: int | None) -> None:
    """One more example for each active claim; the draw kept while fewer than `max_kept` are (None: all)."""
    for claim in active:
        outcome = outcomes[claim]
        outcome.examples += 1
        if not isinstance(drawn, Mapping) and isinstance(drawn[0], pd.DataFrame):
            outcome.rows += len(drawn[0])
        if max_kept is None or len(outcome.draws) < max_kept:
            if isinstance(drawn, Mapping):  # a list of draws for each declared claim
                outcome.draws.extend(drawn[claim][: None if max_kept is None else max_kept - len(outcome.draws)])
            else:
                outcome.draws.append(drawn)


def _measure_draw(outcomes: dict[str, ClaimOutcome], check, drawn, active: tuple[str, ...]) -> None:
    """`check` on one draw; what it measured noted, a violation's share too before it propagates."""
    try:
        measured = check(drawn, active)
    except BehaviourViolation as violation:
        if violation.value is not None and violation.claim in outcomes:
            measured = {violation.claim: violation.value}
            _note_worst(outcomes, measured)
        raise
    _note_worst(outcomes, measured)


def _note_worst(outcomes: dict[str, ClaimOutcome], measured: Mapping[str, float]) -> None:
    for claim, value in measured.items():
        outcome = outcomes[claim]
        outcome.worst = value if outcome.worst is None else max(outcome.worst, value)


def _violation_in(error: BaseException) -> BehaviourViolation | None:
    """The BehaviourViolation hypothesis raised, also from inside a FlakyFailure group."""
    if isinstance(error, BehaviourViolation):
        return error
    if isinstance(error, BaseExceptionGroup):
        for inner in error.exceptions:
            found = _violation_in(inner)
            if found is not None:
                return found
    return None


def _fewer_examples(settings, per_example: int):
    """The same search depth in whole frames: `max_examples` / `per_example` examples, at least one."""
    from hypothesis import settings as hypothesis_settings

    return hypothesis_settings(settings, max_examples=max(1, math.ceil(settings.max_examples / per_example)))


def search_generic(model, schema: Schema, settings, regressor: bool = False) -> dict[str, ClaimOutcome]:
    """The four generic claims on one stream of whole frames: four calls to the model per frame.

    `settings.max_examples` small batches' worth of rows, drawn as frames of
    FRAME_ROWS rows (EXAMPLES_PER_FRAME batches each): as many rows or more, an
    eighth of the calls. A classifier's labels of every drawn row are checked
    after the search, in one call to `predict`, rather than once per frame; a
    regressor's answer is its prediction, checked finite on every frame.
    """
    outcomes = search(
        schema_batches(schema),
        lambda drawn, claims: check_generic(model, schema.labels, drawn, claims, regressor),
        GENERIC_CLAIMS,
        _fewer_examples(settings, EXAMPLES_PER_FRAME),
        keep_draws=not regressor,
        max_kept=None,
    )
    valid = outcomes["valid_output"]
    if not regressor and valid.held and valid.draws:
        frames = [frame for frame, _, _ in valid.draws]
        try:
            check_labels_known(model, frames, schema.labels)
        except BehaviourViolation as violation:
            valid.violation = str(violation)
        except (ValueError, TypeError, ArithmeticError, IndexError, KeyError) as error:
            valid.violation = f"the model raised {type(error).__name__} in predict: {first_line(error)}"
    for outcome in outcomes.values():
        outcome.draws = []
    return outcomes


def replay(model, spec: BehaviourSpec, base: pd.DataFrame, outcomes: Mapping[str, ClaimOutcome]) -> dict[str, list[Measurement]]:
    """Every kept draw of every declared expectation, on `model`, in one or two calls."""
    pairs = [(spec.named(name), draw) for name, outcome in outcomes.items() for draw in outcome.draws]
    measured: dict[str, list[Measurement]] = {name: [] for name in outcomes}
    for (expectation, _), measurement in zip(pairs, measure(model, base, pairs)):
        measured[expectation.name].append(measurement)
    return measured


def regressed(candidate: ClaimOutcome, on_champion: Sequence[Measurement]) -> bool:
    """A regression: the champion met the expectation on every draw, the candidate broke it."""
    return not candidate.held and bool(on_champion) and all(m.met for m in on_champion)


def search_declared(model, spec: BehaviourSpec, base: pd.DataFrame, settings) -> dict[str, ClaimOutcome]:
    """Every declared expectation, searched on `base` (the holdout); draws kept for `replay`.

    Each example draws DRAWS_PER_EXAMPLE perturbations of every expectation and scores
    them all in one stacked call per answer kind: `settings.max_examples` draws per
    expectation, as before, in an eighth of the examples and calls.
    """
    outcomes = search(
        declared_draws(spec, len(base), DRAWS_PER_EXAMPLE),
        lambda drawn, claims: check_declared(model, spec, base, drawn, claims),
        [e.name for e in spec.expectations],
        _fewer_examples(settings, DRAWS_PER_EXAMPLE),
        keep_draws=True,
    )
    for outcome in outcomes.values():  # draws, not examples, are what the gate reports
        outcome.examples *= DRAWS_PER_EXAMPLE
    return outcomes
