"""Perf gates: the candidate serves no slower than the champion it would replace.

Both are served side by side in this session, and one-row requests go to
each in turn (see `Pairs`): load from elsewhere on the machine falls on both
alike, so the ratio of their percentiles judges the model, not the machine.
The gated ratio is the lower of the two halves of the run's (`ratio_in_both_halves`):
a burst of load from elsewhere lands in one half, a slower model in both.
A first champion has nothing to compare with; the gates say so and pass.
"""

from __future__ import annotations

import pytest

from mlgate.plugin.measure import Pairs, measure_pairs, rounds_for, timings
from mlgate.serving.latency import percentile

pytestmark = pytest.mark.perf_gate

# Enough rounds that p99 is not one stalled request: ~2000 pairs of compiled models fit in 3 s.
REGRESSION_PAIRS = 2000


def _gate_ratio(
    q: int, benchmark, serving_client, champion_client, champion, settings, findings, record_perf, record_gate
) -> None:
    name = f"serving_p{q}_ratio_vs_champion"
    if champion_client is None:  # the candidate's own timings still go to benchmark.json
        benchmark.group = "latency vs champion"
        rounds = rounds_for(serving_client.predict, settings.perf_measure_seconds / 2)
        benchmark.pedantic(serving_client.predict, rounds=rounds)
        findings.latency_seconds = {"candidate": timings(benchmark)}
        benchmark.extra_info["champion_version"] = "none to compare with"
        record_gate("no champion to compare with (first champion, or one trained on other columns)")
        return
    pairs = Pairs(champion_client.predict, serving_client.predict)
    rounds = measure_pairs(benchmark, "latency vs champion", pairs, settings.perf_measure_seconds, REGRESSION_PAIRS)
    # The report's latency plot: both models' raw timings, measured at the same moments.
    findings.latency_seconds = {"candidate": list(pairs.other_seconds), "champion": list(pairs.base_seconds)}
    ratio = pairs.ratio_in_both_halves(q)  # a burst of load in one half of the run is not a regression
    budget = settings.latency_regression_ratio_budget
    candidate_seconds = percentile(pairs.other_seconds, q)
    champion_seconds = percentile(pairs.base_seconds, q)
    benchmark.extra_info.update(
        {f"p{q}_ratio": ratio, f"p{q}_ratio_whole_run": pairs.ratio(q), "budget_ratio": budget, "candidate_seconds": candidate_seconds,
         "champion_seconds": champion_seconds, "champion_version": champion.version}
    )
    # The ratio is the gate; both latencies go beside it, the champion's as its value of this measure.
    record_perf(name, ratio, budget, champion=1.0)
    for each in (50, 95, 99):  # shown beside the SLO gates, and on the run
        record_perf(
            f"serving_p{each}_seconds_side_by_side",
            percentile(pairs.other_seconds, each),
            None,
            champion=percentile(pairs.base_seconds, each),
        )
    assert ratio <= budget, (
        f"the candidate's p{q} latency {candidate_seconds * 1e3:.3f} ms is {ratio:.2f}x champion version "
        f"{champion.version}'s {champion_seconds * 1e3:.3f} ms (served side by side, {rounds} pairs), over "
        f"latency_regression_ratio_budget {budget}; the model got slower to serve (more or deeper trees, "
        "or a step that does not compile)"
    )


def test_serving_p50_not_slower_than_champion(
    benchmark, serving_client, champion_client, champion, settings, findings, record_perf, record_gate
):
    _gate_ratio(50, benchmark, serving_client, champion_client, champion, settings, findings, record_perf, record_gate)


def test_serving_p99_not_slower_than_champion(
    benchmark, serving_client, champion_client, champion, settings, findings, record_perf, record_gate
):
    _gate_ratio(99, benchmark, serving_client, champion_client, champion, settings, findings, record_perf, record_gate)
