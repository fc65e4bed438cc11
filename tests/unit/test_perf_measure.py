"""How the perf gates turn raw timings into the numbers they compare with budgets."""

from __future__ import annotations

from mlgate.plugin.measure import Pairs, in_both_halves
from mlgate.serving.latency import percentile


def _pairs(base: list[float], other: list[float]) -> Pairs:
    pairs = Pairs(lambda: None, lambda: None)
    pairs.base_seconds[:], pairs.other_seconds[:] = base, other
    return pairs


def test_percentile_is_a_value_that_was_measured_nearest_rank():
    values = [5.0, 1.0, 4.0, 2.0, 3.0]
    assert percentile(values, 50) == 3.0
    assert percentile(values, 99) == 5.0
    assert percentile(values, 1) == 1.0
    assert percentile([0.1, 0.2], 50) == 0.1  # not 0.15: no interpolation


def test_a_burst_in_one_half_of_the_run_is_not_a_slow_tail():
    steady = [0.001] * 200
    burst = [0.001] * 100 + [0.001] * 95 + [0.050] * 5  # 5 stalled requests, all in the second half
    assert percentile(burst, 99) == 0.050  # the whole run's p99 is the burst
    assert in_both_halves(burst, 99) == 0.001
    assert in_both_halves(steady, 99) == 0.001


def test_a_slowdown_in_both_halves_is_a_slow_tail():
    slow = ([0.001] * 95 + [0.050] * 5) * 2
    assert in_both_halves(slow, 99) == 0.050


def test_a_candidate_slower_throughout_shows_in_both_halves_ratio():
    champion = [0.001] * 400
    assert _pairs(champion, [0.003] * 400).ratio_in_both_halves(50) == 3.0
    assert _pairs(champion, [0.003] * 400).ratio_in_both_halves(99) == 3.0


def test_a_candidate_slowed_in_one_half_by_load_is_not_a_regression():
    champion = [0.001] * 400
    loaded = [0.001] * 200 + [0.003] * 200  # load from elsewhere hit only the second half
    pairs = _pairs(champion, loaded)
    assert pairs.ratio(99) == 3.0
    assert pairs.ratio_in_both_halves(99) == 1.0


def test_pairs_alternate_which_action_goes_first():
    order: list[str] = []
    pairs = Pairs(lambda: order.append("base"), lambda: order.append("other"))
    for _ in range(4):
        pairs()
    assert order == ["other", "base", "base", "other", "other", "base", "base", "other"]
    assert len(pairs.base_seconds) == len(pairs.other_seconds) == 4


def test_a_median_over_budget_by_chance_is_not_evidence_of_overhead():
    # A slow model's predict varies by a millisecond either way; the middleware itself costs nothing.
    base = [0.008] * 200
    other = [0.008 + (0.00055 if i % 2 else -0.0006) for i in range(200)]
    other[0] = 0.008 + 0.00055  # 101 of 200 rounds over a 0.5 ms budget: the median is over it
    pairs = _pairs(base, other)
    assert pairs.extra_p50 > 0.0005
    assert not pairs.over_budget(0.0005)


def test_an_overhead_over_budget_in_most_rounds_is_refused():
    base = [0.001 + 0.0005 * (i % 7) for i in range(200)]
    other = [b + 0.003 + (0.002 if i % 5 == 0 else 0.0) for i, b in enumerate(base)]
    pairs = _pairs(base, other)
    assert pairs.over_budget_p(0.002) < 1e-6
    assert pairs.over_budget(0.002)
    assert not pairs.over_budget(0.004)  # 3 ms in four rounds of five: not over 4 ms
