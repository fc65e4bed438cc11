"""Gates that need examples draw a seeded sample above `gate_sample_rows`, never below, and the report names it."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mlgate.sampling import draw, gate_sample
from mlgate.session.report import GateReport, GateResult
from mlgate.settings import Settings


def table(rows: int) -> pd.DataFrame:
    return pd.DataFrame({"x": np.arange(rows, dtype=float), "kind": ["a", "b"] * (rows // 2) + ["a"] * (rows % 2)})


def test_a_table_at_or_below_the_cap_is_kept_whole_and_not_noted():
    noted: dict = {}
    for rows in (10, 100):
        frame = table(rows)
        assert gate_sample(frame, "perf requests", 100, 42, noted) is frame
    assert noted == {}


def test_above_the_cap_the_same_seed_draws_the_same_rows_in_their_order():
    frame = table(50_000)
    first, again, other = draw(frame, 1000, 42), draw(frame, 1000, 42), draw(frame, 1000, 7)
    assert len(first) == 1000 and first.equals(again)
    assert not first.equals(other)  # the seed decides the draw, not the call
    assert first["x"].is_monotonic_increasing  # rows keep the table's order
    assert set(first["x"]) <= set(frame["x"]) and first["x"].is_unique


def test_a_drawn_sample_is_noted_with_its_size_source_and_seed():
    noted: dict = {}
    gate_sample(table(25_000), "compile check (training rows)", 10_000, 42, noted)
    assert noted == {"compile check (training rows)": {
        "gate": "compile check (training rows)", "rows": 10_000, "of": 25_000, "seed": 42,
    }}


def test_the_cap_is_a_setting_of_ten_thousand_rows_by_default():
    assert Settings().gate_sample_rows == 10_000


def test_the_report_names_each_gate_that_drew_a_sample_and_of_how_many_rows():
    samples = {"perf requests (holdout rows)": {"gate": "perf requests (holdout rows)", "rows": 10_000,
                                                "of": 200_000, "seed": 42}}
    gates = [GateResult("model", "test_x", "passed", 1.0, 0.9)]
    with_samples = GateReport("d.csv", "m", "run", gates, promoted=True, champion_version="1", samples=samples)
    markdown = with_samples.to_markdown()
    assert "## Samples" in markdown
    assert "| perf requests (holdout rows) | 10,000 | 200,000 | 42 |" in markdown
    assert "## Samples" not in GateReport("d.csv", "m", "run", gates, promoted=True, champion_version="1").to_markdown()


def test_a_profile_from_a_sample_reads_the_whole_table_as_undrifted_and_a_shift_as_drifted():
    """Why the drift profile and gate may sample: PSI from 10,000 drawn rows is ~0 on the same table, large on a moved one."""
    from mlgate.monitoring.drift import build_profile
    from mlgate.monitoring.drift_compare import training_drift

    rng = np.random.default_rng(3)
    whole = pd.DataFrame({"x": rng.standard_normal(200_000), "kind": rng.choice(["a", "b", "c"], 200_000).astype(object)})
    profile = build_profile(draw(whole, 10_000, 42), np.zeros(10), bins=10)
    assert max(d.psi for d in training_drift(profile, whole)) < 0.01
    moved = whole.assign(x=whole["x"] + 1.0)
    assert max(d.psi for d in training_drift(profile, draw(moved, 10_000, 42))) > 0.25
