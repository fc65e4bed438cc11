"""What the session learns about its candidate, each piece filled by one named fixture.

Promotion reads a Candidate; a piece no fixture filled is not an AttributeError
three calls later but a `MissingPiece` that names the fixture that should have
run. What gates measure while judging (the champion comparison, the perf
numbers) is kept apart in `Findings`: it goes into the report, not into what is
registered.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()


def _filled_by(fixture: str, default: Any = UNSET) -> Any:
    return field(default=default, metadata={"filled_by": fixture})


class MissingPiece(LookupError):
    """Promotion needs a piece of the candidate that no fixture filled."""


@dataclass
class Candidate:
    client: Any = _filled_by("gate_run")  # the MLflow client of the session's store
    run_id: str = _filled_by("gate_run")
    model: Any = _filled_by("trained_model")
    input_example: Any = _filled_by("trained_model")  # five training rows, as logged
    reports_dir: Path = _filled_by("holdout_metrics")  # reports and plots for the bundle
    quality: dict[str, float] = _filled_by("holdout_metrics")  # accuracy, macro_f1, roc_auc
    # Draws the holdout plots into a folder, titled with a version: the bundle's, once registered.
    draw_plots: Any = _filled_by("holdout_metrics")
    validation_json: Path | None = _filled_by("data_validation", default=None)  # optional: no suite, no file
    # The candidate compiled for serving (mlgate.serving.compiled.Compilation): its
    # CompiledModel, or why there is none.
    compilation: Any = _filled_by("compilation")
    # The reference profile of the training split as its JSON file (drift_profile.json), saved with the model.
    drift_profile: Path = _filled_by("drift_profile")
    # The @champion version the gates compared with; None: there was none.
    champion_seen: str | None = _filled_by("champion")

    def has(self, name: str) -> bool:
        return getattr(self, name) is not UNSET

    def require(self, *names: str) -> tuple[Any, ...]:
        """The named pieces, or MissingPiece naming the fixture of the first one missing."""
        by_name = {f.name: f for f in fields(self)}
        for name in names:
            if not self.has(name):
                fixture = by_name[name].metadata["filled_by"]
                raise MissingPiece(
                    f"the candidate's {name} was never filled: the fixture `{fixture}` did not run "
                    "in this session (no gate asked for it)"
                )
        return tuple(getattr(self, name) for name in names)


@dataclass
class Findings:
    """What gates measured on the way, for the report: not part of what is registered."""

    comparison: dict[str, Any] = field(default_factory=dict)  # the champion gate's numbers
    perf: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> value, budget, ...
    serving: dict[str, Any] = field(default_factory=dict)  # engine, precision, why not compiled
    # Versions earlier sessions left gating and this one tagged abandoned: version -> why.
    abandoned: dict[str, str] = field(default_factory=dict)
    # Holdout scores by model ("candidate", "champion"), as the report compares them.
    scores: dict[str, dict[str, float]] = field(default_factory=dict)
    class_names: dict[str, str] = field(default_factory=dict)  # label -> name, where the data names them
    # Raw one-request timings in seconds by model ("candidate", "champion"): the latency plot.
    latency_seconds: dict[str, list[float]] = field(default_factory=dict)
    # The training-drift gate's table (mlgate.monitoring.drift_compare.drift_table) and against which champion.
    drift: dict[str, Any] = field(default_factory=dict)
    data_verdict: dict[str, Any] = field(default_factory=dict)  # key, cached_from: the run it was reused from
    split: dict[str, Any] = field(default_factory=dict)  # definition, train_rows, holdout_rows
    # Each model gate's checks: estimate, interval, rows, threshold or margin, verdict (plugin/evidence.py).
    evidence: list[dict[str, Any]] = field(default_factory=list)
    calibration: dict[str, Any] = field(default_factory=dict)  # ECE per model, the reliability diagram
    task: dict[str, Any] = field(default_factory=dict)  # task, why, rows_without_target (the split fixture)
    # The slice gates' settings, discovered red slices or a first champion's weakest, declared verdicts.
    slices: dict[str, Any] = field(default_factory=dict)
    # Seeded samples gates drew from a table above gate_sample_rows: gate -> mlgate.sampling.DrawnSample's dict.
    samples: dict[str, dict[str, Any]] = field(default_factory=dict)
