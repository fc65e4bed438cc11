"""The drift core: profiles, bins, PSI, the training-drift comparison and the serving window's gauges."""

from __future__ import annotations

import math
import types

import numpy as np
import pandas as pd
import pytest
from prometheus_client import CollectorRegistry

from mlgate.monitoring.drift import MISSING, OTHER, SHARE_FLOOR, Profile, ProfileError, build_profile, profile_feature
from mlgate.monitoring.drift_compare import feature_drift, psi, training_drift
from mlgate.monitoring.drift_window import OTHER_LABEL, DriftCollector, DriftWindow
from mlgate.monitoring.metrics import ServingMetrics


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    """Two numeric columns (one with gaps), a categorical one with gaps: every kind of bin is used."""
    rng = np.random.default_rng(0)
    rows = 4000
    gappy = rng.normal(10, 2, rows)
    gappy[rng.random(rows) < 0.05] = np.nan
    return pd.DataFrame({
        "x": rng.normal(0, 1, rows),
        "gappy": gappy,
        "colour": pd.Series(rng.choice(["red", "green", "blue", None], rows, p=[0.5, 0.3, 0.15, 0.05]), dtype=object),
    })


@pytest.fixture(scope="module")
def profile(table) -> Profile:
    """The table's profile, with 60/40 predicted labels on a holdout of 100."""
    return build_profile(table, np.array([0] * 60 + [1] * 40), bins=10)


# --- PSI --------------------------------------------------------------------------------------


def test_psi_of_identical_shares_is_zero():
    shares = [0.1, 0.2, 0.3, 0.4]
    assert psi(shares, shares) == 0.0
    assert psi(shares, [10, 20, 30, 40]) == 0.0  # counts are normalised


def test_psi_of_known_shift_matches_the_formula():
    expected, actual = [0.5, 0.5], [0.8, 0.2]
    by_hand = (0.8 - 0.5) * math.log(0.8 / 0.5) + (0.2 - 0.5) * math.log(0.2 / 0.5)
    assert psi(expected, actual) == pytest.approx(by_hand)
    assert psi(expected, actual) == pytest.approx(0.4158883, abs=1e-6)


def test_an_empty_bin_costs_a_large_finite_amount_not_infinity():
    value = psi([0.5, 0.5], [1.0, 0.0])
    assert math.isfinite(value)
    assert value == pytest.approx((1 - 0.5) * math.log(1 / 0.5) + (SHARE_FLOOR - 0.5) * math.log(SHARE_FLOOR / 0.5))


# --- profiles ---------------------------------------------------------------------------------


def test_numeric_profile_has_quantile_bins_open_ends_and_a_missing_bin(profile, table):
    x = profile.feature("x")
    assert x.numeric and len(x.edges) == 9 and list(x.edges) == sorted(x.edges)
    assert x.bins[0].startswith("(-inf, ") and x.bins[-2].endswith(", inf)") and x.bins[-1] == MISSING
    assert x.shares[:-1] == pytest.approx([0.1] * 10, abs=0.001) and x.shares[-1] == 0.0
    gappy = profile.feature("gappy")
    assert gappy.shares[-1] == pytest.approx(table["gappy"].isna().mean())
    assert sum(gappy.shares) == pytest.approx(1.0)


def test_a_value_on_an_edge_falls_in_the_lower_bin(profile):
    x = profile.feature("x")
    ids = x.bin_ids(np.array([x.edges[0], np.nextafter(x.edges[0], np.inf), -1e9, 1e9, np.inf, np.nan]))
    assert ids.tolist() == [0, 1, 0, 9, 9, 10]


def test_categorical_profile_has_other_and_missing(profile, table):
    colour = profile.feature("colour")
    assert colour.categories == ("red", "green", "blue")
    assert colour.bins == ("red", "green", "blue", OTHER, MISSING)
    assert colour.shares[3] == 0.0
    assert colour.shares[4] == pytest.approx(table["colour"].isna().mean())
    # Unseen values are `other`, None and NaN `missing`.
    assert colour.bin_ids(np.array(["green", "purple", None, np.nan], dtype=object)).tolist() == [1, 3, 4, 4]


def test_categories_past_the_cap_count_as_other():
    column = pd.Series(["a"] * 5 + ["b"] * 3 + ["c"] * 2, dtype=object)
    feature = profile_feature("letters", column, max_categories=2)
    assert feature.bins == ("a", "b", OTHER, MISSING)
    assert feature.shares == pytest.approx((0.5, 0.3, 0.2, 0.0))


def test_profile_survives_its_json_and_is_readable(profile):
    text = profile.to_json()
    assert '"predicted_label_shares"' in text and '"(-inf, ' in text and "\n" in text.strip()
    again = Profile.from_json(text)
    assert again == profile
    assert dict(zip(again.labels, again.label_shares)) == {"0": 0.6, "1": 0.4}


@pytest.mark.parametrize("text", ["{", "[]", '{"format": 99}', '{"format": 1}'])
def test_a_broken_profile_is_one_clear_error(text):
    with pytest.raises(ProfileError, match="drift_profile.json"):
        Profile.from_json(text, where="drift_profile.json")


# --- the training-drift comparison -------------------------------------------------------------


def test_the_training_data_itself_has_zero_drift(profile, table):
    assert all(d.psi == pytest.approx(0.0, abs=1e-12) for d in training_drift(profile, table))


def test_a_shifted_feature_is_first_with_its_moving_bins(profile, table):
    shifted = table.assign(x=table["x"] * 3)
    drifts = training_drift(profile, shifted)
    assert drifts[0].feature == "x" and drifts[0].psi > 0.25
    assert all(d.psi == pytest.approx(0.0, abs=1e-12) for d in drifts[1:])
    # Times 3 empties the middle bins and fills both open ends.
    moved = {m.bin for m in drifts[0].moved}
    assert {profile.feature("x").bins[0], profile.feature("x").bins[9]} <= moved
    assert "'x' PSI" in drifts[0].describe() and "->" in drifts[0].describe()


def test_a_fresh_sample_of_the_same_population_stays_under_a_small_shift(profile):
    rng = np.random.default_rng(1)
    sample = pd.Series(rng.normal(0, 1, 4000))
    assert feature_drift(profile.feature("x"), sample.to_numpy()).psi < 0.1


def test_a_dropped_column_is_all_missing_and_an_unseen_category_is_other(profile, table):
    drifts = {d.feature: d for d in training_drift(profile, table.drop(columns=["gappy"]).assign(colour="purple"))}
    assert drifts["gappy"].moved[0].bin == MISSING and drifts["gappy"].psi > 1
    assert drifts["colour"].moved[0].bin == OTHER and drifts["colour"].moved[0].actual == 1.0


# --- the serving window --------------------------------------------------------------------------


class Clock:
    """Time that moves only when a test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _columns(frame: pd.DataFrame):
    arrays = tuple(frame[c].to_numpy() for c in frame.columns)
    numeric = all(a.dtype.kind == "f" for a in arrays)
    return types.SimpleNamespace(arrays=arrays, block=frame.to_numpy(dtype=np.float64) if numeric else None)


def _gauges(registry: CollectorRegistry) -> dict:
    return {
        (sample.name, tuple(sample.labels.values())): sample.value
        for family in registry.collect()
        for sample in family.samples
    }


def test_window_bins_exactly_as_the_profile_does(profile, table):
    window = DriftWindow(profile, list(table.columns), 600, 1, clock=Clock())
    head = table.head(500)
    window.fold(*vars(_columns(head)).values(), np.zeros(500, dtype=int))
    counts = window.decayed()[1:]
    for i, feature in enumerate(profile.features):
        expected = np.bincount(feature.bin_ids(head[feature.name].to_numpy()), minlength=len(feature.bins))
        assert counts[window.offsets[i] : window.offsets[i + 1]].tolist() == expected.tolist(), feature.name


def test_window_bins_an_all_double_block_as_the_profile_does(table):
    numeric = table[["gappy", "x"]]
    profile = build_profile(numeric, np.zeros(10, dtype=int))
    for names in (["gappy", "x"], ["x", "gappy", "unprofiled"]):  # the block as is, and columns picked from it
        window = DriftWindow(profile, names, 600, 1, clock=Clock())
        block = np.column_stack([numeric[n] if n in numeric else np.zeros(len(numeric)) for n in names])
        window.fold(tuple(block.T), block, np.zeros(len(numeric), dtype=int))
        counts = window.decayed()[1:]
        for i, feature in enumerate(profile.features):
            expected = np.bincount(feature.bin_ids(numeric[feature.name].to_numpy()), minlength=len(feature.bins))
            assert counts[window.offsets[i] : window.offsets[i + 1]].tolist() == expected.tolist(), (names, feature.name)


def test_window_gauges_are_nan_until_the_minimum_then_psi_of_the_window(profile, table):
    registry, clock = CollectorRegistry(), Clock()
    window = DriftWindow(profile, list(table.columns), 600, 1000, clock=clock)
    registry.register(DriftCollector(window))
    columns = _columns(table.head(999))
    window.fold(columns.arrays, columns.block, np.array([0] * 600 + [1] * 399))
    gauges = _gauges(registry)
    assert gauges[("mlgate_drift_window_rows", ())] == 999
    assert math.isnan(gauges[("mlgate_feature_drift_psi", ("x",))])
    assert math.isnan(gauges[("mlgate_prediction_share", ("0",))])
    columns = _columns(table.iloc[999:])
    window.fold(columns.arrays, columns.block, np.array([0] * len(table.iloc[999:])))
    gauges = _gauges(registry)
    assert gauges[("mlgate_drift_window_rows", ())] == len(table)
    for name in table.columns:  # the whole training table: exactly the reference
        assert gauges[("mlgate_feature_drift_psi", (name,))] == pytest.approx(0.0, abs=1e-12)
    assert gauges[("mlgate_prediction_share", (OTHER_LABEL,))] == 0.0
    assert gauges[("mlgate_prediction_reference_share", ("1",))] == 0.4


def test_old_rows_fade_with_the_half_life_and_a_shift_takes_over(profile, table):
    registry, clock = CollectorRegistry(), Clock()
    window = DriftWindow(profile, list(table.columns), 60, 100, clock=clock)
    registry.register(DriftCollector(window))
    columns = _columns(table)
    window.fold(columns.arrays, columns.block, np.zeros(len(table), dtype=int))
    clock.now += 60
    assert _gauges(registry)[("mlgate_drift_window_rows", ())] == pytest.approx(len(table) / 2)
    clock.now += 540  # ten half-lives after the first rows
    shifted = _columns(table.assign(x=table["x"] * 3))
    window.fold(shifted.arrays, shifted.block, np.ones(len(table), dtype=int))
    gauges = _gauges(registry)
    assert gauges[("mlgate_feature_drift_psi", ("x",))] > 1.0
    assert gauges[("mlgate_feature_drift_psi", ("gappy",))] < 0.01
    assert gauges[("mlgate_prediction_share", ("1",))] == pytest.approx(1.0, abs=0.001)


def test_rebasing_far_in_the_future_keeps_the_counts(profile, table):
    clock = Clock()
    window = DriftWindow(profile, list(table.columns), 1, 1, clock=clock)
    columns = _columns(table.head(10))
    window.fold(columns.arrays, columns.block, np.zeros(10, dtype=int))
    clock.now += 100  # past REBASE_HALF_LIVES: the fold rebases before adding
    window.fold(columns.arrays, columns.block, np.zeros(10, dtype=int))
    assert window.decayed()[0] == pytest.approx(10 + 10 * 2.0**-100)
    assert window.state[0] == clock.now


def test_two_workers_windows_add_up_in_either_collector(profile, table, tmp_path, monkeypatch):
    clock = Clock()
    workers = []
    for pid in (os_pid := [111111, 222222]):
        monkeypatch.setattr("mlgate.monitoring.drift_window.os.getpid", lambda pid=pid: pid)
        workers.append(DriftWindow(profile, list(table.columns), 600, 1, folder=str(tmp_path), clock=clock))
    monkeypatch.setattr("mlgate.monitoring.drift_window._alive", lambda pid: pid in os_pid)
    for worker, part in zip(workers, (table.head(300), table.iloc[300:1000])):
        columns = _columns(part)
        worker.fold(columns.arrays, columns.block, np.zeros(len(part), dtype=int))
    assert workers[0].decayed()[0] == workers[1].decayed()[0] == 1000
    workers[1].forget()
    assert workers[0].decayed()[0] == 300
    os_pid.remove(111111)  # a worker that died without cleaning up
    assert workers[0].decayed()[0] == 0


def test_serving_metrics_fold_rows_only_with_their_columns(profile, table):
    registry = CollectorRegistry()
    metrics = ServingMetrics(registry)
    metrics.track_drift(DriftWindow(profile, list(table.columns), 600, 1, clock=Clock()))
    columns = _columns(table.head(20))
    metrics.observe_predictions(np.zeros(20, dtype=int), columns)
    metrics.observe_predictions([0, 1])  # the sidecar's call: labels alone
    assert registry.get_sample_value("mlgate_drift_window_rows") == 20
    assert registry.get_sample_value("mlgate_predictions_total", {"label": "0"}) == 21


def test_the_sidecar_window_defaults_are_the_servers_settings():
    from mlgate.settings import Settings
    from mlgate.monitoring import sidecar

    assert sidecar.DEFAULT_DRIFT_HALF_LIFE_SECONDS == Settings().drift_window_half_life_seconds
    assert sidecar.DEFAULT_DRIFT_MIN_WINDOW_ROWS == Settings().drift_min_window_rows


def test_request_rows_are_read_from_every_mlflow_form_and_refused_when_unreadable(profile):
    from mlgate.monitoring.request_rows import request_columns

    features = profile.features
    split = b'{"dataframe_split": {"columns": ["x", "colour"], "data": [[1.5, "red"], ["oops", null]]}}'
    columns = request_columns(split, "application/json", features, 2)
    assert columns.arrays[0][0] == 1.5 and np.isnan(columns.arrays[0][1])  # text in a numeric feature: missing
    assert np.isnan(columns.arrays[1]).all()  # `gappy` was not sent: missing
    assert profile.feature("colour").bin_ids(columns.arrays[2]).tolist() == [0, 4]  # red, missing
    records = b'{"dataframe_records": [{"x": 1.0}, {"x": 2.0}]}'
    assert request_columns(records, "application/json", features, 2).arrays[0].tolist() == [1.0, 2.0]
    assert request_columns(b'{"inputs": {"x": [3.0]}}', "application/json", features, 1).arrays[0].tolist() == [3.0]
    assert request_columns(b"x,colour\n4.0,blue\n", "text/csv", features, 1).arrays[2].tolist() == ["blue"]
    for body, rows in ((b"{not json", 1), (b"[1, 2]", 2), (records, 3), (b'{"instances": 5}', 1)):
        assert request_columns(body, "application/json", features, rows) is None
