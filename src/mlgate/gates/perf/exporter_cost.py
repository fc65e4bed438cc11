"""Perf gates: what the Prometheus exporter costs the server.

The same one-row requests go to the bare server and to the instrumented one
in turn (see `Pairs`), and the median of their differences is the
middleware's cost at p50. The gate refuses when a one-sided sign test says
that cost is over exporter_overhead_budget_seconds (`Pairs.over_budget`):
a slow model's own noise can put the median of one run over the budget.
"""

from __future__ import annotations

import pytest

from mlgate.plugin.measure import (
    OVERHEAD_SIGNIFICANCE_LEVEL,
    Pairs,
    in_both_halves,
    measure_pairs,
    rounds_for,
    timings,
)
from mlgate.serving.latency import percentile

pytestmark = pytest.mark.perf_gate

# Scrapes take ~1 ms: up to this many, so that each half of the run has a p99 of its own.
SCRAPE_ROUNDS = 400


def test_exporter_overhead_within_budget(benchmark, serving_client, instrumented_client, settings, record_perf):
    pairs = Pairs(serving_client.predict, instrumented_client.predict)
    rounds = measure_pairs(benchmark, "exporter", pairs, settings.perf_measure_seconds)
    added, budget = pairs.extra_p50, settings.exporter_overhead_budget_seconds
    p = pairs.over_budget_p(budget)
    benchmark.extra_info.update(
        {"extra_p50_seconds": added, "budget_seconds": budget, "bare_p50_seconds": pairs.base_p50, "over_budget_p": p}
    )
    record_perf("exporter_overhead_p50_seconds", added, budget)
    assert not pairs.over_budget(budget), (
        f"the metrics middleware adds {added * 1e6:.0f} us at p50 to the bare server's {pairs.base_p50 * 1e3:.2f} ms "
        f"over {rounds} pairs, over exporter_overhead_budget_seconds ({budget * 1e6:g} us) by a sign test "
        f"(p = {p:.2g} < {OVERHEAD_SIGNIFICANCE_LEVEL}); profile mlgate/monitoring/middleware.py's per-request path"
    )


def test_metrics_render_p99_within_budget(benchmark, instrumented_client, settings, record_perf):
    def scrape() -> None:
        instrumented_client.get("/metrics")

    benchmark.group = "exporter"
    benchmark.pedantic(scrape, rounds=rounds_for(scrape, settings.perf_measure_seconds / 2, most=SCRAPE_ROUNDS))
    samples = timings(benchmark)
    value = in_both_halves(samples, 99)  # one burst of load from elsewhere is not a slow render
    budget = settings.metrics_render_p99_budget_seconds
    benchmark.extra_info.update({"p99_seconds": value, "p99_seconds_whole_run": percentile(samples, 99), "budget_seconds": budget})
    record_perf("metrics_render_p99_seconds", value, budget)
    assert value <= budget, (
        f"GET /metrics p99 {value * 1e3:.2f} ms is over metrics_render_p99_budget_seconds ({budget * 1e3:g} ms); "
        "a scrape that slow holds up requests on the same worker"
    )
