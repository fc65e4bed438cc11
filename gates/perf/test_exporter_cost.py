"""Perf gates: what the Prometheus exporter costs the server.

The same one-row requests go to the bare server and to the instrumented one
in turn (see `Pairs`), and the middleware's p50 cost is expressed as a ratio
to the bare server's p50, against exporter_overhead_ratio_budget.
"""

from __future__ import annotations

import pytest

from gates.perf.measure import MAX_PAIRS, PAIR_SECONDS, Pairs, rounds_for, timings
from model.serving.latency import percentile

pytestmark = pytest.mark.perf_gate


def test_exporter_overhead_ratio_within_budget(benchmark, serving_client, instrumented_client, settings, record_perf):
    pairs = Pairs(serving_client, instrumented_client)
    rounds = rounds_for(pairs, PAIR_SECONDS, MAX_PAIRS)
    pairs.clear()
    benchmark.group = "exporter"
    benchmark.pedantic(pairs, rounds=rounds)
    timings(benchmark)
    ratio = (pairs.base_p50 + pairs.extra_p50) / pairs.base_p50
    budget = settings.exporter_overhead_ratio_budget
    benchmark.extra_info.update({"p50_ratio": ratio, "budget_ratio": budget, "extra_p50_seconds": pairs.extra_p50})
    record_perf("exporter_overhead_p50_ratio", ratio, budget)
    assert ratio <= budget, (
        f"the metrics middleware adds {pairs.extra_p50 * 1e6:.0f} us at p50 ({ratio:.3f}x the bare server's "
        f"{pairs.base_p50 * 1e3:.2f} ms over {rounds} pairs), over exporter_overhead_ratio_budget {budget}; "
        "profile monitoring/middleware.py's per-request path"
    )


def test_metrics_render_p99_within_budget(benchmark, instrumented_client, settings, record_perf):
    def scrape() -> None:
        instrumented_client.get("/metrics")

    benchmark.group = "exporter"
    benchmark.pedantic(scrape, rounds=rounds_for(scrape))
    value = percentile(timings(benchmark), 99)
    budget = settings.metrics_render_p99_budget_seconds
    benchmark.extra_info.update({"p99_seconds": value, "budget_seconds": budget})
    record_perf("metrics_render_p99_seconds", value, budget)
    assert value <= budget, (
        f"GET /metrics p99 {value * 1e3:.2f} ms is over metrics_render_p99_budget_seconds ({budget * 1e3:g} ms); "
        "a scrape that slow holds up requests on the same worker"
    )
